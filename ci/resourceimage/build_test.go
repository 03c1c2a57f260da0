package resourceimage_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/ci/resourceimage"
)

var _ = Describe("building", func() {
	fake := resourceimage.Compiled{"check": "/nonexistent/check"}
	meta := resourceimage.Metadata{Version: "v1", Revision: "abc", Created: time.Unix(1, 0)}

	DescribeTable("rejects incomplete metadata, saying what to give",
		func(m resourceimage.Metadata, want string) {
			_, err := resourceimage.Image(resourceimage.Platforms[0], fake, m)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("no version", resourceimage.Metadata{Revision: "abc", Created: time.Unix(1, 0)}, "no version"),
		Entry("no revision", resourceimage.Metadata{Version: "v1", Created: time.Unix(1, 0)}, "no revision"),
		Entry("no time", resourceimage.Metadata{Version: "v1", Revision: "abc"}, "SOURCE_DATE_EPOCH"),
	)

	It("names a binary it cannot read", func() {
		_, err := resourceimage.Image(resourceimage.Platforms[0], fake, meta)
		Expect(err).To(MatchError(ContainSubstring("/nonexistent/check for /opt/resource/check")))
	})

	It("needs binaries for every platform", func() {
		_, err := resourceimage.Index(map[string]resourceimage.Compiled{"linux/amd64": fake}, meta)
		Expect(err).To(MatchError(ContainSubstring("no binaries for linux/arm64")))
	})

	It("refuses to write a layout over a non-empty directory", func() {
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)).To(Succeed())
		Expect(resourceimage.WriteLayout(dir, readLayout(first.layout), "v1")).To(MatchError(ContainSubstring("is not empty")))
	})

	It("writes the static files as the Dockerfile's build stage copies them", func() {
		dir := filepath.Join(GinkgoT().TempDir(), "static")
		cmd := exec.Command(imagebuild, "-C", moduleDir, "-static-files", dir)
		cmd.Stderr = GinkgoWriter
		Expect(cmd.Run()).To(Succeed())
		want := expectedFiles()
		var got []string
		Expect(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			Expect(err).NotTo(HaveOccurred())
			if p == dir {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			got = append(got, rel)
			f, ok := want[rel]
			Expect(ok).To(BeTrue(), "unexpected %s", rel)
			info, err := d.Info()
			Expect(err).NotTo(HaveOccurred())
			mode := int64(info.Mode().Perm())
			if info.Mode()&os.ModeSticky != 0 {
				mode |= 0o1000
			}
			Expect(mode).To(Equal(f.mode), rel)
			return nil
		})).To(Succeed())
		Expect(got).To(ConsistOf("etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt", "root", "tmp"))
	})

	DescribeTable("imagebuild rejects bad invocations with one line on stderr",
		func(want string, args ...string) {
			cmd := exec.Command(imagebuild, args...)
			cmd.Dir = moduleDir
			out, err := cmd.Output()
			Expect(err).To(HaveOccurred())
			Expect(out).To(BeEmpty())
			Expect(string(err.(*exec.ExitError).Stderr)).To(MatchRegexp(`^imagebuild: .*` + want + `.*\n$`))
		},
		Entry("no layout", "no -layout", "-version", "v1"),
		Entry("a stray argument", `unexpected argument "image"`, "image"),
		Entry("an unknown flag", `flag provided but not defined: -layuot`, "-layuot", "x"),
		Entry("a bad time", `parse creation time "yesterday"`, "-layout", "/tmp/never", "-version", "v1", "-revision", "abc", "-created", "yesterday"),
	)

	It("finds no image for a platform the index lacks", func() {
		_, err := resourceimage.PlatformImage(readLayout(first.layout), v1.Platform{OS: "linux", Architecture: "s390x"})
		Expect(err).To(MatchError(ContainSubstring("no image for linux/s390x")))
	})
})

var _ = Describe("imagebuild -published", func() {
	run := func(published, baseType string) (string, error) {
		dir := GinkgoT().TempDir()
		cmd := exec.Command(imagebuild, "-C", moduleDir, "-layout", filepath.Join(dir, "layout"), "-bin", filepath.Join(dir, "bin"),
			"-version", version, "-revision", revision, "-created", "1767225600", "-published", published, "-base-type", baseType)
		cmd.Env = append(os.Environ(), "REGISTRY=")
		var stderr strings.Builder
		cmd.Stderr = io.MultiWriter(&stderr, GinkgoWriter)
		err := cmd.Run()
		return stderr.String(), err
	}

	It("packs the base type of the published image when this commit rebuilds its digest, and refuses otherwise", func() {
		want := digestOf(pulled())
		bt := filepath.Join(GinkgoT().TempDir(), "bt")
		_, err := run(registry.Repo(repoName)+"@"+want.String(), bt)
		Expect(err).NotTo(HaveOccurred())
		ref, err := os.ReadFile(filepath.Join(bt, "image-reference"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(ref)).To(Equal(registry.Repo(repoName) + "@" + want.String() + "\n"))

		other := "sha256:" + strings.Repeat("0", 64)
		stderr, err := run(registry.Repo(repoName)+"@"+other, filepath.Join(GinkgoT().TempDir(), "bt"))
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("built index " + want.String() + ", but " + registry.Repo(repoName) + "@" + other + " was published"))
	})
})

var _ = Describe("the CA roots", func() {
	// imagebuild, built on go.ship.mod as make image builds it, writes the
	// static files of the real module (the spec above); here the shipped
	// set names other roots than those linked into it.
	It("are refused when the shipped set names other roots than the program links, saying how to build it", func() {
		dir := GinkgoT().TempDir()
		mod := "module m\n\ngo 1.26\n\nrequire golang.org/x/crypto/x509roots/fallback v0.0.0-20200101000000-000000000000\n"
		Expect(os.WriteFile(filepath.Join(dir, resourceimage.ShipModFile), []byte(mod), 0o644)).To(Succeed())
		cmd := exec.Command(imagebuild, "-C", dir, "-static-files", filepath.Join(dir, "static"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		Expect(cmd.Run()).NotTo(Succeed())
		Expect(stderr.String()).To(And(
			ContainSubstring("go.ship.mod ships \"v0.0.0-20200101000000-000000000000\""),
			ContainSubstring("build this program with -modfile=go.ship.mod")))
		Expect(filepath.Join(dir, "static")).NotTo(BeADirectory())
	})
})

var _ = Describe("make bin (imagebuild -binaries)", func() {
	It("writes exactly the image's executables for this machine, byte for byte as the image build compiled them", func() {
		host := runtime.GOOS + "-" + runtime.GOARCH
		built := filepath.Join(first.bin, host)
		if _, err := os.Stat(built); err != nil {
			Skip("the image has no " + host + " binaries to compare with")
		}
		dir := filepath.Join(GinkgoT().TempDir(), "bin")
		cmd := exec.Command(imagebuild, "-C", moduleDir, "-binaries", dir, "-version", version, "-revision", revision)
		cmd.Stderr = GinkgoWriter
		Expect(cmd.Run()).To(Succeed())
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		var want []string
		for _, b := range resourceimage.Binaries {
			want = append(want, b.Name)
			got, err := os.ReadFile(filepath.Join(dir, b.Name))
			Expect(err).NotTo(HaveOccurred())
			image, err := os.ReadFile(filepath.Join(built, b.Name))
			Expect(err).NotTo(HaveOccurred())
			Expect(bytes.Equal(got, image)).To(BeTrue(), "%s differs from the image's", b.Name)
		}
		Expect(names).To(ConsistOf(want))
	})
})
