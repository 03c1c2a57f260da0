package out_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

var _ = Describe("params.image", func() {
	for _, fl := range flavours {
		Context("on "+fl.Name, func() {
			var (
				reg  = fl.Start
				dir  string
				repo string
				src  map[string]any
			)
			BeforeEach(func() {
				r := reg()
				dir = inputs()
				repo = freshRepo(r)
				src = r.Source(repo)
				src["tag"] = "latest"
			})

			It("pushes a Docker image tarball found by a glob, with the image's own digest", func() {
				img := randomImage()
				writeTarball(dir, "build/image.tar", img)
				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "build/*.tar"}})
				Expect(r.code).To(Equal(0))
				Expect(r.resp.Version.Tag).To(Equal("latest"))
				Expect(r.resp.Version.Digest).To(Equal(digestOf(img)))
				Expect(remoteDigest(reg(), repo+":latest")).To(Equal(digestOf(img)))
			})

			It("pushes the single image of an OCI layout, as it is", func() {
				img := randomImage()
				writeLayoutImage(dir, "oci", img)
				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "oci"}})
				Expect(r.code).To(Equal(0))
				Expect(r.resp.Version.Digest).To(Equal(digestOf(img)))
				Expect(remoteDigest(reg(), repo+":latest")).To(Equal(digestOf(img)))
			})

			It("pushes a multi-arch OCI layout as an index whose digest is the layout's", func() {
				l, err := imagetest.Layer(imagetest.Gzip, imagetest.File("etc/os", "multi"))
				Expect(err).NotTo(HaveOccurred())
				idx, err := imagetest.MultiArch(imagetest.Spec{Layers: []v1.Layer{l}},
					v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
				Expect(err).NotTo(HaveOccurred())
				writeLayoutIndex(dir, "oci", idx)
				onDisk, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
				Expect(err).NotTo(HaveOccurred())

				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "oci"}})
				Expect(r.code).To(Equal(0))
				Expect(r.resp.Version.Digest).To(Equal(digestOf(onDisk)))
				Expect(remoteDigest(reg(), repo+":latest")).To(Equal(digestOf(onDisk)))
				im, err := idx.IndexManifest()
				Expect(err).NotTo(HaveOccurred())
				for _, d := range im.Manifests {
					Expect(remoteDigest(reg(), repo+"@"+d.Digest.String())).To(Equal(d.Digest.String()))
				}
			})

			It("pushes an OCI layout archived in a tar, as buildx's oci output writes it", func() {
				idx, err := imagetest.MultiArch(imagetest.Spec{}, v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
				Expect(err).NotTo(HaveOccurred())
				staging := GinkgoT().TempDir()
				writeLayoutIndex(staging, "oci", idx)
				tarDir(filepath.Join(staging, "oci"), filepath.Join(dir, "image.tar"))
				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "image.tar"}})
				Expect(r.code).To(Equal(0))
				Expect(r.resp.Version.Digest).To(Equal(digestOf(idx)))
				Expect(remoteDigest(reg(), repo+":latest")).To(Equal(digestOf(idx)))
			})

			It("pushes a nested index listed alone in index.json as that index", func() {
				idx, err := imagetest.MultiArch(imagetest.Spec{}, v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "s390x"})
				Expect(err).NotTo(HaveOccurred())
				p, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
				Expect(err).NotTo(HaveOccurred())
				Expect(p.AppendIndex(idx)).To(Succeed())
				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "oci"}})
				Expect(r.code).To(Equal(0))
				Expect(r.resp.Version.Digest).To(Equal(digestOf(idx)))
			})

			It("pushes the image a single-image-digest marker names (registry-image's in writes one)", func() {
				img, other := randomImage(), randomImage()
				writeLayoutImage(dir, "oci", img)
				p, err := layout.FromPath(filepath.Join(dir, "oci"))
				Expect(err).NotTo(HaveOccurred())
				Expect(p.AppendImage(other)).To(Succeed())
				Expect(os.WriteFile(filepath.Join(dir, "oci", "single-image-digest"), []byte(digestOf(img)), 0o644)).To(Succeed())
				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "oci"}})
				Expect(r.code).To(Equal(0))
				Expect(r.resp.Version.Digest).To(Equal(digestOf(img)))
			})
		})
	}

	Context("bad input", func() {
		var (
			reg *registrytest.Registry
			dir string
			src map[string]any
		)
		BeforeEach(func() {
			reg = registrytest.NewInProcess()
			DeferCleanup(reg.Close)
			dir = inputs()
			src = reg.Source(freshRepo(reg))
			src["tag"] = "latest"
		})
		put := func(image string) result {
			return runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": image}})
		}
		expectNothingPushed := func() {
			GinkgoHelper()
			expectNoRepository(reg, src["repository"].(string))
		}

		It("needs the inputs directory as its argument", func() {
			body, err := json.Marshal(map[string]any{"source": src, "params": map[string]any{"image": "image.tar"}})
			Expect(err).NotTo(HaveOccurred())
			cmd := exec.Command(outBin)
			cmd.Stdin = bytes.NewReader(body)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			Expect(cmd.Run()).To(HaveOccurred())
			expectFailure(result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}, "out needs the directory of the put's inputs")
		})

		It("names the pattern when nothing matches", func() {
			expectFailure(put("build/*.tar"), `nothing matches "build/*.tar"`)
			expectNothingPushed()
		})

		It("names the pattern and every match when several match", func() {
			writeTarball(dir, "a.tar", randomImage())
			writeTarball(dir, "b.tar", randomImage())
			expectFailure(put("*.tar"), `"*.tar" matches 2 paths (a.tar, b.tar)`)
			expectNothingPushed()
		})

		It("refuses source.content_trust before any push, in one line, printing none of its keys", func() {
			writeTarball(dir, "image.tar", randomImage())
			src["content_trust"] = map[string]any{"server": "https://notary.example", "repository_key_id": "id",
				"repository_key": "KEY-ct-123", "repository_passphrase": "PASS-ct-456"}
			r := put("image.tar")
			expectFailure(r, "source.content_trust", "Notary v1 signing is not supported")
			Expect(r.stderr).NotTo(Or(ContainSubstring("KEY-ct-123"), ContainSubstring("PASS-ct-456")))
			Expect(strings.Count(strings.TrimSpace(r.stderr), "\n")).To(Equal(0), "one line: %s", r.stderr)
			expectNothingPushed()
		})

		It("rejects a malformed glob", func() {
			expectFailure(put("image[.tar"), `"image[.tar" is not a valid glob pattern`)
		})

		It("rejects a file that is not a tarball", func() {
			Expect(os.WriteFile(filepath.Join(dir, "image.tar"), []byte("not a tar at all"), 0o644)).To(Succeed())
			expectFailure(put("image.tar"), "load params.image image.tar", "not a readable image tarball")
			expectNothingPushed()
		})

		It("rejects a truncated tarball", func() {
			writeTarball(dir, "image.tar", randomImage())
			path := filepath.Join(dir, "image.tar")
			info, err := os.Stat(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(os.Truncate(path, info.Size()/2)).To(Succeed())
			expectFailure(put("image.tar"), "load params.image image.tar")
			expectNothingPushed()
		})

		It("rejects a directory that is not an OCI layout", func() {
			Expect(os.MkdirAll(filepath.Join(dir, "rootfs", "etc"), 0o755)).To(Succeed())
			expectFailure(put("rootfs"), "not an OCI image layout (no index.json)")
		})

		It("rejects a layer blob whose bytes do not match its digest, and pushes no tag", func() {
			reg := shared.Plain
			src := reg.Source(freshRepo(reg))
			src["tag"] = "latest"
			img := randomImage()
			writeLayoutImage(dir, "oci", img)
			layers, err := img.Layers()
			Expect(err).NotTo(HaveOccurred())
			d, err := layers[0].Digest()
			Expect(err).NotTo(HaveOccurred())
			blob := filepath.Join(dir, "oci", "blobs", "sha256", d.Hex)
			data, err := os.ReadFile(blob)
			Expect(err).NotTo(HaveOccurred())
			data[len(data)/2] ^= 0xff
			Expect(os.WriteFile(blob, data, 0o644)).To(Succeed())
			r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "oci"}})
			expectFailure(r, "DIGEST_INVALID", "the image on disk is corrupt", "no tag was pushed (latest)")
			repo, err := name.NewRepository(src["repository"].(string))
			Expect(err).NotTo(HaveOccurred())
			_, err = remote.Head(repo.Tag("latest"), reg.RemoteOptions()...)
			Expect(err).To(HaveOccurred())
		})

		It("rejects an OCI layout whose manifest blob is missing", func() {
			img := randomImage()
			writeLayoutImage(dir, "oci", img)
			d := digestOf(img)
			Expect(os.Remove(filepath.Join(dir, "oci", "blobs", "sha256", d[len("sha256:"):]))).To(Succeed())
			expectFailure(put("oci"), "load params.image oci")
			expectNothingPushed()
		})
	})
})
