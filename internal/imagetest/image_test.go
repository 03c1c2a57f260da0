package imagetest_test

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Image", func() {
	// spec builds a fresh spec each time, with fresh layers, so that equal
	// digests prove determinism rather than shared pointers.
	spec := func() imagetest.Spec {
		base, err := imagetest.Layer(imagetest.Gzip, imagetest.Dir("etc/"), imagetest.File("etc/os-release", "ID=test\n"))
		Expect(err).NotTo(HaveOccurred())
		app, err := imagetest.Layer(imagetest.Zstd, imagetest.File("app", "#!/bin/sh\n").WithMode(0o755))
		Expect(err).NotTo(HaveOccurred())
		return imagetest.Spec{
			Layers:      []v1.Layer{base, app},
			Env:         []string{"PATH=/bin", "A=b"},
			User:        "1000:1000",
			Entrypoint:  []string{"/app"},
			Cmd:         []string{"--serve"},
			WorkingDir:  "/srv",
			Labels:      map[string]string{"z": "1", "a": "2", "org.example.kind": "registry-image"},
			Annotations: map[string]string{"org.opencontainers.image.source": "https://example.test/repo", "b": "c"},
			Platform:    &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		}
	}

	It("gives the same digest for the same spec", func() {
		first, err := imagetest.Image(spec())
		Expect(err).NotTo(HaveOccurred())
		second, err := imagetest.Image(spec())
		Expect(err).NotTo(HaveOccurred())
		Expect(first.Digest()).To(Equal(must(second.Digest())))
	})

	DescribeTable("gives a different digest when one field differs",
		func(change func(*imagetest.Spec)) {
			a, err := imagetest.Image(spec())
			Expect(err).NotTo(HaveOccurred())
			s := spec()
			change(&s)
			b, err := imagetest.Image(s)
			Expect(err).NotTo(HaveOccurred())
			Expect(b.Digest()).NotTo(Equal(must(a.Digest())))
		},
		Entry("env", func(s *imagetest.Spec) { s.Env = nil }),
		Entry("label", func(s *imagetest.Spec) { s.Labels["a"] = "3" }),
		Entry("annotation", func(s *imagetest.Spec) { s.Annotations["b"] = "d" }),
		Entry("created", func(s *imagetest.Spec) { s.Created = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }),
		Entry("platform", func(s *imagetest.Spec) { s.Platform = nil }),
		Entry("layers", func(s *imagetest.Spec) { s.Layers = s.Layers[:1] }),
		Entry("format", func(s *imagetest.Spec) { s.Format = imagetest.Docker }),
	)

	It("writes the spec into the config and manifest", func() {
		img, err := imagetest.Image(spec())
		Expect(err).NotTo(HaveOccurred())
		cfg, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.Config.Env).To(Equal([]string{"PATH=/bin", "A=b"}))
		Expect(cfg.Config.User).To(Equal("1000:1000"))
		Expect(cfg.Config.Entrypoint).To(Equal([]string{"/app"}))
		Expect(cfg.Config.Cmd).To(Equal([]string{"--serve"}))
		Expect(cfg.Config.WorkingDir).To(Equal("/srv"))
		Expect(cfg.Config.Labels).To(HaveKeyWithValue("org.example.kind", "registry-image"))
		Expect(cfg.Platform()).To(Equal(&v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}))
		Expect(cfg.Created.Time).To(BeTemporally("==", imagetest.FixedTime))
		Expect(cfg.RootFS.DiffIDs).To(HaveLen(2))
		Expect(cfg.History).To(HaveLen(2))

		manifest, err := img.Manifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(manifest.MediaType).To(Equal(types.OCIManifestSchema1))
		Expect(manifest.Config.MediaType).To(Equal(types.OCIConfigJSON))
		Expect(manifest.Annotations).To(HaveKeyWithValue("org.opencontainers.image.source", "https://example.test/repo"))
		Expect(manifest.Layers[0].MediaType).To(Equal(types.OCILayer))
		Expect(manifest.Layers[1].MediaType).To(Equal(types.OCILayerZStd))
	})

	It("defaults to an empty linux/amd64 image", func() {
		img, err := imagetest.Image(imagetest.Spec{})
		Expect(err).NotTo(HaveOccurred())
		cfg, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.Platform()).To(Equal(&v1.Platform{OS: "linux", Architecture: "amd64"}))
		Expect(img.Layers()).To(BeEmpty())
	})

	It("writes Docker schema 2 with Docker layer types, but keeps deliberate lies", func() {
		gz, err := imagetest.Layer(imagetest.Gzip, imagetest.File("a", "b"))
		Expect(err).NotTo(HaveOccurred())
		plain, err := imagetest.Layer(imagetest.Uncompressed, imagetest.File("c", "d"))
		Expect(err).NotTo(HaveOccurred())
		liar := imagetest.Relabel(plain, types.OCILayer)

		img, err := imagetest.Image(imagetest.Spec{Format: imagetest.Docker, Layers: []v1.Layer{gz, plain, liar}})
		Expect(err).NotTo(HaveOccurred())
		manifest, err := img.Manifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(manifest.MediaType).To(Equal(types.DockerManifestSchema2))
		Expect(manifest.Config.MediaType).To(Equal(types.DockerConfigJSON))
		Expect(manifest.Layers[0].MediaType).To(Equal(types.DockerLayer))
		Expect(manifest.Layers[1].MediaType).To(Equal(types.DockerUncompressedLayer))
		Expect(manifest.Layers[2].MediaType).To(Equal(types.OCILayer))
	})
})

func must[T any](v T, err error) T {
	Expect(err).NotTo(HaveOccurred())
	return v
}
