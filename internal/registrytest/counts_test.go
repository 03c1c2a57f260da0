package registrytest_test

import (
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/internal/registrytest"
)

const blobPath = "/v2/team/app/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000"

var _ = Describe("Classify", func() {
	DescribeTable("tells registry calls apart by method and path",
		func(method, path string, want registrytest.Kind) {
			Expect(registrytest.Classify(httptest.NewRequest(method, path, nil))).To(Equal(want))
		},
		Entry("ping", "GET", "/v2/", registrytest.KindPing),
		Entry("ping without slash", "HEAD", "/v2", registrytest.KindPing),
		Entry("manifest HEAD", "HEAD", "/v2/team/app/manifests/v1", registrytest.KindManifestHEAD),
		Entry("manifest GET by digest", "GET", "/v2/a/manifests/sha256:abc", registrytest.KindManifestGET),
		Entry("manifest PUT", "PUT", "/v2/a/manifests/v1", registrytest.KindManifestPUT),
		Entry("manifest DELETE", "DELETE", "/v2/a/manifests/v1", registrytest.KindOther),
		Entry("repository named manifests", "HEAD", "/v2/manifests/manifests/v1", registrytest.KindManifestHEAD),
		Entry("blob GET", "GET", blobPath, registrytest.KindBlobGET),
		Entry("blob HEAD", "HEAD", blobPath, registrytest.KindBlobHEAD),
		Entry("repository named blobs", "GET", "/v2/x/blobs/blobs/sha256:abc", registrytest.KindBlobGET),
		Entry("upload start", "POST", "/v2/a/blobs/uploads/", registrytest.KindBlobUpload),
		Entry("upload chunk", "PATCH", "/v2/a/blobs/uploads/1234", registrytest.KindBlobUpload),
		Entry("upload finish", "PUT", "/v2/a/blobs/uploads/1234?digest=sha256:abc", registrytest.KindBlobUpload),
		Entry("tags list", "GET", "/v2/team/app/tags/list", registrytest.KindTagsList),
		Entry("catalog", "GET", "/v2/_catalog", registrytest.KindOther),
		Entry("referrers", "GET", "/v2/a/referrers/sha256:abc", registrytest.KindOther),
		Entry("not the registry API", "GET", "/healthz", registrytest.KindOther),
	)
})

var _ = Describe("Proxy counts", func() {
	var proxy *registrytest.Proxy

	BeforeEach(func() {
		target := inProcess()()
		proxy = registrytest.NewProxy(target)
		DeferCleanup(proxy.Close)
	})

	It("starts at zero", func() {
		Expect(proxy.Counts()).To(Equal(registrytest.RequestCounts{ByMethod: map[string]int{}}))
	})

	DescribeTable("counts one request once, by method and by kind",
		func(method, path string, want registrytest.RequestCounts) {
			mustDo(proxy.Registry, method, path)
			want.Total, want.Forwarded = 1, 1
			want.ByMethod = map[string]int{method: 1}
			Expect(proxy.Counts()).To(Equal(want))
		},
		Entry("ping", "GET", "/v2/", registrytest.RequestCounts{Ping: 1}),
		Entry("manifest HEAD", "HEAD", "/v2/team/app/manifests/v1", registrytest.RequestCounts{ManifestHEAD: 1}),
		Entry("manifest GET", "GET", "/v2/team/app/manifests/v1", registrytest.RequestCounts{ManifestGET: 1}),
		Entry("blob GET", "GET", blobPath, registrytest.RequestCounts{BlobGET: 1}),
		Entry("blob HEAD", "HEAD", blobPath, registrytest.RequestCounts{BlobHEAD: 1}),
		Entry("tags list", "GET", "/v2/team/app/tags/list", registrytest.RequestCounts{TagsList: 1}),
		Entry("upload start", "POST", "/v2/team/app/blobs/uploads/", registrytest.RequestCounts{BlobUpload: 1}),
		Entry("catalog", "GET", "/v2/_catalog", registrytest.RequestCounts{Other: 1}),
	)

	It("counts a client's pull exactly", func() {
		ref, img := pushRandom(proxy.Registry, "team/app")
		proxy.Reset()

		_, err := remote.Head(ref, proxy.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		Expect(proxy.Counts()).To(Equal(registrytest.RequestCounts{
			Total: 2, ByMethod: map[string]int{"GET": 1, "HEAD": 1},
			Ping: 1, ManifestHEAD: 1, Forwarded: 2,
		}))

		proxy.Reset()
		first := must(must(img.Layers())[0].Digest())
		layer, err := remote.Layer(ref.Context().Digest(first.String()), proxy.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		_, err = layer.Uncompressed()
		Expect(err).NotTo(HaveOccurred())
		Expect(proxy.Counts()).To(Equal(registrytest.RequestCounts{
			Total: 2, ByMethod: map[string]int{"GET": 2},
			Ping: 1, BlobGET: 1, Forwarded: 2,
		}))
	})

	It("is safe to read while requests are counted", func() {
		ref, _ := pushRandom(proxy.Registry, "team/app")
		proxy.Reset()
		done := make(chan struct{})
		for range 8 {
			go func() {
				defer GinkgoRecover()
				defer func() { done <- struct{}{} }()
				_, err := remote.Head(ref, proxy.RemoteOptions()...)
				Expect(err).NotTo(HaveOccurred())
				_ = proxy.Counts()
			}()
		}
		for range 8 {
			<-done
		}
		Expect(proxy.Counts().ManifestHEAD).To(Equal(8))
		Expect(proxy.Counts().Total).To(Equal(16))
	})
})
