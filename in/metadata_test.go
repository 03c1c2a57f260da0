package in_test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
)

// Metadata as container runtimes apply it: mtimes to the nanosecond, owners,
// xattrs from PAX records, and the layer's root entry on rootfs/ itself.
// Each spec extracts in process both ways: strictly layer by layer, the
// applier writing every file, and with files staged by the decoders.
var _ = Describe("entry metadata", func() {
	var repo string
	BeforeEach(func() {
		if os.Geteuid() != 0 {
			Skip("owners, security.* and trusted.* xattrs need root")
		}
		repo = newFakeRegistry().repo("metadata")
	})
	ns, netRaw := subSecond, netRawCapability

	extract := func(opts []in.Option, entries ...[]imagetest.Entry) (string, string) {
		layers := make([]v1.Layer, 0, len(entries))
		for _, e := range entries {
			layers = append(layers, layer(imagetest.Gzip, e...))
		}
		digest := push(repo, "latest", image(layers...))
		rootfs, log, err := extractInProcess(repo, digest, opts...)
		Expect(err).NotTo(HaveOccurred(), log)
		return rootfs, log
	}
	lstat := func(p string) (os.FileInfo, *syscall.Stat_t) {
		fi, err := os.Lstat(p)
		Expect(err).NotTo(HaveOccurred())
		return fi, fi.Sys().(*syscall.Stat_t)
	}
	mtimeOf := func(st *syscall.Stat_t) time.Time { return time.Unix(st.Mtim.Unix()).UTC() }
	both := []TableEntry{
		Entry("with files staged by the decoders", []in.Option(nil)),
		Entry("with every file written by the applier, in order", []in.Option{in.WithoutStaging()}),
	}

	// A setgid directory passes its group to what is created in it: the
	// rootfs and the staging directories must not, or every entry the
	// layer gives this process's own group would keep dest's instead.
	DescribeTable("gives entries the layer's group under a setgid destination",
		func(opts []in.Option) {
			digest := push(repo, "latest", image(layer(imagetest.Gzip,
				dir("d"), file("d/f", "x"), file("top", "y"), imagetest.Symlink("l", "top"), file("p/q/f", "below parents the layer does not list"))))
			dest := GinkgoT().TempDir()
			Expect(os.Chown(dest, 0, 4242)).To(Succeed())
			Expect(os.Chmod(dest, os.ModeSetgid|0o775)).To(Succeed())
			rootfs, log, err := extractInto(dest, repo, digest, opts...)
			Expect(err).NotTo(HaveOccurred(), log)
			for _, p := range []string{"d", "d/f", "top", "l", "p", "p/q", "p/q/f"} {
				_, st := lstat(filepath.Join(rootfs, p))
				Expect(st.Gid).To(BeZero(), p)
			}
		},
		both,
	)

	DescribeTable("sets mtimes to the nanosecond on files, directories, symlinks, fifos and hard links",
		func(opts []in.Option) {
			rootfs, _ := extract(opts, files(
				imagetest.Dir("d").WithModTime(ns.Add(1)),
				imagetest.File("d/f", "x").WithModTime(ns),
				imagetest.File("big", strings.Repeat("y", 300<<10)).WithModTime(ns.Add(7)),
				imagetest.Symlink("l", "d/f").WithModTime(ns.Add(2)),
				imagetest.Fifo("p").WithModTime(ns.Add(3)),
				imagetest.Hardlink("h", "d/f"),
				imagetest.Dir("old").WithModTime(time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)),
			))
			for p, want := range map[string]time.Time{"d": ns.Add(1), "d/f": ns, "big": ns.Add(7), "l": ns.Add(2),
				"p": ns.Add(3), "h": ns, "old": time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)} {
				_, st := lstat(filepath.Join(rootfs, p))
				Expect(mtimeOf(st)).To(Equal(want), p)
			}
		},
		both,
	)

	DescribeTable("sets xattrs from SCHILY.xattr PAX records, after the owner, so that file capabilities survive chown",
		func(opts []in.Option) {
			rootfs, log := extract(opts, files(
				imagetest.Dir("bin").WithXattr("user.dir", "d").WithXattr("trusted.dir", "t"),
				imagetest.File("bin/ping", "elf").WithMode(0o755).WithOwner(1000, 1001).
					WithXattr("security.capability", netRaw).WithXattr("user.note", "ping"),
				imagetest.File("bin/big", strings.Repeat("z", 300<<10)).WithXattr("trusted.big", "b"),
				imagetest.Symlink("bin/p", "ping").WithXattr("trusted.link", "l"),
				imagetest.Fifo("pipe").WithXattr("trusted.fifo", "f"),
			))
			Expect(xattrs(filepath.Join(rootfs, "bin"))).To(Equal([]string{`trusted.dir="t"`, `user.dir="d"`}))
			Expect(xattrs(filepath.Join(rootfs, "bin/ping"))).To(Equal([]string{
				fmt.Sprintf("security.capability=%q", netRaw), `user.note="ping"`}))
			Expect(xattrs(filepath.Join(rootfs, "bin/big"))).To(Equal([]string{`trusted.big="b"`}))
			Expect(xattrs(filepath.Join(rootfs, "bin/p"))).To(Equal([]string{`trusted.link="l"`}), "the link's own, not its target's")
			Expect(xattrs(filepath.Join(rootfs, "pipe"))).To(Equal([]string{`trusted.fifo="f"`}))
			_, st := lstat(filepath.Join(rootfs, "bin/ping"))
			Expect([]uint32{st.Uid, st.Gid}).To(Equal([]uint32{1000, 1001}))
			Expect(log).NotTo(ContainSubstring("level=warning"))
		},
		both,
	)

	DescribeTable("leaves out, with a warning and no failure, the xattrs the filesystem refuses",
		func(opts []in.Option) {
			rootfs, log := extract(opts, files(
				// ext4 knows no "unknown." namespace (ENOTSUP), and user.*
				// xattrs exist on files and directories only (EPERM).
				imagetest.File("a", "1").WithXattr("unknown.k", "v").WithXattr("user.kept", "yes"),
				imagetest.File("b", "2").WithXattr("unknown.k", "v"),
				imagetest.File("c", "3").WithXattr("unknown.k", "v"),
				imagetest.Symlink("l", "a").WithXattr("user.k", "v").WithXattr("trusted.kept", "yes"),
			))
			Expect(xattrs(filepath.Join(rootfs, "a"))).To(Equal([]string{`user.kept="yes"`}))
			Expect(xattrs(filepath.Join(rootfs, "l"))).To(Equal([]string{`trusted.kept="yes"`}))
			Expect(os.ReadFile(filepath.Join(rootfs, "c"))).To(Equal([]byte("3")))
			warnings := linesWith(log, "level=warning")
			Expect(warnings).To(HaveLen(3), log)
			Expect(warnings[0] + warnings[1]).To(And(
				MatchRegexp(`: xattr unknown\.k left out: operation not supported`),
				MatchRegexp(`l: xattr user\.k left out: operation not permitted`)))
			Expect(warnings[2]).To(ContainSubstring("2 more xattrs left out for the reasons above"))
		},
		both,
	)

	DescribeTable("fails, naming the entry, on an xattr the kernel rejects for another reason",
		func(opts []in.Option) {
			digest := push(repo, "latest", image(layer(imagetest.Gzip,
				imagetest.File("bin/ping", "elf").WithXattr("security.capability", "not a capability"))))
			_, _, err := extractInProcess(repo, digest, opts...)
			Expect(err).To(MatchError(ContainSubstring(`extract "bin/ping": set the xattr security.capability: invalid argument`)))
		},
		both,
	)

	DescribeTable("applies the layer's root entry ./ to rootfs/ itself: mode, owner, mtime and xattrs, the last layer's winning",
		func(opts []in.Option) {
			root := imagetest.Dir("./").WithMode(0o750).WithOwner(7, 8).WithModTime(ns).WithXattr("user.root", "r")
			rootfs, _ := extract(opts,
				files(imagetest.Dir("./").WithMode(0o700).WithModTime(ns.Add(-time.Hour)), imagetest.File("a", "1")),
				files(imagetest.File("b", "2"), root, imagetest.File("c", "3")),
			)
			fi, st := lstat(rootfs)
			Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o750)))
			Expect([]uint32{st.Uid, st.Gid}).To(Equal([]uint32{7, 8}))
			Expect(mtimeOf(st)).To(Equal(ns), "set after every file below it")
			Expect(xattrs(rootfs)).To(Equal([]string{`user.root="r"`}))
		},
		both,
	)
})

