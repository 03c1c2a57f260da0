package registry_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("retry warnings", func() {
	It("never print the query of a redirected blob URL, where storage signatures live", func() {
		config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
		configDigest := fmt.Sprintf("sha256:%x", sha256.Sum256(config))
		manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`, configDigest, len(config)))
		var storageCalls atomic.Int32
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/v2/":
			case strings.Contains(r.URL.Path, "/manifests/"):
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%x", sha256.Sum256(manifest)))
				_, _ = w.Write(manifest)
			case strings.Contains(r.URL.Path, "/blobs/"):
				http.Redirect(w, r, "/storage/blob?X-Amz-Signature=SECRETSIG&X-Amz-Security-Token=SECRETTOKEN", http.StatusTemporaryRedirect)
			case r.URL.Path == "/storage/blob":
				if storageCalls.Add(1) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write(config)
			default:
				http.NotFound(w, r)
			}
		}))
		defer server.Close()

		var warnings []string
		policy := registry.RetryPolicy{Attempts: 3, Initial: time.Millisecond, MaxWait: time.Second, Sleep: func(time.Duration) {}}
		src := resource.Source{Repository: strings.TrimPrefix(server.URL, "http://") + "/app", Insecure: true}
		client, err := registry.NewClient(context.Background(), src, registry.WithRetryPolicy(policy),
			registry.WithWarnings(func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }))
		Expect(err).NotTo(HaveOccurred())
		img, err := client.Image(client.Repository.Tag("1"))
		Expect(err).NotTo(HaveOccurred())
		_, err = img.RawConfigFile()
		Expect(err).NotTo(HaveOccurred())

		Expect(warnings).To(ConsistOf(ContainSubstring("/storage/blob: 503")))
		Expect(strings.Join(warnings, "\n")).NotTo(Or(ContainSubstring("SECRETSIG"), ContainSubstring("SECRETTOKEN")))
	})

	It("stop waiting when the request is cancelled", func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		policy := registry.RetryPolicy{Attempts: 3, Initial: time.Hour, MaxWait: time.Hour}
		Expect(policy.Wait(ctx, time.Hour)).To(MatchError(context.Canceled))
	})
})

var _ = DescribeTable("RedactURLs keeps a URL's scheme, host and path only",
	func(in, want string) {
		Expect(registry.RedactURLs(in)).To(Equal(want))
	},
	Entry("Go's *url.Error of a presigned storage URL",
		`Get "https://bucket.s3.amazonaws.com/docker/blobs/sha256:54a3?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=abc": EOF`,
		`Get "https://bucket.s3.amazonaws.com/docker/blobs/sha256:54a3": EOF`),
	Entry("an upload's Location with _state, unquoted",
		"PATCH http://127.0.0.1:5000/v2/app/blobs/uploads/1f2e?_state=c2lnbmVk&digest=sha256:00: 403 Forbidden",
		"PATCH http://127.0.0.1:5000/v2/app/blobs/uploads/1f2e: 403 Forbidden"),
	Entry("userinfo", "dial https://robot:hunter2@registry.example.test/v2/: refused", "dial https://registry.example.test/v2/: refused"),
	Entry("a fragment and an '@' in the query", "see http://h.test/p#frag and http://h.test/?next=a@b.test/x", "see http://h.test/p and http://h.test/"),
	Entry("two URLs on one line", `a "http://a.test/x?t=1" b 'https://b.test?t=2'`, `a "http://a.test/x" b 'https://b.test'`),
	Entry("no URL", "GET 127.0.0.1:5000/v2/app/manifests/1 stalled", "GET 127.0.0.1:5000/v2/app/manifests/1 stalled"),
)
