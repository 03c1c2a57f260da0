package out_test

import (
	"context"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// One retry policy: refimage's transport retries each request it can send
// again, go-containerregistry restarts only an upload whose streamed body
// it could not, and nothing multiplies the two.
var _ = Describe("retries of a push", func() {
	var (
		proxy *registrytest.Proxy
		dir   string
		repo  string
		mu    sync.Mutex
		slept []time.Duration
	)
	const attempts = 3
	policy := registry.RetryPolicy{Attempts: attempts, Initial: time.Second, MaxWait: time.Minute, Sleep: func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
	}}
	BeforeEach(func() {
		proxy, dir, repo = proxiedPut()
		slept = nil
	})
	// One upload at a time: the first that fails ends the push, so the
	// counts are those of one request.
	push := func(opts ...registry.Option) error {
		req := resource.OutRequest{Source: decodeSource(proxy.Source(repo)), Params: resource.PutParams{Image: "image.tar", Version: "1.0.0"}}
		_, err := out.Run(context.Background(), req, dir, out.WithClientOptions(append([]registry.Option{registry.WithRetryPolicy(policy), registry.WithJobs(1)}, opts...)...))
		return err
	}

	DescribeTable("a request that always fails with 503 is tried the policy's number of times, once",
		func(f registrytest.Fault, count func(registrytest.RequestCounts) int) {
			f.Status = http.StatusServiceUnavailable
			proxy.Fail(f)
			Expect(push()).To(MatchError(ContainSubstring("503")))
			Expect(count(proxy.Counts())).To(Equal(attempts))
		},
		Entry("every request: the first one is tried only",
			registrytest.Fault{}, func(c registrytest.RequestCounts) int { return c.Total }),
		Entry("the manifest PUT",
			registrytest.Fault{Method: http.MethodPut, PathContains: "/manifests/"}, func(c registrytest.RequestCounts) int { return c.ManifestPUT }),
		Entry("the upload's start (POST)",
			registrytest.Fault{Method: http.MethodPost, PathContains: "/blobs/uploads/"}, func(c registrytest.RequestCounts) int { return c.ByMethod[http.MethodPost] }),
		Entry("the streamed upload (PATCH), which only a new upload can retry",
			registrytest.Fault{Method: http.MethodPatch, PathContains: "/blobs/uploads/"}, func(c registrytest.RequestCounts) int { return c.ByMethod[http.MethodPatch] }),
	)

	It("waits out a 429's Retry-After once per answer", func() {
		proxy.Fail(registrytest.Fault{Method: http.MethodPut, PathContains: "/manifests/", Status: http.StatusTooManyRequests,
			Header: http.Header{"Retry-After": {"7"}}, Times: 2})
		Expect(push()).To(Succeed())
		Expect(proxy.Counts().ManifestPUT).To(Equal(4), "two refused, then by digest and the tag")
		Expect(slept).To(HaveLen(2))
		for _, d := range slept {
			Expect(d).To(BeNumerically(">=", 7*time.Second))
			Expect(d).To(BeNumerically("<", 8*time.Second), "Retry-After plus jitter, not multiplied")
		}
	})

	It("abandons an upload the registry stops taking, and says it stalled", func() {
		proxy.Fail(registrytest.Fault{Kind: registrytest.StallRequest, Method: http.MethodPatch, PathContains: "/blobs/uploads/"})
		done := make(chan error, 1)
		// The layer is small enough for the connection to take it all, so the
		// registry's silence is a missing answer, bounded by the answer
		// timeout; a larger one would stall while being sent.
		go func() { done <- push(registry.WithStallTimeout(time.Second), registry.WithAnswerTimeout(time.Second)) }()
		var err error
		Eventually(done, 2*time.Minute).Should(Receive(&err))
		Expect(err).To(MatchError(And(ContainSubstring("PATCH"), Or(ContainSubstring("stalled: no byte moved for 1s"), ContainSubstring("stalled: no answer for 1s")))))
		Expect(proxy.Counts().ByMethod[http.MethodPatch]).To(Equal(attempts))
	})
})

// The binary's own policy, as docs/out.md documents it.
var _ = Describe("the out binary against a registry that answers 503 to every manifest PUT", func() {
	It("makes 4 attempts", func() {
		proxy, dir, repo := proxiedPut()
		proxy.Fail(registrytest.Fault{Method: http.MethodPut, PathContains: "/manifests/", Status: http.StatusServiceUnavailable})
		r := runOut(dir, map[string]any{"source": proxy.Source(repo), "params": map[string]any{"image": "image.tar", "version": "1.0.0"}})
		expectFailure(r, "503")
		Expect(proxy.Counts().ManifestPUT).To(Equal(registry.DefaultRetryPolicy().Attempts))
		Expect(registry.DefaultRetryPolicy().Attempts).To(Equal(4))
	})
})
