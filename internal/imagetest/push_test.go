package imagetest_test

import (
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Push", func() {
	var registry string
	BeforeEach(func() { registry = startRegistry() })

	It("pushes an image that reads back with the same digest and layers", func() {
		layer := must(imagetest.Layer(imagetest.Zstd, imagetest.File("a", "b")))
		img := must(imagetest.Image(imagetest.Spec{Layers: []v1.Layer{layer}, Cmd: []string{"true"}}))
		digest, err := imagetest.Push(registry+"/app:1.0.0", img)
		Expect(err).NotTo(HaveOccurred())
		Expect(digest).To(Equal(must(img.Digest()).String()))

		pulled, err := remote.Image(must(name.ParseReference(registry + "/app:1.0.0")))
		Expect(err).NotTo(HaveOccurred())
		Expect(pulled.Digest()).To(Equal(must(img.Digest())))
		pulledLayers := must(pulled.Layers())
		Expect(pulledLayers).To(HaveLen(1))
		Expect(readTar(decompress(compressedBytes(pulledLayers[0])))[0].content).To(Equal([]byte("b")))
	})

	It("pushes a mislabelled layer as is", func() {
		layer := must(imagetest.Layer(imagetest.Zstd, imagetest.File("a", "b")))
		img := imagetest.MustImage(imagetest.Spec{Layers: []v1.Layer{imagetest.Relabel(layer, "application/vnd.oci.image.layer.v1.tar+gzip")}})
		_, err := imagetest.Push(registry+"/liar:latest", img)
		Expect(err).NotTo(HaveOccurred())
		pulled := must(remote.Image(must(name.ParseReference(registry + "/liar:latest"))))
		manifest := must(pulled.Manifest())
		Expect(string(manifest.Layers[0].MediaType)).To(Equal("application/vnd.oci.image.layer.v1.tar+gzip"))
		blob := must(remote.Layer(must(name.NewDigest(registry + "/liar@" + manifest.Layers[0].Digest.String()))))
		Expect(hasPrefix(zstdMagic)(compressedBytes(blob))).To(BeTrue())
	})

	It("pushes an index with every platform image", func() {
		idx := must(imagetest.MultiArch(imagetest.Spec{}, amd64, arm64))
		digest, err := imagetest.PushIndex(registry+"/multi:latest", idx)
		Expect(err).NotTo(HaveOccurred())
		Expect(digest).To(Equal(must(idx.Digest()).String()))

		pulled := must(remote.Index(must(name.ParseReference(registry + "/multi@" + digest))))
		manifest := must(pulled.IndexManifest())
		Expect(manifest.Manifests).To(HaveLen(2))
		Expect(manifest.Manifests[1].Platform.Architecture).To(Equal("arm64"))
		armImage := must(remote.Image(must(name.ParseReference(registry+"/multi:latest")), remote.WithPlatform(arm64)))
		Expect(armImage.Digest()).To(Equal(manifest.Manifests[1].Digest))
	})

	It("pushes a tag set: each image once, every tag pointing at its digest", func() {
		set := imagetest.SemverTagSet(60)
		tags, err := imagetest.PushTags(registry+"/semver", set.TagImages())
		Expect(err).NotTo(HaveOccurred())
		Expect(tags).To(HaveLen(60))

		repo := must(name.NewRepository(registry + "/semver"))
		Expect(remote.List(repo)).To(ConsistOf(keys(tags)))
		for tag, digest := range tags {
			desc := must(remote.Head(repo.Tag(tag)))
			Expect(desc.Digest.String()).To(Equal(digest), tag)
			Expect(digest).To(Equal(must(imagetest.DistinctImage(set[tag]).Digest()).String()), tag)
		}
		Expect(tags["1.0"]).To(Equal(tags[set["1.0"]]), "an alias shares its release's digest")
	})

	It("reports a bad repository by name", func() {
		_, err := imagetest.PushTags("Not A Repo", nil)
		Expect(err).To(MatchError(ContainSubstring(`parse repository "Not A Repo"`)))
	})
})

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
