package check_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature/sign"
)

// BenchmarkCheckSemver300Verified is BenchmarkCheckSemver300 with
// source.verify, every digest signed: the same discovery, then each
// version's signature manifest and payload, through the same bounded pool,
// next to the same check without verify. Figures, not assertions.
func BenchmarkCheckSemver300Verified(b *testing.B) {
	const tags, delay = 300, 20 * time.Millisecond
	reg := registrytest.NewInProcess()
	defer reg.Close()
	repo := reg.Repo("bench/signed")
	set := imagetest.SemverTagSet(tags)
	digests, err := imagetest.PushTags(repo, set.TagImages(), reg.RemoteOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	kp, err := signtest.NewKeyPair("pw")
	if err != nil {
		b.Fatal(err)
	}
	signed := signAll(b, repo, digests, kp, reg)
	proxy := registrytest.NewProxy(reg, registrytest.WithDelay(delay))
	defer proxy.Close()
	plain := resource.Source{Repository: proxy.Repo("bench/signed"), Insecure: true}
	verified := plain
	verified.Verify = &resource.Verify{PublicKeys: []string{kp.PublicPEM}}

	var plainTime, verifiedTime time.Duration
	var plainCounts, verifiedCounts registrytest.RequestCounts
	var versions int
	for b.Loop() {
		proxy.Reset()
		start := time.Now()
		if _, err := check.Run(context.Background(), resource.CheckRequest{Source: plain}); err != nil {
			b.Fatal(err)
		}
		plainTime += time.Since(start)
		plainCounts = proxy.Counts()

		proxy.Reset()
		start = time.Now()
		out, err := check.Run(context.Background(), resource.CheckRequest{Source: verified})
		if err != nil {
			b.Fatal(err)
		}
		verifiedTime += time.Since(start)
		verifiedCounts, versions = proxy.Counts(), len(out)
	}
	n := float64(b.N)
	b.ReportMetric(float64(verifiedTime.Milliseconds())/n, "verified-ms")
	b.ReportMetric(float64(plainTime.Milliseconds())/n, "unverified-ms")
	b.ReportMetric(float64(verifiedCounts.Total), "verified-requests")
	b.ReportMetric(float64(verifiedCounts.ManifestGET), "signature-manifest-GETs")
	b.ReportMetric(float64(verifiedCounts.BlobGET), "payload-GETs")
	b.ReportMetric(float64(plainCounts.Total), "unverified-requests")
	b.ReportMetric(float64(versions), "versions")
	b.ReportMetric(float64(signed), "digests-signed")
}

// signAll signs every digest of the tag set once and returns how many.
func signAll(b *testing.B, repo string, digests map[string]string, kp signtest.KeyPair, reg *registrytest.Registry) int {
	signed := map[string]bool{}
	for _, d := range digests {
		if signed[d] {
			continue
		}
		signed[d] = true
		pinned, err := name.NewDigest(repo + "@" + d)
		if err != nil {
			b.Fatal(err)
		}
		if err := sign.Attach(pinned, kp.Signer, reg.RemoteOptions()...); err != nil {
			b.Fatal(err)
		}
	}
	return len(signed)
}
