package in_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("format rootfs", func() {
	var reg *fakeRegistry
	var repo string

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
	})

	// get pushes an image of layers and runs a full download of it.
	get := func(layers ...v1.Layer) result {
		digest := push(repo, "latest", image(layers...))
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": true},
			Version: resource.Version{Tag: "latest", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		return res
	}
	rootfs := func(res result, p string) string { return filepath.Join(res.dest, "rootfs", p) }
	lstat := func(p string) os.FileInfo {
		fi, err := os.Lstat(p)
		Expect(err).NotTo(HaveOccurred())
		return fi
	}

	DescribeTable("reads layers by their content, not their media type",
		func(l v1.Layer) {
			res := get(l)
			Expect(res.file("rootfs/etc/hello")).To(Equal("hi"))
		},
		Entry("gzip", layer(imagetest.Gzip, imagetest.Dir("etc"), imagetest.File("etc/hello", "hi"))),
		Entry("zstd", layer(imagetest.Zstd, imagetest.Dir("etc"), imagetest.File("etc/hello", "hi"))),
		Entry("uncompressed", layer(imagetest.Uncompressed, imagetest.Dir("etc"), imagetest.File("etc/hello", "hi"))),
		Entry("zstd labelled gzip", imagetest.Relabel(layer(imagetest.Zstd, imagetest.File("etc/hello", "hi")), types.OCILayer)),
		Entry("uncompressed labelled gzip", imagetest.Relabel(layer(imagetest.Uncompressed, imagetest.File("etc/hello", "hi")), types.DockerLayer)),
	)

	It("writes the files, metadata.json, labels.json and the version files", func() {
		img := imagetest.MustImage(imagetest.Spec{
			Layers:     []v1.Layer{layer(imagetest.Gzip, imagetest.File("a", "1"))},
			Env:        []string{"A=1"},
			User:       "app",
			Entrypoint: []string{"/bin/app"},
			Cmd:        []string{"serve"},
			Labels:     map[string]string{"team": "core"},
		})
		digest := push(repo, "v1", img)
		res := runIn(request{Source: map[string]any{"repository": repo}, Version: resource.Version{Tag: "v1", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(tree(res.dest)).To(ConsistOf("rootfs", "rootfs/a", "metadata.json", "labels.json", "repository", "tag", "digest"))
		Expect(res.file("metadata.json")).To(MatchJSON(`{"env":["A=1"],"user":"app","entrypoint":["/bin/app"],"cmd":["serve"]}`))
		Expect(res.file("labels.json")).To(MatchJSON(`{"team":"core"}`))
		Expect(res.file("tag")).To(Equal("v1"))
		Expect(res.file("digest")).To(Equal(digest))
		Expect(res.file("repository")).To(Equal(repo))
		Expect(res.response().Version).To(Equal(resource.Version{Tag: "v1", Digest: digest}))
	})

	It("writes labels.json as {} for an image without labels", func() {
		res := get(layer(imagetest.Gzip, imagetest.File("a", "1")))
		var labels map[string]string
		Expect(json.Unmarshal([]byte(res.file("labels.json")), &labels)).To(Succeed())
		Expect(labels).To(BeEmpty())
	})

	It("applies whiteouts, and never to entries of the same layer", func() {
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("a"), imagetest.File("a/gone", "x"), imagetest.File("a/kept", "x"), imagetest.Dir("d"), imagetest.File("d/f", "x")),
			layer(imagetest.Gzip, imagetest.Whiteout("a/gone"), imagetest.Whiteout("d"),
				imagetest.File("same", "layer"), imagetest.Whiteout("same")),
		)
		Expect(tree(filepath.Join(res.dest, "rootfs"))).To(ConsistOf("a", "a/kept", "same"))
	})

	It("forgets the mode of a directory a later layer deleted", func() {
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("d").WithMode(0o500)),
			layer(imagetest.Gzip, imagetest.Whiteout("d")),
			layer(imagetest.Gzip, imagetest.File("d/f", "implicit parent")),
		)
		Expect(lstat(rootfs(res, "d")).Mode().Perm()).To(Equal(os.FileMode(0o755)))
	})

	It("empties an opaque directory of lower layers, keeping its mode and owner and this layer's files", func() {
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("x").WithMode(0o750).WithOwner(7, 8), imagetest.File("x/old", "1"), imagetest.Dir("x/sub"), imagetest.File("x/sub/old", "1")),
			layer(imagetest.Gzip, imagetest.File("x/new", "2"), imagetest.Opaque("x"), imagetest.Opaque("missing/dir")),
		)
		Expect(tree(filepath.Join(res.dest, "rootfs/x"))).To(ConsistOf("new"))
		fi := lstat(rootfs(res, "x"))
		Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o750)))
		if os.Geteuid() == 0 {
			Expect(fi.Sys().(*syscall.Stat_t).Uid).To(BeEquivalentTo(7))
		}
	})

	It("keeps extracting the layer after a whiteout below a regular file", func() {
		res := get(
			layer(imagetest.Gzip, imagetest.File("f", "file")),
			layer(imagetest.Gzip, imagetest.Whiteout("f/x"), imagetest.File("after", "yes")),
		)
		Expect(res.file("rootfs/after")).To(Equal("yes"))
		Expect(res.file("rootfs/f")).To(Equal("file"))
	})

	It("writes symlinks as given, hard links as links, and replaces across layers", func() {
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("bin"), imagetest.File("bin/busybox", "bb"),
				imagetest.Symlink("bin/sh", "/bin/busybox"), imagetest.Symlink("rel", "bin/busybox"),
				imagetest.Hardlink("bin/ls", "bin/busybox"), imagetest.File("bin/replaced", "old"), imagetest.Dir("dir2file")),
			layer(imagetest.Gzip, imagetest.File("bin/replaced", "new"), imagetest.File("dir2file", "now a file"),
				imagetest.Symlink("bin/replaced-link", "replaced")),
		)
		target, err := os.Readlink(rootfs(res, "bin/sh"))
		Expect(err).NotTo(HaveOccurred())
		Expect(target).To(Equal("/bin/busybox"))
		Expect(res.file("rootfs/rel")).To(Equal("bb"))
		Expect(os.SameFile(lstat(rootfs(res, "bin/ls")), lstat(rootfs(res, "bin/busybox")))).To(BeTrue())
		Expect(res.file("rootfs/bin/replaced")).To(Equal("new"))
		Expect(res.file("rootfs/dir2file")).To(Equal("now a file"))
	})

	It("writes through an absolute symlink as rooted at the destination", func() {
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("usr"), imagetest.Dir("usr/lib"), imagetest.Symlink("lib", "/usr/lib")),
			layer(imagetest.Gzip, imagetest.File("lib/libc.so", "c")),
		)
		Expect(res.file("rootfs/usr/lib/libc.so")).To(Equal("c"))
	})

	It("keeps modes, special bits, mtimes and, as root, ownership; skips devices; makes fifos", func() {
		mtime := time.Date(2020, 2, 3, 4, 5, 6, 123456789, time.UTC)
		res := get(layer(imagetest.Gzip,
			imagetest.Dir("ro").WithMode(0o555).WithModTime(mtime),
			imagetest.File("ro/suid", "x").WithMode(0o4755).WithOwner(1000, 1001).WithModTime(mtime),
			imagetest.File("private", "x").WithMode(0o600),
			imagetest.CharDevice("dev-null", 1, 3),
			imagetest.BlockDevice("sda", 8, 0),
			imagetest.Fifo("pipe").WithModTime(mtime),
			imagetest.Symlink("link", "ro/suid").WithModTime(mtime.Add(time.Hour)),
		), layer(imagetest.Gzip, imagetest.File("ro/later", "written into a read-only directory")))
		suid := lstat(rootfs(res, "ro/suid"))
		Expect(suid.Mode() & (os.ModePerm | os.ModeSetuid)).To(Equal(os.ModeSetuid | 0o755))
		Expect(suid.ModTime().Equal(mtime)).To(BeTrue())
		Expect(lstat(rootfs(res, "private")).Mode().Perm()).To(Equal(os.FileMode(0o600)))
		ro := lstat(rootfs(res, "ro"))
		Expect(ro.Mode().Perm()).To(Equal(os.FileMode(0o555)))
		Expect(ro.ModTime().Equal(mtime)).To(BeTrue(), "directory mtimes are set after their content")
		Expect(res.file("rootfs/ro/later")).To(HavePrefix("written"))
		if os.Geteuid() == 0 {
			st := suid.Sys().(*syscall.Stat_t)
			Expect([]uint32{st.Uid, st.Gid}).To(Equal([]uint32{1000, 1001}))
		}
		Expect(rootfs(res, "dev-null")).NotTo(BeAnExistingFile())
		Expect(rootfs(res, "sda")).NotTo(BeAnExistingFile())
		Expect(lstat(rootfs(res, "pipe")).Mode().Type()).To(Equal(os.ModeNamedPipe))
		Expect(lstat(rootfs(res, "pipe")).ModTime().Equal(mtime)).To(BeTrue())
		Expect(lstat(rootfs(res, "link")).ModTime().Equal(mtime.Add(time.Hour))).To(BeTrue(), "a symlink's own mtime")
		Expect(lstat(rootfs(res, "ro/suid")).ModTime().Equal(mtime)).To(BeTrue(), "not its target's")
	})

	It("as root, gives files their xattrs and rootfs/ its root entry, and warns on stderr of an xattr the filesystem refuses", func() {
		if os.Geteuid() != 0 {
			Skip("security.* xattrs and owners need root")
		}
		mtime := time.Date(2021, 5, 5, 5, 5, 5, 123456789, time.UTC)
		res := get(layer(imagetest.Gzip,
			imagetest.Dir("./").WithMode(0o750).WithOwner(7, 8).WithModTime(mtime),
			imagetest.File("ping", "elf").WithMode(0o755).WithXattr("security.capability", netRawCapability),
			imagetest.File("odd", "x").WithXattr("unknown.k", "v"),
		))
		Expect(xattrs(rootfs(res, "ping"))).To(Equal([]string{fmt.Sprintf("security.capability=%q", netRawCapability)}))
		Expect(res.file("rootfs/odd")).To(Equal("x"))
		Expect(res.stderr).To(ContainSubstring("warning: odd: xattr unknown.k left out: operation not supported"))
		root := lstat(rootfs(res, "."))
		Expect(root.Mode().Perm()).To(Equal(os.FileMode(0o750)))
		Expect(root.ModTime().Equal(mtime)).To(BeTrue(), "%s", root.ModTime())
		st := root.Sys().(*syscall.Stat_t)
		Expect([]uint32{st.Uid, st.Gid}).To(Equal([]uint32{7, 8}))
	})

	// asNobody runs a full download of digest as user nobody into dest, a
	// directory below base; prepare may put things in dest first.
	asNobody := func(digest string, prepare func(dest string)) result {
		if os.Geteuid() != 0 {
			Skip("needs root to start the binary as another user")
		}
		base, err := os.MkdirTemp("", "in-nonroot-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, base)
		Expect(os.Chmod(base, 0o777)).To(Succeed())
		// gexec's build directory is private to root.
		bin, err := os.ReadFile(inBin)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(base, "in"), bin, 0o755)).To(Succeed())
		dest := filepath.Join(base, "dest")
		Expect(os.Mkdir(dest, 0o777)).To(Succeed())
		Expect(os.Chmod(dest, 0o777)).To(Succeed())
		if prepare != nil {
			prepare(dest)
		}
		return runAs(filepath.Join(base, "in"), &syscall.Credential{Uid: 65534, Gid: 65534}, dest,
			request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": true},
				Version: resource.Version{Tag: "latest", Digest: digest}})
	}

	It("as a non-root user, fills read-only directories and leaves ownership alone", func() {
		res := asNobody(push(repo, "latest", image(
			layer(imagetest.Gzip, imagetest.Dir("ro").WithMode(0o555), imagetest.File("ro/a", "1").WithOwner(1000, 1000)),
			layer(imagetest.Gzip, imagetest.File("ro/b", "2"), imagetest.Opaque("ro"), imagetest.File("tmp/x", "y")),
		)), nil)
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(tree(rootfs(res, "ro"))).To(ConsistOf("b"))
		Expect(lstat(rootfs(res, "ro")).Mode().Perm()).To(Equal(os.FileMode(0o555)))
		Expect(lstat(rootfs(res, "ro/b")).Sys().(*syscall.Stat_t).Uid).To(BeEquivalentTo(65534))
	})

	It("as a non-root user, leaves no rootfs with read-only directories behind when a late step fails", func() {
		digest := push(repo, "latest", image(
			layer(imagetest.Gzip, imagetest.Dir("ro").WithMode(0o555), imagetest.Dir("ro/sub").WithMode(0o555), imagetest.File("ro/sub/a", "1")),
		))
		// metadata.json, written after the last layer, cannot be: a
		// directory is in its way.
		res := asNobody(digest, func(dest string) {
			Expect(os.Mkdir(filepath.Join(dest, "metadata.json"), 0o777)).To(Succeed())
		})
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		Expect(lines[len(lines)-1]).To(And(ContainSubstring("write metadata.json"), HaveSuffix("is a directory")))
		Expect(tree(res.dest)).To(BeEmpty(), res.stderr)
	})

	It("resolves a path through a symlink afresh once a name it went through exists", func() {
		// x -> m/../y reads as y while m is missing, and as a/y once m is
		// a symlink to a/b: a file below x goes where x leads at its time.
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("a"), imagetest.Dir("a/b"), imagetest.Symlink("x", "m/../y"), imagetest.File("x/f", "1")),
			layer(imagetest.Gzip, imagetest.Symlink("m", "a/b"), imagetest.File("x/g", "2")),
		)
		Expect(res.file("rootfs/y/f")).To(Equal("1"))
		Expect(res.file("rootfs/a/y/g")).To(Equal("2"))
		Expect(rootfs(res, "y/g")).NotTo(BeAnExistingFile())
	})

	It("gives a directory declared again by a later layer that layer's owner", func() {
		if os.Geteuid() != 0 {
			Skip("ownership is restored only as root")
		}
		res := get(
			layer(imagetest.Gzip, imagetest.Dir("d").WithOwner(7, 7), imagetest.File("d/f", "1").WithOwner(7, 7)),
			layer(imagetest.Gzip, imagetest.Dir("d"), imagetest.File("d/f", "2")),
		)
		Expect(lstat(rootfs(res, "d")).Sys().(*syscall.Stat_t).Uid).To(BeEquivalentTo(0))
		Expect(lstat(rootfs(res, "d/f")).Sys().(*syscall.Stat_t).Uid).To(BeEquivalentTo(0))
	})

	It("picks the image of params.platform from an index", func() {
		mk := func(arch string) v1.Image {
			return imagetest.MustImage(imagetest.Spec{
				Layers:   []v1.Layer{layer(imagetest.Gzip, imagetest.File("arch", arch))},
				Platform: &v1.Platform{OS: "linux", Architecture: arch},
			})
		}
		idx, err := imagetest.Index(imagetest.IndexEntry{Image: mk("amd64")}, imagetest.IndexEntry{Image: mk("arm64")})
		Expect(err).NotTo(HaveOccurred())
		digest, err := imagetest.PushIndex(repo+":multi", idx)
		Expect(err).NotTo(HaveOccurred())
		res := runIn(request{Source: map[string]any{"repository": repo},
			Params:  map[string]any{"platform": map[string]any{"os": "linux", "architecture": "arm64"}},
			Version: resource.Version{Tag: "multi", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.file("rootfs/arch")).To(Equal("arm64"))
		Expect(res.file("digest")).To(Equal(digest))
	})
})
