package in_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// These specs put registrytest's fault proxy between in and a registry and
// count what crossed it: the bytes of blob GETs, and the Range requests.
var _ = Describe("a download through a flaky registry", Ordered, func() {
	var (
		target  *registrytest.Registry
		digest  string
		layers  []string // digests
		sizes   []int64
		clean   int64 // blob bytes of a clean download
		want    map[string]string
		fast    = registry.RetryPolicy{Attempts: 4, Initial: time.Millisecond, MaxWait: time.Second, Sleep: func(time.Duration) {}}
		newRepo = func(p *registrytest.Proxy) string { return p.Repo("flaky/app") }
	)
	newProxy := func(opts ...registrytest.ProxyOption) *registrytest.Proxy {
		p := registrytest.NewProxy(target, opts...)
		DeferCleanup(p.Close)
		return p
	}
	binary := func(p *registrytest.Proxy) result {
		return runIn(request{Source: map[string]any{"repository": newRepo(p)}, Params: map[string]any{"fetch_artifact": true},
			Version: resource.Version{Tag: "latest", Digest: digest}})
	}
	// inProcess downloads with a one-second stall timeout and retries that
	// do not wait.
	inProcess := func(p *registrytest.Proxy, opts ...in.Option) (string, string, error) {
		opts = append(opts, in.WithBlobRetryPolicy(fast),
			in.WithClientOptions(registry.WithRetryPolicy(fast), registry.WithStallTimeout(time.Second)))
		return extractInProcess(newRepo(p), digest, opts...)
	}
	cutEveryLayer := func(p *registrytest.Proxy) {
		for i, l := range layers {
			p.Fail(registrytest.Fault{Kind: registrytest.CutBody, Method: http.MethodGet, PathContains: l, Offset: sizes[i] / 2, Times: 1})
		}
	}

	BeforeAll(func() {
		target = registrytest.NewInProcess()
		DeferCleanup(target.Close)
		// Random contents do not compress: each blob is about 1.5 MiB.
		rng := rand.New(rand.NewPCG(14, 14))
		var ls []v1.Layer
		for i := range 3 {
			content := make([]byte, 3<<19)
			for j := range content {
				content[j] = byte(rng.Uint32())
			}
			ls = append(ls, layer(imagetest.Gzip, imagetest.Entry{Path: fmt.Sprintf("data/%d", i), Type: '0', Mode: 0o644, Content: content},
				imagetest.File(fmt.Sprintf("etc/layer-%d", i), "x")))
			d, err := ls[i].Digest()
			Expect(err).NotTo(HaveOccurred())
			s, err := ls[i].Size()
			Expect(err).NotTo(HaveOccurred())
			layers, sizes = append(layers, d.String()), append(sizes, s)
		}
		img, err := imagetest.Image(imagetest.Spec{Layers: ls})
		Expect(err).NotTo(HaveOccurred())
		digest, err = imagetest.Push(target.Repo("flaky/app:latest"), img, target.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())

		p := newProxy()
		r := binary(p)
		Expect(r.code).To(BeZero(), r.stderr)
		clean = p.Sent().Blob
		want = contents(filepath.Join(r.dest, "rootfs"))
		Expect(want).To(HaveLen(6))
	})

	It("resumes each layer cut at its middle with a Range request, for at most 1.1 times the bytes", func() {
		p := newProxy()
		cutEveryLayer(p)
		r := binary(p)
		Expect(r.code).To(BeZero(), r.stderr)
		Expect(contents(filepath.Join(r.dest, "rootfs"))).To(Equal(want))
		Expect(p.Counts().Faults).To(Equal(len(layers)))
		Expect(p.Counts().RangeRequests).To(Equal(len(layers)))
		Expect(p.Sent().Blob).To(BeNumerically("<=", clean*11/10))
	})

	It("starts each layer over on a registry that ignores Range, and completes", func() {
		p := newProxy(registrytest.WithoutRange())
		cutEveryLayer(p)
		r := binary(p)
		Expect(r.code).To(BeZero(), r.stderr)
		Expect(contents(filepath.Join(r.dest, "rootfs"))).To(Equal(want))
		Expect(p.Counts().RangeRequests).To(Equal(len(layers)), "asked")
		Expect(p.Sent().Blob).To(BeNumerically(">", clean), "and got whole blobs again")
	})

	DescribeTable("fetches a corrupt layer again on its own, for at most that layer's bytes again",
		func(n int, opt in.Option, rebuilt bool) {
			p := newProxy()
			p.Fail(registrytest.Fault{Kind: registrytest.CorruptBody, Method: http.MethodGet, PathContains: layers[n], Offset: sizes[n] / 2, Times: 1})
			rootfs, log, err := inProcess(p, opt)
			Expect(err).NotTo(HaveOccurred())
			Expect(contents(rootfs)).To(Equal(want))
			Expect(p.Counts().Faults).To(Equal(1))
			Expect(p.Sent().Blob).To(BeNumerically("<=", clean+sizes[n]))
			if rebuilt {
				Expect(log).To(ContainSubstring("some of its bytes were already applied"))
				Expect(log).To(ContainSubstring("extracting the image again from scratch"))
			} else {
				Expect(log).NotTo(ContainSubstring("extracting the image again"))
			}
		},
		Entry("before any of it was applied: the rootfs is kept", 1, in.WithSpoolsFirst(), false),
		Entry("after some of it was applied: the rootfs is extracted again, from the blobs already verified", 0, in.WithDigestCheckAfterApplyStarts(), true),
		Entry("the last layer, after some of it was applied", 2, in.WithDigestCheckAfterApplyStarts(), true),
	)

	Context("a link that breaks often", func() {
		var bigDigest, bigLayer string
		BeforeEach(func() {
			content := make([]byte, 8<<20)
			rng := rand.New(rand.NewPCG(8, 8))
			for j := range content {
				content[j] = byte(rng.Uint32())
			}
			l := layer(imagetest.Gzip, imagetest.Entry{Path: "big", Type: '0', Mode: 0o644, Content: content})
			d, err := l.Digest()
			Expect(err).NotTo(HaveOccurred())
			bigLayer = d.String()
			img, err := imagetest.Image(imagetest.Spec{Layers: []v1.Layer{l}})
			Expect(err).NotTo(HaveOccurred())
			bigDigest, err = imagetest.Push(target.Repo("flaky/big:latest"), img, target.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
		})
		download := func(p *registrytest.Proxy) error {
			_, _, err := extractInProcess(p.Repo("flaky/big"), bigDigest, in.WithBlobRetryPolicy(fast),
				in.WithClientOptions(registry.WithRetryPolicy(fast)))
			return err
		}

		It("completes while each attempt brings at least a MiB, beyond the policy's attempts", func() {
			p := newProxy()
			p.Fail(registrytest.Fault{Kind: registrytest.CutBody, Method: http.MethodGet, PathContains: bigLayer, Offset: 5 << 18, Times: 6})
			Expect(download(p)).To(Succeed())
			Expect(p.Counts().Faults).To(Equal(6))
			Expect(p.Counts().Faults).To(BeNumerically(">", fast.Attempts))
		})

		It("gives up after the policy's attempts when they bring less", func() {
			p := newProxy()
			p.Fail(registrytest.Fault{Kind: registrytest.CutBody, Method: http.MethodGet, PathContains: bigLayer, Offset: 100 << 10})
			Expect(download(p)).To(MatchError(ContainSubstring("download layer 1")))
			Expect(p.Counts().Faults).To(Equal(fast.Attempts))
		})
	})

	It("resumes a blob that stalls, with a Range request", func() {
		p := newProxy()
		p.Fail(registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: layers[1], Offset: sizes[1] / 2, Times: 1})
		rootfs, log, err := ended(func() (string, string, error) { return inProcess(p) })
		Expect(err).NotTo(HaveOccurred())
		Expect(contents(rootfs)).To(Equal(want))
		Expect(log).To(ContainSubstring("stalled: no byte moved for 1s"))
		Expect(p.Counts().RangeRequests).To(Equal(1))
	})

	DescribeTable("tries a stalled layer the policy's number of times, not that squared",
		func(kind registrytest.FaultKind) {
			p := newProxy()
			p.Fail(registrytest.Fault{Kind: kind, Method: http.MethodGet, PathContains: layers[0], Offset: 1000})
			_, _, err := ended(func() (string, string, error) { return inProcess(p) })
			Expect(err).To(MatchError(ContainSubstring("stalled: no byte moved for 1s")))
			Expect(p.Counts().Faults).To(Equal(fast.Attempts))
		},
		Entry("in its body: in resumes it", registrytest.StallBody),
		Entry("before any answer: the transport retries it, in does not again", registrytest.StallRequest),
	)

	DescribeTable("ends, saying what stalled, when every attempt stalls",
		func(f registrytest.Fault, what func() string) {
			p := newProxy()
			p.Fail(f)
			_, _, err := ended(func() (string, string, error) { return inProcess(p) })
			Expect(err).To(MatchError(And(ContainSubstring(what()), ContainSubstring("stalled: no byte moved for 1s"))))
		},
		Entry("a layer", registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/blobs/sha256:", Offset: 1000},
			func() string { return "download layer 1 (" + layers[0] + ")" }),
		Entry("the manifest", registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/manifests/", Offset: 10},
			func() string { return "/manifests/" + digest }),
	)
})

// ended runs f and returns its results once it ends, which a hung download
// would not.
func ended(f func() (string, string, error)) (string, string, error) {
	type out struct {
		rootfs, log string
		err         error
	}
	done := make(chan out, 1)
	go func() {
		defer GinkgoRecover()
		r, l, err := f()
		done <- out{r, l, err}
	}()
	var o out
	Eventually(done, 2*time.Minute).Should(Receive(&o))
	return o.rootfs, o.log, o.err
}

// contents maps every regular file under dir to the sha256 of its bytes.
func contents(dir string) map[string]string {
	m := map[string]string{}
	Expect(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = hex.EncodeToString(sum[:])
		return nil
	})).To(Succeed())
	return m
}
