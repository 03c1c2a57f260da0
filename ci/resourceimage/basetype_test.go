package resourceimage_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/ci/resourceimage"
)

var _ = Describe("the base-type bundle", func() {
	It("has metadata a classic worker parses: the type, the version, unprivileged; and produces, for a runtime to read", func() {
		b, err := os.ReadFile(filepath.Join(first.baseType, "resource_metadata.json"))
		Expect(err).NotTo(HaveOccurred())
		var meta map[string]any
		Expect(json.Unmarshal(b, &meta)).To(Succeed())
		Expect(meta).To(Equal(map[string]any{
			"type": "registry-image", "version": version, "privileged": false, "unique_version_history": false,
			"produces": "registry-image",
		}))
	})

	It("names the pushed index for runtimes that take base types as image references", func() {
		b, err := os.ReadFile(filepath.Join(first.baseType, "image-reference"))
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(string(b))).To(Equal(registry.Repo(repoName) + "@" + digestOf(pulled()).String()))
	})

	It("has the linux/amd64 image's file tree in rootfs.tgz", func() {
		f, err := os.Open(filepath.Join(first.baseType, "rootfs.tgz"))
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		zr, err := gzip.NewReader(f)
		Expect(err).NotTo(HaveOccurred())
		want := expectedFiles()
		seen := map[string]bool{}
		eachEntry(zr, func(h *tar.Header, _ io.Reader) {
			n := strings.TrimSuffix(h.Name, "/")
			f, ok := want[n]
			Expect(ok).To(BeTrue(), "unexpected %s", n)
			Expect(h.Mode).To(Equal(f.mode), n)
			Expect([]int{h.Uid, h.Gid}).To(Equal([]int{0, 0}), n)
			seen[n] = true
		})
		Expect(seen).To(HaveLen(len(want)))
	})

	It("holds working binaries", func() {
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			Skip("the linux/amd64 binaries need a linux/amd64 machine")
		}
		f, err := os.Open(filepath.Join(first.baseType, "rootfs.tgz"))
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		zr, err := gzip.NewReader(f)
		Expect(err).NotTo(HaveOccurred())
		rootfs := GinkgoT().TempDir()
		extract(zr, rootfs)
		asContainer(rootfs)

		r := runInRootfs(rootfs, "/opt/resource/check", map[string]any{"source": source(version), "version": nil})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(digestOf(pulled()).String()))
	})

	It("is written without a reference when the image was not pushed", func() {
		dir := GinkgoT().TempDir()
		img, err := resourceimage.PlatformImage(readLayout(first.layout), resourceimage.Platforms[0])
		Expect(err).NotTo(HaveOccurred())
		Expect(resourceimage.WriteBaseType(dir, img, "refimage", "v1", "")).To(Succeed())
		Expect(filepath.Join(dir, "image-reference")).NotTo(BeAnExistingFile())
		b, err := os.ReadFile(filepath.Join(dir, "resource_metadata.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).To(ContainSubstring(`"type": "refimage"`))
	})
})
