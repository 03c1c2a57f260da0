package out_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Distribution puts a signed _state token in the Location of every upload
// answer, and the next request of the upload goes there. Go's *url.Error
// prints that URL whole; the build log must never show the token.
var _ = Describe("an upload whose Location carries a signed _state", func() {
	const marker = "STATEMARKERsignedtoken"
	var (
		proxy *registrytest.Proxy
		dir   string
		repo  string
	)
	BeforeEach(func() {
		target := registrytest.NewInProcess()
		DeferCleanup(target.Close)
		proxy = registrytest.NewProxy(target, registrytest.WithUploadQuery("_state="+marker))
		DeferCleanup(proxy.Close)
		dir = inputs()
		writeTarball(dir, "image.tar", randomImage())
		repo = freshRepo(proxy.Registry)
	})

	DescribeTable("fails without printing it, from the binary",
		func(f registrytest.Fault) {
			f.PathContains = "/blobs/uploads/"
			proxy.Fail(f)
			r := runOut(dir, map[string]any{"source": proxy.Source(repo), "params": map[string]any{"image": "image.tar", "version": "1.0.0"}})
			expectFailure(r)
			Expect(r.stdout + r.stderr).NotTo(ContainSubstring(marker))
		},
		Entry("when the connection drops during the streamed upload", registrytest.Fault{Kind: registrytest.DropConnection, Method: http.MethodPatch}),
		Entry("when the streamed upload is answered 403", registrytest.Fault{Method: http.MethodPatch, Status: http.StatusForbidden}),
		Entry("when the commit is answered 403", registrytest.Fault{Method: http.MethodPut, Status: http.StatusForbidden}),
	)

	It("fails without printing it when the upload stalls (in process, one-second bounds)", func() {
		proxy.Fail(registrytest.Fault{Kind: registrytest.StallRequest, Method: http.MethodPatch, PathContains: "/blobs/uploads/"})
		fast := registry.RetryPolicy{Attempts: 2, Initial: time.Millisecond, MaxWait: time.Second, Sleep: func(time.Duration) {}}
		req := resource.OutRequest{Source: decodeSource(proxy.Source(repo)), Params: resource.PutParams{Image: "image.tar", Version: "1.0.0"}}
		_, err := out.Run(context.Background(), req, dir, out.WithClientOptions(registry.WithRetryPolicy(fast),
			registry.WithStallTimeout(time.Second), registry.WithAnswerTimeout(time.Second)))
		Expect(err).To(MatchError(ContainSubstring("stalled")))
		Expect(err.Error()).NotTo(ContainSubstring(marker))
	})
})
