package in_test

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

// What registry-image v1.18.0 writes (go-containerregistry v0.21.9; the
// shipped set's v0.22.1 writes the same). On go.mod's v0.21.2 the
// oci-layout descriptor holds too (refimage sets it); image.tar's layer
// names are ggcr's tarball writer's, so only the shipped set has them.
var _ = Describe("full downloads written as registry-image writes them", func() {
	var reg *fakeRegistry
	var repo string

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
	})
	get := func(format string, digest string) result {
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"format": format, "fetch_artifact": true},
			Version: resource.Version{Tag: "v1", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		return res
	}

	It("oci names each layer file of image.tar by its media type", func() {
		img := imagetest.MustImage(imagetest.Spec{Layers: []v1.Layer{
			layer(imagetest.Gzip, imagetest.File("a", "1")),
			layer(imagetest.Zstd, imagetest.File("b", "2")),
			layer(imagetest.Uncompressed, imagetest.File("c", "3")),
		}})
		res := get("oci", push(repo, "v1", img))
		var manifest []struct{ Layers []string }
		Expect(json.Unmarshal(tarEntry(filepath.Join(res.dest, "image.tar"), "manifest.json"), &manifest)).To(Succeed())
		Expect(manifest).To(HaveLen(1))
		var want []string
		layers, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		for i, ext := range []string{".tar.gz", ".tar.zst", ".tar"} {
			d, err := layers[i].Digest()
			Expect(err).NotTo(HaveOccurred())
			want = append(want, d.Hex+ext)
		}
		Expect(manifest[0].Layers).To(Equal(want))
	})

	It("oci-layout writes the image's annotations and artifactType in index.json's descriptor", func() {
		base := imagetest.MustImage(imagetest.Spec{Layers: []v1.Layer{layer(imagetest.Gzip, imagetest.File("a", "1"))}})
		annotations := map[string]string{"org.opencontainers.image.source": "https://example.com/app", "team": "core"}
		img, ok := mutate.Annotations(base, annotations).(v1.Image)
		Expect(ok).To(BeTrue())
		digest := push(repo, "v1", img)
		res := get("oci-layout", digest)
		var index struct {
			Manifests []struct {
				Digest       string            `json:"digest"`
				ArtifactType string            `json:"artifactType"`
				Annotations  map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		Expect(json.Unmarshal([]byte(res.file("oci/index.json")), &index)).To(Succeed())
		Expect(index.Manifests).To(HaveLen(1))
		got := index.Manifests[0]
		Expect(got.Digest).To(Equal(digest))
		Expect(got.Annotations).To(Equal(annotations))
		m, err := img.Manifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(got.ArtifactType).To(Equal(string(m.Config.MediaType)), "no artifactType in the manifest: its config's media type")
	})
})

// tarEntry returns the contents of the entry called name in the tar file.
func tarEntry(file, name string) []byte {
	f, err := os.Open(file)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			Fail("no " + name + " in " + file)
		}
		Expect(err).NotTo(HaveOccurred())
		if strings.TrimPrefix(h.Name, "./") == name {
			b, err := io.ReadAll(tr)
			Expect(err).NotTo(HaveOccurred())
			return b
		}
	}
}
