package imagetest_test

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Index", func() {
	platforms := []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.1"},
	}

	It("lists one image per platform, in order, with platforms in the descriptors", func() {
		idx, err := imagetest.MultiArch(imagetest.Spec{Env: []string{"A=b"}}, platforms...)
		Expect(err).NotTo(HaveOccurred())
		manifest, err := idx.IndexManifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(manifest.MediaType).To(Equal(types.OCIImageIndex))
		Expect(manifest.Manifests).To(HaveLen(len(platforms)))

		digests := map[v1.Hash]bool{}
		for i, desc := range manifest.Manifests {
			Expect(*desc.Platform).To(Equal(platforms[i]))
			img, err := idx.Image(desc.Digest)
			Expect(err).NotTo(HaveOccurred())
			cfg, err := img.ConfigFile()
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.Platform().Satisfies(platforms[i])).To(BeTrue())
			digests[desc.Digest] = true
		}
		Expect(digests).To(HaveLen(len(platforms)), "every platform gets its own image")
	})

	It("gives the same digest for the same entries", func() {
		a := must(imagetest.MultiArch(imagetest.Spec{}, platforms...))
		b := must(imagetest.MultiArch(imagetest.Spec{}, platforms...))
		Expect(a.Digest()).To(Equal(must(b.Digest())))
	})

	It("takes the platform from the config unless given, and keeps descriptor annotations", func() {
		arm := imagetest.MustImage(imagetest.Spec{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
		attestation := imagetest.MustImage(imagetest.Spec{Labels: map[string]string{"kind": "attestation"}})
		idx, err := imagetest.Index(
			imagetest.IndexEntry{Image: arm},
			imagetest.IndexEntry{
				Image:       attestation,
				Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
				Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
			},
		)
		Expect(err).NotTo(HaveOccurred())
		manifest, err := idx.IndexManifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(manifest.Manifests[0].Platform).To(Equal(&v1.Platform{OS: "linux", Architecture: "arm64"}))
		Expect(manifest.Manifests[1].Platform.OS).To(Equal("unknown"))
		Expect(manifest.Manifests[1].Annotations).To(HaveKeyWithValue("vnd.docker.reference.type", "attestation-manifest"))
	})

	It("is a Docker manifest list when every image is Docker schema 2", func() {
		idx, err := imagetest.MultiArch(imagetest.Spec{Format: imagetest.Docker}, platforms[:2]...)
		Expect(err).NotTo(HaveOccurred())
		Expect(idx.MediaType()).To(Equal(types.DockerManifestList))
		manifest, err := idx.IndexManifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(manifest.Manifests[0].MediaType).To(Equal(types.DockerManifestSchema2))
	})
})
