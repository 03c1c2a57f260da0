package check_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// BenchmarkCheckSemver300 runs semver discovery over 300 tags served through
// a proxy that adds 20 ms to every request, next to the strictly sequential
// one-HEAD-per-tag pass that a naive check makes. Figures, not assertions:
// the target is at most a fifth of the sequential time, and no more
// requests than tags + 2.
func BenchmarkCheckSemver300(b *testing.B) {
	const tags, delay = 300, 20 * time.Millisecond
	reg := registrytest.NewInProcess()
	defer reg.Close()
	repo := reg.Repo("bench/semver")
	set := imagetest.SemverTagSet(tags)
	if _, err := imagetest.PushTags(repo, set.TagImages(), reg.RemoteOptions()...); err != nil {
		b.Fatal(err)
	}
	proxy := registrytest.NewProxy(reg, registrytest.WithDelay(delay))
	defer proxy.Close()
	src := resource.Source{Repository: proxy.Repo("bench/semver"), Insecure: true}

	var checkTime, seqTime time.Duration
	var checkRequests, seqRequests, versions int
	for b.Loop() {
		proxy.Reset()
		start := time.Now()
		out, err := check.Run(context.Background(), resource.CheckRequest{Source: src})
		if err != nil {
			b.Fatal(err)
		}
		checkTime += time.Since(start)
		checkRequests, versions = proxy.Counts().Total, len(out)

		proxy.Reset()
		start = time.Now()
		sequentialPass(b, src.Repository)
		seqTime += time.Since(start)
		seqRequests = proxy.Counts().Total
	}
	n := float64(b.N)
	b.ReportMetric(float64(checkTime.Milliseconds())/n, "check-ms")
	b.ReportMetric(float64(seqTime.Milliseconds())/n, "sequential-ms")
	b.ReportMetric(checkTime.Seconds()/seqTime.Seconds(), "time-ratio")
	b.ReportMetric(float64(checkRequests), "check-requests")
	b.ReportMetric(float64(seqRequests), "sequential-requests")
	b.ReportMetric(float64(tags), "tags")
	b.ReportMetric(float64(versions), "versions")
}

// sequentialPass lists the tags and HEADs each one in turn.
func sequentialPass(b *testing.B, repository string) {
	repo, err := name.NewRepository(repository, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	client, err := registry.NewClient(context.Background(), resource.Source{Repository: repository, Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	tags, err := remote.List(repo, client.Remote...)
	if err != nil {
		b.Fatal(err)
	}
	for _, tag := range tags {
		if _, err := remote.Head(repo.Tag(tag), client.Remote...); err != nil {
			b.Fatal(err)
		}
	}
}
