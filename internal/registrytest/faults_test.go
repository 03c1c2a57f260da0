package registrytest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/internal/registrytest"
)

const manifestPath = "/v2/team/app/manifests/v1"

var _ = Describe("Proxy faults", func() {
	Describe("RespondStatus", func() {
		var proxy *registrytest.Proxy

		BeforeEach(func() {
			target := inProcess()()
			pushRandom(target, "team/app")
			proxy = registrytest.NewProxy(target)
			DeferCleanup(proxy.Close)
		})

		DescribeTable("answers Times matching requests itself, then forwards again",
			func(f registrytest.Fault, method, path string) {
				f.Times = 2
				proxy.Fail(f)
				for range 2 {
					resp, _ := mustDo(proxy.Registry, method, path)
					Expect(resp.StatusCode).To(Equal(f.Status))
					for k := range f.Header {
						Expect(resp.Header.Values(k)).To(Equal(f.Header.Values(k)))
					}
				}
				resp, _ := mustDo(proxy.Registry, method, path)
				Expect(resp.StatusCode).To(Equal(http.StatusOK))

				c := proxy.Counts()
				Expect(c.Total).To(Equal(3))
				Expect(c.Faults).To(Equal(2))
				Expect(c.Forwarded).To(Equal(1))
			},
			Entry("429 + Retry-After on a manifest HEAD",
				registrytest.Fault{Method: "HEAD", PathContains: "/manifests/", Status: 429, Header: http.Header{"Retry-After": {"1"}}},
				"HEAD", manifestPath),
			Entry("503 on a tags list",
				registrytest.Fault{PathContains: "/tags/list", Status: 503},
				"GET", "/v2/team/app/tags/list"),
			Entry("401 with a Bearer challenge on the ping",
				registrytest.Fault{Method: "GET", PathContains: "/v2/", Status: 401,
					Header: http.Header{"Www-Authenticate": {`Bearer realm="https://auth.invalid/token",service="registry"`}}},
				"GET", "/v2/"),
		)

		It("answers a registry-style error body when none is given", func() {
			proxy.Fail(registrytest.Fault{Status: 500, Times: 1})
			resp, body := mustDo(proxy.Registry, "GET", manifestPath)
			Expect(resp.StatusCode).To(Equal(500))
			Expect(resp.Header.Get("Content-Type")).To(Equal("application/json"))
			Expect(string(body)).To(ContainSubstring(`"errors"`))
		})

		It("applies a fault without Times to every match until Reset", func() {
			proxy.Fail(registrytest.Fault{Method: "GET", PathContains: "/manifests/", Status: 500})
			for range 3 {
				resp, _ := mustDo(proxy.Registry, "GET", manifestPath)
				Expect(resp.StatusCode).To(Equal(500))
			}
			resp, _ := mustDo(proxy.Registry, "HEAD", manifestPath)
			Expect(resp.StatusCode).To(Equal(http.StatusOK), "a HEAD does not match a GET fault")

			proxy.Reset()
			resp, _ = mustDo(proxy.Registry, "GET", manifestPath)
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(proxy.Counts().Faults).To(BeZero())
		})

		It("uses up queued faults in order", func() {
			proxy.Fail(registrytest.Fault{PathContains: "/manifests/", Status: 429, Times: 1})
			proxy.Fail(registrytest.Fault{PathContains: "/manifests/", Status: 502, Times: 1})
			var got []int
			for range 3 {
				resp, _ := mustDo(proxy.Registry, "HEAD", manifestPath)
				got = append(got, resp.StatusCode)
			}
			Expect(got).To(Equal([]int{429, 502, 200}))
		})
	})

	// The body faults are tried against every flavour: a TLS proxy must
	// hijack its HTTP/1.1 connection, whatever protocol the target speaks.
	DescribeTable("CutBody closes the connection after Offset bytes of a blob",
		func(start starter) {
			proxy, path, blob := proxyWithBlob(start)
			proxy.Fail(registrytest.Fault{Kind: registrytest.CutBody, Method: "GET", PathContains: "/blobs/sha256:", Offset: 1000, Times: 1})

			resp, body, err := do(context.Background(), proxy.Registry, "GET", path)
			Expect(err).To(MatchError(io.ErrUnexpectedEOF))
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(resp.ContentLength).To(Equal(int64(len(blob))))
			Expect(body).To(Equal(blob[:1000]))

			_, body = mustDo(proxy.Registry, "GET", path)
			Expect(body).To(Equal(blob), "a fault with Times: 1 cuts one response only")
			Expect(proxy.Counts().BlobGET).To(Equal(2))
			Expect(proxy.Counts().Faults).To(Equal(1))
		},
		Entry("in-process, plain HTTP", inProcess()),
		Entry("in-process, TLS + basic auth", inProcess(tlsAuth...)),
		Entry("distribution, plain HTTP", distribution()),
		Entry("distribution, TLS + htpasswd", distribution(tlsAuth...)),
	)

	DescribeTable("CorruptBody flips the byte at Offset and nothing else",
		func(start starter) {
			proxy, path, blob := proxyWithBlob(start)
			proxy.Fail(registrytest.Fault{Kind: registrytest.CorruptBody, Method: "GET", PathContains: "/blobs/", Offset: 100, Times: 2})

			resp, body := mustDo(proxy.Registry, "GET", path)
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(body).To(HaveLen(len(blob)))
			Expect(body[100]).To(Equal(blob[100] ^ 0xff))
			Expect(body[:100]).To(Equal(blob[:100]))
			Expect(body[101:]).To(Equal(blob[101:]))

			// A client that verifies digests, as go-containerregistry does,
			// refuses the second corrupted copy.
			layer, err := remote.Layer(must(blobRef(proxy.Registry, path)), proxy.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			rc, err := layer.Compressed()
			Expect(err).NotTo(HaveOccurred())
			defer rc.Close()
			_, err = io.ReadAll(rc)
			Expect(err).To(MatchError(ContainSubstring("verifying sha256")))
			Expect(proxy.Counts().Faults).To(Equal(2))
		},
		Entry("in-process, plain HTTP", inProcess()),
		Entry("in-process, TLS + basic auth", inProcess(tlsAuth...)),
		Entry("distribution, plain HTTP", distribution()),
		Entry("distribution, TLS + htpasswd", distribution(tlsAuth...)),
	)
})

// proxyWithBlob pushes an image to a fresh registry, puts a proxy in front of
// it, and returns the proxy, the API path of the image's first layer and the
// layer's bytes as stored.
func proxyWithBlob(start starter) (*registrytest.Proxy, string, []byte) {
	target := start()
	_, img := pushRandom(target, "team/app")
	proxy := registrytest.NewProxy(target)
	DeferCleanup(proxy.Close)

	digest := must(must(img.Layers())[0].Digest())
	path := "/v2/team/app/blobs/" + digest.String()
	_, blob := mustDo(target, "GET", path)
	sum := sha256.Sum256(blob)
	Expect(hex.EncodeToString(sum[:])).To(Equal(digest.Hex), "the target serves the blob intact")
	return proxy, path, blob
}
