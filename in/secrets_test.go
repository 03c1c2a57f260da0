package in_test

import (
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Registries backed by S3, R2 or CloudFront (ECR among them) redirect a
// blob GET to a presigned storage URL whose query holds a credential and a
// signature. Go's *url.Error prints that URL whole; the build log must
// never show it, whichever way the storage fails.
var _ = Describe("a blob redirected to storage with a signed URL", func() {
	const query = "X-Amz-Credential=AKIAMARKERCREDENTIAL%2F20261206%2Fus-east-1&X-Amz-Signature=SIGMARKER0123abcdef&X-Amz-Security-Token=TOKENMARKER"
	secrets := []string{"AKIAMARKERCREDENTIAL", "SIGMARKER0123abcdef", "TOKENMARKER", "X-Amz"}
	var (
		proxy  *registrytest.Proxy
		digest string
		blob   string // the layer's digest: storage faults match it
	)
	BeforeEach(func() {
		target := registrytest.NewInProcess()
		DeferCleanup(target.Close)
		l := layer(imagetest.Gzip, imagetest.File("etc/app.conf", strings.Repeat("a signed URL must stay secret\n", 200)))
		d, err := l.Digest()
		Expect(err).NotTo(HaveOccurred())
		blob = d.String()
		digest = push(target.Repo("team/app"), "latest", image(l))
		proxy = registrytest.NewProxy(target, registrytest.WithStorageRedirect(query))
		DeferCleanup(proxy.Close)
	})
	expectNoSecret := func(output string) {
		GinkgoHelper()
		for _, s := range secrets {
			Expect(output).NotTo(ContainSubstring(s))
		}
	}

	DescribeTable("fails without printing the URL's query, from the binary",
		func(f registrytest.Fault) {
			f.Method, f.PathContains = http.MethodGet, "/storage/v2/team/app/blobs/"+blob
			proxy.Fail(f)
			r := runIn(request{Source: map[string]any{"repository": proxy.Repo("team/app")}, Params: map[string]any{"fetch_artifact": true},
				Version: resource.Version{Tag: "latest", Digest: digest}})
			Expect(r.code).NotTo(Equal(0))
			Expect(r.stdout).To(BeEmpty())
			expectNoSecret(r.stderr)
		},
		Entry("when storage drops the connection before answering", registrytest.Fault{Kind: registrytest.DropConnection}),
		Entry("when storage cuts the connection mid-blob", registrytest.Fault{Kind: registrytest.CutBody, Offset: 10}),
		Entry("when storage answers 403", registrytest.Fault{Status: http.StatusForbidden}),
	)

	It("fails without printing the URL's query when storage stalls (in process, one-second bound)", func() {
		proxy.Fail(registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/storage/v2/team/app/blobs/" + blob, Offset: 10})
		fast := registry.RetryPolicy{Attempts: 2, Initial: time.Millisecond, MaxWait: time.Second, Sleep: func(time.Duration) {}}
		_, log, err := extractInProcess(proxy.Repo("team/app"), digest, in.WithBlobRetryPolicy(fast),
			in.WithClientOptions(registry.WithRetryPolicy(fast), registry.WithStallTimeout(time.Second)))
		Expect(err).To(MatchError(ContainSubstring("stalled")))
		expectNoSecret(err.Error() + "\n" + log)
	})
})
