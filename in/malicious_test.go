package in_test

import (
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

// Each layer set tries to reach sandbox/outside from sandbox/dest/rootfs.
var _ = Describe("malicious layers", func() {
	var reg *fakeRegistry
	var sandbox, outside, canary string

	BeforeEach(func() {
		reg = newFakeRegistry()
		sandbox = GinkgoT().TempDir()
		outside = filepath.Join(sandbox, "outside")
		canary = filepath.Join(outside, "canary")
		Expect(os.Mkdir(outside, 0o755)).To(Succeed())
		Expect(os.WriteFile(canary, []byte("safe"), 0o644)).To(Succeed())
	})

	f := imagetest.File
	DescribeTable("cannot create, overwrite, link to or delete anything outside the destination",
		func(layers func(outside string) [][]imagetest.Entry, wantErr string) {
			var ls []v1.Layer
			for _, entries := range layers(outside) {
				ls = append(ls, layer(imagetest.Gzip, entries...))
			}
			repo := reg.repo("evil")
			digest := push(repo, "latest", image(ls...))
			dest := filepath.Join(sandbox, "dest")
			res := runInto(dest, request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": true},
				Version: resource.Version{Tag: "latest", Digest: digest}})

			if wantErr == "" {
				Expect(res.code).To(Equal(0), res.stderr)
			} else {
				Expect(res.code).NotTo(Equal(0))
				Expect(res.stdout).To(BeEmpty())
				Expect(res.stderr).To(ContainSubstring(wantErr))
				Expect(filepath.Join(dest, "digest")).NotTo(BeAnExistingFile(), "a failed get writes no version")
			}
			entries, err := os.ReadDir(sandbox)
			Expect(err).NotTo(HaveOccurred())
			names := []string{}
			for _, e := range entries {
				names = append(names, e.Name())
			}
			Expect(names).To(ConsistOf("dest", "outside"))
			entries, err = os.ReadDir(outside)
			Expect(err).NotTo(HaveOccurred())
			Expect(entries).To(HaveLen(1))
			content, err := os.ReadFile(canary)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(content)).To(Equal("safe"))
			fi, err := os.Lstat(canary)
			Expect(err).NotTo(HaveOccurred())
			Expect(fi.Sys().(*syscall.Stat_t).Nlink).To(BeEquivalentTo(1), "no hard link to the canary")
			Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o644)))
		},
		Entry("a path climbing out with ..", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{f("../../outside/pwned", "x")}}
		}, `contains ".."`),
		Entry("a path climbing out with .. in the middle", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{f("a/../../../outside/canary", "pwned")}}
		}, `contains ".."`),
		Entry("an absolute path, read as rooted at the destination", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{f(filepath.Join(o, "canary"), "pwned"), f("/etc/passwd", "root")}}
		}, ""),
		Entry("a relative symlink out, written through in the same layer", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("up", "../../outside"), f("up/canary", "pwned"), f("up/new", "x")}}
		}, ""),
		Entry("an absolute symlink planted by an earlier layer, written through later", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("link", o)}, {f("link/canary", "pwned"), imagetest.Dir("link/newdir")}}
		}, ""),
		Entry("a chain of symlinks out", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("a", "b"), imagetest.Symlink("b", "c/.."), imagetest.Symlink("c", "/../../.."+o)}, {f("a/canary", "pwned")}}
		}, ""),
		Entry("a symlink to the canary, replaced by a file", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("c", filepath.Join(o, "canary"))}, {f("c", "pwned")}}
		}, ""),
		Entry("a symlink to the canary, chmodded by a directory entry", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("c", filepath.Join(o, "canary"))}, {imagetest.Dir("c").WithMode(0o777)}}
		}, ""),
		Entry("a hard link climbing out with ..", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Hardlink("h", "../../outside/canary")}}
		}, `contains ".."`),
		Entry("a hard link to an absolute path", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Hardlink("h", filepath.Join(o, "canary"))}}
		}, "hard link to"),
		Entry("a hard link through a planted symlink", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("l", o)}, {imagetest.Hardlink("h", "l/canary")}}
		}, "hard link to"),
		Entry("a whiteout climbing out with ..", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{f("x", "x")}, {imagetest.Whiteout("../../outside/canary")}}
		}, `contains ".."`),
		Entry("a whiteout named ..", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{f("x", "x")}, {f(".wh...", "")}}
		}, "whiteout names no file"),
		Entry("a whiteout through a planted symlink", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("l", o)}, {imagetest.Whiteout("l/canary")}}
		}, ""),
		Entry("an opaque marker through a planted symlink", func(o string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("l", o)}, {imagetest.Opaque("l")}}
		}, ""),
		Entry("an opaque marker aimed outside with ..", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{f("x", "x")}, {imagetest.Opaque("../../outside")}}
		}, `contains ".."`),
		Entry("a symlink loop", func(string) [][]imagetest.Entry {
			return [][]imagetest.Entry{{imagetest.Symlink("a", "b"), imagetest.Symlink("b", "a")}, {f("a/x", "x")}}
		}, "resolve"),
	)
})
