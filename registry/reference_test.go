package registry_test

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("ResolveReference", func() {
	var (
		reg    *registrytest.Registry
		proxy  *registrytest.Proxy
		digest string
		open   registry.OpenFunc
	)
	BeforeEach(func() {
		reg = registrytest.NewInProcess()
		DeferCleanup(reg.Close)
		img, err := imagetest.Image(imagetest.Spec{
			Labels:      map[string]string{"org.opencontainers.image.source": "https://example.com/app", "other": "x"},
			Annotations: map[string]string{"io.example.note": "hi", "skip": "me"},
		})
		Expect(err).NotTo(HaveOccurred())
		digest, err = imagetest.Push(reg.Repo("app")+":1.0.0", img, reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		proxy = registrytest.NewProxy(reg)
		DeferCleanup(proxy.Close)
		open = func(ctx context.Context, src resource.Source) (registry.Registry, error) {
			return registry.NewClient(ctx, src)
		}
		proxy.Reset()
	})

	request := func(mutate func(*resource.InRequest)) resource.InRequest {
		req := resource.InRequest{
			Source:  resource.Source{Repository: proxy.Repo("app"), Insecure: true},
			Version: resource.Version{Tag: "1.0.0", Digest: digest},
		}
		if mutate != nil {
			mutate(&req)
		}
		return req
	}

	It("writes the three files and proves the digest with one manifest HEAD", func() {
		ref, err := registry.ResolveReference(context.Background(), request(nil), open)
		Expect(err).NotTo(HaveOccurred())
		Expect(ref.Files).To(Equal([]resource.File{
			{Name: "repository", Data: []byte(proxy.Repo("app"))},
			{Name: "tag", Data: []byte("1.0.0")},
			{Name: "digest", Data: []byte(digest)},
		}))
		Expect(ref.Response.Version).To(Equal(resource.Version{Tag: "1.0.0", Digest: digest}))
		Expect(ref.Response.Metadata).To(Equal([]resource.MetadataField{{Name: "repository", Value: proxy.Repo("app")}, {Name: "tag", Value: "1.0.0"}}))
		Expect(ref.Pinned.String()).To(Equal(proxy.Repo("app") + "@" + digest))
		c := proxy.Counts()
		Expect(c.ManifestHEAD).To(Equal(1))
		Expect(c.Total-c.Ping).To(Equal(1), "no GET of manifest, config or layer")
	})

	It("reads the manifest and config once when label_regex and annotation_regex ask for them", func() {
		ref, err := registry.ResolveReference(context.Background(), request(func(r *resource.InRequest) {
			r.Source.LabelRegex, r.Source.AnnotationRegex = `^org\.opencontainers`, `^io\.`
		}), open)
		Expect(err).NotTo(HaveOccurred())
		Expect(ref.Response.Metadata[2:]).To(Equal([]resource.MetadataField{
			{Name: "org.opencontainers.image.source", Value: "https://example.com/app"},
			{Name: "io.example.note", Value: "hi"},
		}))
		c := proxy.Counts()
		Expect(c.ManifestHEAD).To(Equal(0))
		Expect(c.ManifestGET).To(Equal(1))
		Expect(c.BlobGET).To(Equal(1), "the config, no layer")
	})

	It("reads the labels of the step's platform from a multi-arch index", func() {
		amd := v1.Platform{OS: "linux", Architecture: "amd64"}
		arm := v1.Platform{OS: "linux", Architecture: "arm64"}
		idx, err := imagetest.Index(
			imagetest.IndexEntry{Image: imagetest.MustImage(imagetest.Spec{Platform: &amd, Labels: map[string]string{"arch": "amd64"}}), Platform: &amd},
			imagetest.IndexEntry{Image: imagetest.MustImage(imagetest.Spec{Platform: &arm, Labels: map[string]string{"arch": "arm64"}}), Platform: &arm},
		)
		Expect(err).NotTo(HaveOccurred())
		multi, err := imagetest.PushIndex(reg.Repo("app")+":multi", idx, reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		for _, arch := range []string{"amd64", "arm64"} {
			ref, err := registry.ResolveReference(context.Background(), request(func(r *resource.InRequest) {
				r.Source.LabelRegex = "^arch$"
				r.Params.Platform = &resource.Platform{OS: "linux", Architecture: arch}
				r.Version = resource.Version{Tag: "multi", Digest: multi}
			}), open)
			Expect(err).NotTo(HaveOccurred())
			Expect(ref.Response.Metadata[2:]).To(Equal([]resource.MetadataField{{Name: "arch", Value: arch}}))
			Expect(ref.Pinned.DigestStr()).To(Equal(multi), "the pinned digest stays the index's")
		}
	})

	It("names the repository and digest when the digest is gone", func() {
		gone := "sha256:" + "1234567890123456789012345678901234567890123456789012345678901234"
		_, err := registry.ResolveReference(context.Background(), request(func(r *resource.InRequest) { r.Version.Digest = gone }), open)
		Expect(err).To(MatchError(ContainSubstring(gone)))
		Expect(err).To(MatchError(ContainSubstring(proxy.Repo("app"))))
	})

	It("rejects a version whose digest is not a digest", func() {
		_, err := registry.ResolveReference(context.Background(), request(func(r *resource.InRequest) { r.Version.Digest = "latest" }), open)
		Expect(err).To(MatchError(ContainSubstring("version.digest")))
	})

	Describe("with a registry_mirror", func() {
		src := resource.Source{Repository: "library/app", RegistryMirror: &resource.RegistryMirror{Host: "mirror.example"}}
		redirect := func(found bool) registry.OpenFunc {
			return func(ctx context.Context, s resource.Source) (registry.Registry, error) {
				if s.Repository == "mirror.example/library/app" {
					if !found {
						return nil, errors.New("mirror down")
					}
					return fakeRegistry{}, nil
				}
				Expect(s.Repository).To(Equal("library/app"))
				return fakeRegistry{}, nil
			}
		}
		It("pins the mirror's reference when the mirror has the digest", func() {
			ref, err := registry.ResolveReference(context.Background(), resource.InRequest{Source: src, Version: resource.Version{Tag: "1", Digest: digest}}, redirect(true))
			Expect(err).NotTo(HaveOccurred())
			Expect(ref.Pinned.String()).To(Equal("mirror.example/library/app@" + digest))
			Expect(string(ref.Files[0].Data)).To(Equal("library/app"), "the repository file keeps the source's text")
			Expect(ref.Warnings).To(BeEmpty())
		})
		It("falls back to the origin with a warning", func() {
			ref, err := registry.ResolveReference(context.Background(), resource.InRequest{Source: src, Version: resource.Version{Tag: "1", Digest: digest}}, redirect(false))
			Expect(err).NotTo(HaveOccurred())
			Expect(ref.Pinned.String()).To(Equal("index.docker.io/library/app@" + digest))
			Expect(ref.Warnings).To(ConsistOf(ContainSubstring("mirror down")))
		})
	})
})

// fakeRegistry has every digest.
type fakeRegistry struct{}

func (fakeRegistry) Digest(ref name.Reference) (v1.Hash, bool, error) {
	h, err := v1.NewHash(ref.Identifier())
	return h, err == nil, err
}

func (fakeRegistry) Image(name.Reference) (v1.Image, error) {
	return nil, errors.New("not in this fake")
}
