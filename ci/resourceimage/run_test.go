package resourceimage_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/ci/resourceimage"
)

var _ = Describe("the linux/amd64 image's executables, run as Concourse runs them", Ordered, func() {
	var rootfs string
	var digest v1.Hash

	BeforeAll(func() {
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			Skip("the linux/amd64 binaries need a linux/amd64 machine")
		}
		idx := pulled()
		digest = digestOf(idx)
		img, err := resourceimage.PlatformImage(idx, v1.Platform{OS: "linux", Architecture: "amd64"})
		Expect(err).NotTo(HaveOccurred())
		rootfs = GinkgoT().TempDir()
		rc := mutate.Extract(img)
		defer rc.Close()
		extract(rc, rootfs)
		asContainer(rootfs)
	})

	It("check finds the pushed image by its tag", func() {
		r := runInRootfs(rootfs, "/opt/resource/check", map[string]any{"source": source(version), "version": nil})
		Expect(r.code).To(Equal(0), r.stderr)
		var versions []map[string]string
		Expect(json.Unmarshal([]byte(r.stdout), &versions)).To(Succeed(), r.stdout)
		Expect(versions).To(Equal([]map[string]string{{"tag": version, "digest": digest.String()}}))
		Expect(r.stderr).NotTo(ContainSubstring(registry.Password))
	})

	It("check says what is wrong with a bad request, on stderr alone", func() {
		r := runInRootfs(rootfs, "/opt/resource/check", map[string]any{"source": source(version), "versoin": nil})
		Expect(r.code).NotTo(Equal(0))
		Expect(r.stdout).To(BeEmpty())
		Expect(r.stderr).To(ContainSubstring("versoin"))
	})

	It("in writes the reference of the pushed image", func() {
		req := map[string]any{
			"source":  source(version),
			"version": map[string]string{"tag": version, "digest": digest.String()},
			"params":  map[string]any{"fetch_artifact": false},
		}
		r := runInRootfs(rootfs, "/opt/resource/in", req, "/tmp/get")
		Expect(r.code).To(Equal(0), r.stderr)
		var resp struct {
			Version map[string]string `json:"version"`
		}
		Expect(json.Unmarshal([]byte(r.stdout), &resp)).To(Succeed(), r.stdout)
		Expect(resp.Version).To(Equal(map[string]string{"tag": version, "digest": digest.String()}))
		for f, want := range map[string]string{"repository": registry.Repo(repoName), "tag": version, "digest": digest.String()} {
			b, err := os.ReadFile(filepath.Join(rootfs, "tmp", "get", f))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(b)).To(Equal(want), f)
		}
	})

	It("in downloads the image itself as a rootfs when asked to", func() {
		req := map[string]any{
			"source":  source(version),
			"version": map[string]string{"tag": version, "digest": digest.String()},
			"params":  map[string]any{"fetch_artifact": true},
		}
		r := runInRootfs(rootfs, "/opt/resource/in", req, "/tmp/fetched")
		Expect(r.code).To(Equal(0), r.stderr)
		info, err := os.Stat(filepath.Join(rootfs, "tmp", "fetched", "rootfs", "opt", "resource", "check"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o755)))
		meta, err := os.ReadFile(filepath.Join(rootfs, "tmp", "fetched", "metadata.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(meta)).To(ContainSubstring("PATH="))
	})
})

var _ = Describe("the linux/amd64 image's out, publishing the layout as the pipeline's put does", func() {
	It("pushes the index unchanged, under source.tag and the additional tags", func() {
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			Skip("the linux/amd64 binaries need a linux/amd64 machine")
		}
		idx := pulled()
		img, err := resourceimage.PlatformImage(idx, v1.Platform{OS: "linux", Architecture: "amd64"})
		Expect(err).NotTo(HaveOccurred())
		rootfs := GinkgoT().TempDir()
		rc := mutate.Extract(img)
		defer rc.Close()
		extract(rc, rootfs)
		asContainer(rootfs)

		// What ci/tasks/build-image.yml leaves in its output "image".
		put := filepath.Join(rootfs, "tmp", "put")
		Expect(os.CopyFS(filepath.Join(put, "image", "layout"), os.DirFS(first.layout))).To(Succeed())
		Expect(os.WriteFile(filepath.Join(put, "image", "tags"), []byte("v9.8.7-published\n"), 0o644)).To(Succeed())

		req := map[string]any{
			"source": source("published"),
			"params": map[string]any{"image": "image/layout", "additional_tags": "image/tags"},
		}
		r := runInRootfs(rootfs, "/opt/resource/out", req, "/tmp/put")
		Expect(r.code).To(Equal(0), r.stderr)
		var resp struct {
			Version map[string]string `json:"version"`
		}
		Expect(json.Unmarshal([]byte(r.stdout), &resp)).To(Succeed(), r.stdout)
		Expect(resp.Version).To(HaveKeyWithValue("digest", digestOf(idx).String()))
		for _, tag := range []string{"published", "v9.8.7-published"} {
			ref, err := name.ParseReference(registry.Repo(repoName + ":" + tag))
			Expect(err).NotTo(HaveOccurred())
			desc, err := remote.Head(ref, registry.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			Expect(desc.Digest).To(Equal(digestOf(idx)), tag)
		}
	})
})
