package in_test

import (
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("formats oci and oci-layout", func() {
	var reg *fakeRegistry
	var repo, digest string
	var img v1.Image

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
		img = imagetest.MustImage(imagetest.Spec{
			Layers: []v1.Layer{layer(imagetest.Gzip, imagetest.File("a", "1")), layer(imagetest.Zstd, imagetest.File("b", "2"))},
			Labels: map[string]string{"team": "core"},
		})
		digest = push(repo, "v1", img)
	})
	get := func(format string, digest string) result {
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"format": format, "fetch_artifact": true},
			Version: resource.Version{Tag: "v1", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.file("digest")).To(Equal(digest))
		Expect(res.file("tag")).To(Equal("v1"))
		Expect(res.file("repository")).To(Equal(repo))
		return res
	}

	It("oci writes image.tar, tagged with the version's tag, and labels.json", func() {
		res := get("oci", digest)
		Expect(tree(res.dest)).To(ConsistOf("image.tar", "labels.json", "repository", "tag", "digest"))
		Expect(res.file("labels.json")).To(MatchJSON(`{"team":"core"}`))
		tag := repo + ":v1"
		loaded, err := tarball.ImageFromPath(filepath.Join(res.dest, "image.tar"), nil)
		Expect(err).NotTo(HaveOccurred())
		want, _ := img.Layers()
		got, err := loaded.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(HaveLen(len(want)))
		for i := range want {
			w, _ := want[i].Digest()
			g, err := got[i].Digest()
			Expect(err).NotTo(HaveOccurred())
			Expect(g).To(Equal(w))
		}
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(filepath.Join(res.dest, "image.tar")) })
		Expect(err).NotTo(HaveOccurred())
		Expect(m[0].RepoTags).To(Equal([]string{tag}))
	})

	It("oci-layout writes one image with single-image-digest, readable by any user", func() {
		res := get("oci-layout", digest)
		Expect(res.file("oci/single-image-digest")).To(Equal(digest))
		Expect(res.file("oci/oci-layout")).To(ContainSubstring("imageLayoutVersion"))
		idx, err := layout.ImageIndexFromPath(filepath.Join(res.dest, "oci"))
		Expect(err).NotTo(HaveOccurred())
		h, err := v1.NewHash(digest)
		Expect(err).NotTo(HaveOccurred())
		got, err := idx.Image(h)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Digest()).To(Equal(h))
		err = filepath.WalkDir(filepath.Join(res.dest, "oci"), func(p string, d os.DirEntry, err error) error {
			Expect(err).NotTo(HaveOccurred())
			fi, err := d.Info()
			Expect(err).NotTo(HaveOccurred())
			if d.IsDir() {
				Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o755)), p)
			} else {
				Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o644)), p)
			}
			return nil
		})
		Expect(err).NotTo(HaveOccurred())
	})

	It("oci-layout writes an index as it is, without single-image-digest", func() {
		idx, err := imagetest.MultiArch(imagetest.Spec{Layers: []v1.Layer{layer(imagetest.Gzip, imagetest.File("a", "1"))}},
			v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
		Expect(err).NotTo(HaveOccurred())
		idxDigest, err := imagetest.PushIndex(repo+":v1", idx)
		Expect(err).NotTo(HaveOccurred())
		res := get("oci-layout", idxDigest)
		Expect(filepath.Join(res.dest, "oci/single-image-digest")).NotTo(BeAnExistingFile())
		written, err := layout.ImageIndexFromPath(filepath.Join(res.dest, "oci"))
		Expect(err).NotTo(HaveOccurred())
		got, err := written.Digest()
		Expect(err).NotTo(HaveOccurred())
		Expect(got.String()).To(Equal(idxDigest), "index.json is the index, byte for byte")
		m, err := written.IndexManifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Manifests).To(HaveLen(2))
		for _, d := range m.Manifests {
			_, err := written.Image(d.Digest)
			Expect(err).NotTo(HaveOccurred())
		}
	})

	It("refuses an unknown format with one line saying what to use", func() {
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"format": "zip", "fetch_artifact": true},
			Version: resource.Version{Tag: "v1", Digest: digest}})
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		Expect(res.stderr).To(ContainSubstring("rootfs, oci or oci-layout"))
	})
})