// linesWith are the lines of log that contain s.
func linesWith(log, s string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// extractionStart is before any extraction of the suite: a time after it
// was set by the extraction (a directory no entry declares), not by a layer.
var extractionStart = time.Now()

// describe lists every entry of a tree with its type, mode, link count,
// owner, mtime to the nanosecond, xattrs, and content or link target.
func describe(root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		mtime := time.Unix(st.Mtim.Unix()).UTC().Format(time.RFC3339Nano)
		if fi.ModTime().After(extractionStart) {
			mtime = "at extraction"
		}
		line := fmt.Sprintf("%s %v nlink=%d owner=%d:%d mtime=%s xattrs=%v", rel, fi.Mode(), st.Nlink, st.Uid, st.Gid, mtime, xattrs(p))
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(b) > 64 {
				line += fmt.Sprintf(" %d bytes, sha256 %x", len(b), sha256.Sum256(b))
			} else {
				line += fmt.Sprintf(" %q", b)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	Expect(err).NotTo(HaveOccurred())
	return out
}

// xattrs lists p's extended attributes (p itself, not a symlink's
// target) as name="value", sorted.
func xattrs(p string) []string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 64<<10)
		k, err := unix.Lgetxattr(p, name, v)
		Expect(err).NotTo(HaveOccurred())
		out = append(out, fmt.Sprintf("%s=%q", name, v[:k]))
	}
	sort.Strings(out)
	return out
}
