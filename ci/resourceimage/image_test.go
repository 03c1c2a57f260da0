package resourceimage_test

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"io"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/refimage/refimage/ci/resourceimage"
)

// file is what a spec expects of one entry of an image's filesystem.
type file struct {
	mode int64 // permission and sticky bits, as in the tar header
	dir  bool
}

// expectedFiles is the image's whole file tree, written out literally so
// that a change to the image's contents has to be made here too.
func expectedFiles() map[string]file {
	return map[string]file{
		"etc":                               {0o755, true},
		"etc/group":                         {0o644, false},
		"etc/passwd":                        {0o644, false},
		"etc/ssl":                           {0o755, true},
		"etc/ssl/certs":                     {0o755, true},
		"etc/ssl/certs/ca-certificates.crt": {0o644, false},
		"opt":                               {0o755, true},
		"opt/resource":                      {0o755, true},
		"opt/resource/check":                {0o755, false},
		"opt/resource/in":                   {0o755, false},
		"opt/resource/out":                  {0o755, false},
		"root":                              {0o700, true},
		"tmp":                               {0o1777, true},
		"usr":                               {0o755, true},
		"usr/local":                         {0o755, true},
		"usr/local/bin":                     {0o755, true},
		"usr/local/bin/refimage":            {0o755, false},
	}
}

// pulled reads the index back from the registry by the tag the first build pushed.
func pulled() v1.ImageIndex {
	ref, err := name.ParseReference(registry.Repo(repoName + ":" + version))
	Expect(err).NotTo(HaveOccurred())
	idx, err := remote.Index(ref, registry.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	return idx
}

// filesOf reads img's flattened filesystem: headers by name, and contents.
func filesOf(img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	rc := mutate.Extract(img)
	defer rc.Close()
	headers, data := map[string]*tar.Header{}, map[string][]byte{}
	eachEntry(rc, func(h *tar.Header, body io.Reader) {
		n := strings.TrimSuffix(h.Name, "/")
		Expect(headers).NotTo(HaveKey(n), "duplicate entry")
		headers[n] = h
		var err error
		data[n], err = io.ReadAll(body)
		Expect(err).NotTo(HaveOccurred())
	})
	return headers, data
}

var _ = Describe("the image pushed to a registry with TLS and basic auth", func() {
	It("is the index written to the layout, and two builds of one commit give one digest", func() {
		want := digestOf(pulled())
		Expect(digestOf(readLayout(first.layout))).To(Equal(want))
		Expect(digestOf(readLayout(second.layout))).To(Equal(want))
		Expect(first.stdout).To(ContainSubstring("index " + want.String()))
		Expect(second.stdout).To(ContainSubstring("index " + want.String()))
		Expect(first.stdout).To(ContainSubstring("pushed " + registry.Repo(repoName) + "@" + want.String()))

		for _, tag := range []string{"again", "latest"} {
			ref, err := name.ParseReference(registry.Repo(repoName + ":" + tag))
			Expect(err).NotTo(HaveOccurred())
			desc, err := remote.Head(ref, registry.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			Expect(desc.Digest).To(Equal(want), tag)
		}
	})

	It("is an OCI index of linux/amd64 and linux/arm64, annotated from the commit", func() {
		idx := pulled()
		m, err := idx.IndexManifest()
		Expect(err).NotTo(HaveOccurred())
		Expect(m.MediaType).To(Equal(types.OCIImageIndex))
		Expect(m.Annotations).To(Equal(wantAnnotations()))
		Expect(m.Manifests).To(HaveLen(2))
		for i, p := range []string{"linux/amd64", "linux/arm64"} {
			Expect(m.Manifests[i].Platform.String()).To(Equal(p))
			Expect(m.Manifests[i].MediaType).To(Equal(types.OCIManifestSchema1))
			Expect(m.Manifests[i].Annotations).To(Equal(wantAnnotations()))
		}
	})

	DescribeTable("each platform's image",
		func(arch string, machine elf.Machine) {
			img, err := resourceimage.PlatformImage(pulled(), v1.Platform{OS: "linux", Architecture: arch})
			Expect(err).NotTo(HaveOccurred())

			By("its manifest and config")
			m, err := img.Manifest()
			Expect(err).NotTo(HaveOccurred())
			Expect(m.Annotations).To(Equal(wantAnnotations()))
			Expect(m.Config.MediaType).To(Equal(types.OCIConfigJSON))
			Expect(m.Layers).To(HaveLen(2))
			for _, l := range m.Layers {
				Expect(l.MediaType).To(Equal(types.OCILayer))
			}
			cf, err := img.ConfigFile()
			Expect(err).NotTo(HaveOccurred())
			Expect(cf.OS).To(Equal("linux"))
			Expect(cf.Architecture).To(Equal(arch))
			Expect(cf.Created.Time.Equal(created)).To(BeTrue(), "created %s", cf.Created)
			Expect(cf.Config.Labels).To(Equal(map[string]string{"io.github.refimage.produces": "registry-image"}))
			Expect(cf.Config.Env).To(Equal([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}))
			Expect(cf.Config.Entrypoint).To(BeEmpty())
			Expect(cf.History).To(HaveLen(2))
			for _, h := range cf.History {
				Expect(h.Created.Time.Equal(created)).To(BeTrue())
			}

			By("every file, its mode, owner and time")
			headers, data := filesOf(img)
			want := expectedFiles()
			Expect(headers).To(HaveLen(len(want)))
			for n, f := range want {
				h, ok := headers[n]
				Expect(ok).To(BeTrue(), "missing %s", n)
				Expect(h.Mode).To(Equal(f.mode), n)
				Expect(h.Typeflag == tar.TypeDir).To(Equal(f.dir), n)
				Expect([]int{h.Uid, h.Gid}).To(Equal([]int{0, 0}), n)
				Expect(h.ModTime.Equal(created)).To(BeTrue(), "%s mtime %s", n, h.ModTime)
			}

			By("static, stripped binaries for the platform, stamped with the version")
			for n, f := range want {
				if f.dir || !(strings.HasPrefix(n, "opt/resource/") || strings.HasPrefix(n, "usr/local/bin/")) {
					continue
				}
				e, err := elf.NewFile(bytes.NewReader(data[n]))
				Expect(err).NotTo(HaveOccurred(), n)
				Expect(e.Machine).To(Equal(machine), n)
				for _, p := range e.Progs {
					Expect(p.Type).NotTo(Equal(elf.PT_INTERP), "%s is dynamically linked", n)
				}
				Expect(e.Section(".symtab")).To(BeNil(), "%s has a symbol table", n)
				Expect(e.Section(".debug_info")).To(BeNil(), "%s has DWARF", n)
				Expect(bytes.Contains(data[n], []byte(version))).To(BeTrue(), "%s carries no version stamp", n)
			}

			By("the CA bundle and users")
			certs := parseCerts(data["etc/ssl/certs/ca-certificates.crt"])
			Expect(len(certs)).To(BeNumerically(">", 100))
			for _, c := range certs {
				Expect(c.IsCA).To(BeTrue(), c.Subject.String())
			}
			Expect(string(data["etc/passwd"])).To(HavePrefix("root:x:0:0:"))
			Expect(string(data["etc/group"])).To(HavePrefix("root:x:0:"))
		},
		Entry("linux/amd64", "amd64", elf.EM_X86_64),
		Entry("linux/arm64", "arm64", elf.EM_AARCH64),
	)

	It("shares the platform-independent layer between platforms", func() {
		idx := pulled()
		var bases []v1.Hash
		for _, p := range resourceimage.Platforms {
			img, err := resourceimage.PlatformImage(idx, p)
			Expect(err).NotTo(HaveOccurred())
			m, err := img.Manifest()
			Expect(err).NotTo(HaveOccurred())
			bases = append(bases, m.Layers[0].Digest)
		}
		Expect(bases[0]).To(Equal(bases[1]))
	})
})

func wantAnnotations() map[string]string {
	return map[string]string{
		"org.opencontainers.image.source":   "https://github.com/refimage/refimage",
		"org.opencontainers.image.revision": revision,
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.created":  "2026-01-01T00:00:00Z",
	}
}

func digestOf(idx v1.ImageIndex) v1.Hash {
	d, err := idx.Digest()
	Expect(err).NotTo(HaveOccurred())
	return d
}

func readLayout(dir string) v1.ImageIndex {
	idx, err := resourceimage.ReadLayout(dir)
	Expect(err).NotTo(HaveOccurred())
	return idx
}

func parseCerts(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		out = append(out, c)
	}
	Expect(bytes.TrimSpace(b)).To(BeEmpty(), "trailing bytes after the last certificate")
	return out
}
