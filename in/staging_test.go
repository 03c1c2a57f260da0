package in_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
)

// Regular files are staged by the decoders, several layers at once, and
// renamed into place by the applier. These specs extract each layer stack
// twice, in process: once strictly layer by layer, every file written by
// the applier from the raw tar stream as it applies the entry, and once
// staged; the trees must be equal, file by file, or both extractions fail
// with the same error.
var _ = Describe("files staged by the decoders", func() {
	var repo string

	BeforeEach(func() {
		repo = newFakeRegistry().repo("staging")
	})

	// extract runs a full download in process and returns what the rootfs
	// holds, or the error.
	extract := func(digest string, opts ...in.Option) ([]string, error) {
		rootfs, _, err := extractInProcess(repo, digest, opts...)
		if err != nil {
			Expect(rootfs).NotTo(BeAnExistingFile(), "a failed step leaves no rootfs")
			return nil, err
		}
		return describe(rootfs), nil
	}

	pushStack := func(stack [][]imagetest.Entry) string {
		layers := make([]v1.Layer, len(stack))
		for i, entries := range stack {
			layers[i] = layer(imagetest.Gzip, entries...)
		}
		return push(repo, "latest", image(layers...))
	}

	// agreeOn extracts the image both ways and returns the in-order error.
	agreeOn := func(digest string) error {
		inOrder, orderErr := extract(digest, in.WithoutStaging())
		staged, err := extract(digest)
		if orderErr != nil {
			Expect(err).To(MatchError(orderErr.Error()))
			return orderErr
		}
		Expect(err).NotTo(HaveOccurred())
		Expect(staged).To(Equal(inOrder))
		return nil
	}
	agree := func(stack ...[]imagetest.Entry) error { return agreeOn(pushStack(stack)) }

	DescribeTable("gives the tree a strict layer by layer extraction gives",
		func(wantErr string, stack ...[]imagetest.Entry) {
			err := agree(stack...)
			if wantErr == "" {
				Expect(err).NotTo(HaveOccurred())
			} else {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
			}
		},
		Entry("the same file twice in a layer: the second wins", "",
			files(dir("a"), file("a/f", "one"), file("a/g", "other"), file("a/f", "two"))),
		Entry("a file, then a directory of the same name", "",
			files(dir("a"), file("a/f", "one"), dir("a/f"), file("a/f/g", "below"))),
		Entry("a directory with files, then a file of the same name", "",
			files(dir("a"), dir("a/d"), file("a/d/x", "one"), file("a/d", "now a file"))),
		Entry("a file, then an entry below it", `extract "a/f/g"`,
			files(dir("a"), file("a/f", "one"), file("a/f/g", "below a file"))),
		Entry("a file, then a hard link to it", "",
			files(dir("a"), file("a/f", "one"), imagetest.Hardlink("a/g", "a/f"))),
		Entry("a file, then its own whiteout, which it survives", "",
			files(dir("a"), file("a/f", "one"), imagetest.Whiteout("a/f"))),
		Entry("files, then an opaque marker of their directory in a later layer", "",
			files(dir("a"), file("a/f", "one"), file("a/g", "two")),
			files(imagetest.Opaque("a"), file("a/h", "three"))),
		Entry("files through a symlinked directory, then the symlink replaced", "",
			files(dir("real"), symlink("s", "real"), file("s/f", "one"), file("s/g", "two"), dir("s"), file("s/h", "three"))),
		Entry("a directory replaced by a file between files staged beside it", "",
			files(dir("a"), dir("b"), file("b/x", "one")),
			files(file("a/f", "new"), file("b", "a file now"), file("a/g", "after"))),
		Entry("a file replacing a lower layer's file, and new ones around it", "",
			files(dir("a"), file("a/f", "lower")),
			files(file("a/e", "new"), file("a/f", "upper"), file("a/g", "new"))),
		Entry("sub-second mtimes, owners and xattrs on every kind of entry, and the root entry", "",
			files(imagetest.Dir("./").WithMode(0o750).WithOwner(1, 2).WithModTime(subSecond).WithXattr("user.root", "r"),
				dir("a").WithModTime(subSecond.Add(1)).WithOwner(3, 4).WithXattr("trusted.d", "d"),
				file("a/f", "one").WithModTime(subSecond.Add(2)).WithOwner(5, 6).WithXattr("user.f", "f"),
				file("a/g", strings.Repeat("g", 200<<10)).WithModTime(subSecond.Add(3)).WithXattr("security.capability", netRawCapability),
				symlink("a/l", "f").WithModTime(subSecond.Add(4)).WithOwner(7, 8).WithXattr("trusted.l", "l").WithXattr("user.refused", "x"),
				imagetest.Fifo("a/p").WithModTime(subSecond.Add(5)).WithXattr("trusted.p", "p")),
			files(dir("a").WithModTime(subSecond.Add(6)).WithXattr("user.again", "2"), file("a/f", "two").WithModTime(subSecond.Add(7)))),
		Entry("a file replaced by a file in a later layer", "",
			files(dir("a"), file("a/f", "one"), file("a/g", "kept")),
			files(file("a/f", "two"))),
		Entry("a file replaced by a directory, and a directory by a file", "",
			files(file("a/f", "one"), dir("a/d"), file("a/d/x", "under a directory")),
			files(dir("a/f"), file("a/f/y", "new"), file("a/d", "a file now"))),
		Entry("a whiteout, then the file recreated", "",
			files(file("a/f", "one"), file("a/g", "two")),
			files(imagetest.Whiteout("a/f"), imagetest.Whiteout("a")),
			files(file("a/f", "three"))),
		Entry("an opaque parent", "",
			files(file("a/f", "one"), file("a/b/g", "two"), file("c/h", "kept")),
			files(imagetest.Opaque("a"), file("a/new", "new"))),
		Entry("a whiteout after the layer's own entries, which survive it", "",
			files(file("a/f", "one")),
			files(file("a/g", "new"), imagetest.Whiteout("a"))),
		Entry("a whiteout through a symlinked directory, after an entry that wrote below it", "",
			files(dir("usr/lib"), symlink("lib", "usr/lib"), file("usr/lib/foo/old", "one")),
			files(file("lib/foo/bar", "new"), imagetest.Whiteout("usr/lib/foo"))),
		Entry("a symlinked parent swapped to a directory and back", "",
			files(dir("real"), symlink("a", "/real"), file("a/f", "one")),
			files(dir("a")),
			files(file("a/f", "in the directory")),
			files(symlink("a", "/real"))),
		Entry("a directory swapped to a symlink: the file goes with the directory", "",
			files(dir("other"), file("a/f", "one")),
			files(symlink("a", "/other")),
			files(file("a/f", "through the link"))),
		Entry("a hard link in a later layer made before the file is replaced", "",
			files(file("a/f", "one")),
			files(imagetest.Hardlink("a/keep", "a/f"), file("a/f", "two"))),
		Entry("a hard link through a symlink, in the layer that replaces the file", "",
			files(symlink("s", "/a"), file("a/f", "one")),
			files(imagetest.Hardlink("x", "s/f"), file("a/f", "two"))),
		Entry("a hard link in the file's own layer, the file replaced later", "",
			files(file("a/f", "one"), imagetest.Hardlink("a/g", "a/f")),
			files(file("a/f", "two"))),
		Entry("a file replaced through a symlink to its directory", "",
			files(file("a/f", "one"), symlink("s", "a")),
			files(file("s/f", "two"))),
		Entry("a device in a later layer, which is skipped and replaces nothing", "",
			files(file("a/f", "one")),
			files(imagetest.CharDevice("a/f", 1, 3))),
		Entry("a lower layer's symlink replaced by a file, then a path through it", `extract "s/f"`,
			files(dir("a"), symlink("s", "a")),
			files(file("s", "a file now"), file("s/f", "through a file"))),
	)

	It("fails a stream that ends inside a file's content as an in-order application does", func() {
		stream, err := imagetest.TarBytes(dir("a"), file("a/e", "before"), file("a/f", strings.Repeat("x", 5000)))
		Expect(err).NotTo(HaveOccurred())
		cut, err := imagetest.RawTarLayer(stream[:3072], imagetest.Gzip)
		Expect(err).NotTo(HaveOccurred())
		Expect(agreeOn(push(repo, "latest", image(cut)))).To(MatchError(ContainSubstring(`extract "a/f": write: unexpected EOF`)))
	})

	It("agrees with more directories than the applier keeps open", func() {
		// Every directory is visited twice, so that the directories held
		// open are closed and opened again while files are being written.
		var entries []imagetest.Entry
		for pass := range 2 {
			for d := range 300 {
				if pass == 0 {
					entries = append(entries, dir(fmt.Sprintf("d%03d", d)))
				}
				entries = append(entries, file(fmt.Sprintf("d%03d/f%d", d, pass), "x"))
			}
		}
		Expect(agree(entries)).To(Succeed())
	})

	It("agrees on random layer stacks", func() {
		for seed := range uint64(40) {
			rng := rand.New(rand.NewPCG(seed, 7))
			stack := make([][]imagetest.Entry, 1+rng.IntN(3))
			for i := range stack {
				stack[i] = randomLayer(rng, 4+rng.IntN(14))
			}
			By(fmt.Sprintf("seed %d", seed))
			_ = agree(stack...)
		}
	})

	It("agrees on random stacks that apply without errors, with files large enough to stage while earlier ones are applied", func() {
		compared := 0
		for seed := range uint64(30) {
			rng := rand.New(rand.NewPCG(seed, 11))
			By(fmt.Sprintf("seed %d", seed))
			if err := agree(plausibleStack(rng, 2+rng.IntN(3))...); err == nil {
				compared++
			} else {
				GinkgoWriter.Println(err)
			}
		}
		Expect(compared).To(BeNumerically(">=", 25), "most stacks apply, so their trees are compared")
	})

	It("stages contents of every size, and names that need PAX headers", func() {
		rng := rand.New(rand.NewPCG(1, 2))
		entries := files(dir("a"), dir("a/b"))
		for i, size := range []int{0, 1, 511, 512, 513, 64 << 10, 1 << 20, 3<<20 + 7, 200 << 10, 5} {
			content := make([]byte, size)
			for k := range content {
				content[k] = byte(rng.Uint32())
			}
			entries = append(entries, file(fmt.Sprintf("a/%s/f%02d", []string{"", "b"}[i%2], i), string(content)))
		}
		// Names too long or too wide for a plain header come with PAX
		// headers before their own: the content still starts right
		// after the entry's header.
		entries = append(entries, file("a/b/"+strings.Repeat("long-name-", 20), "after a PAX header"),
			file("a/b/ünïcödé-"+strings.Repeat("é", 60), strings.Repeat("z", 70000)))
		Expect(agreeOn(pushStack([][]imagetest.Entry{entries}))).To(Succeed())
	})

	It("reports a file a decoder failed to stage as that file's, the first in layer order", func() {
		digest := pushStack([][]imagetest.Entry{files(dir("a"),
			file("a/1", "1"), file("a/2", "2"), file("a/3", "3"), file("a/4", "4"), file("a/5", "5"))})
		injected := errors.New("injected failure")
		_, err := extract(digest, in.WithStageFault(func(name string) error {
			if name == "a/2" || name == "a/4" {
				return injected
			}
			return nil
		}))
		Expect(err).To(MatchError(injected))
		Expect(err).To(MatchError(ContainSubstring(`extract "a/2": injected failure`)))
		Expect(err.Error()).NotTo(ContainSubstring(`"a/4"`))
	})
})

// withMetadata gives e what a runtime must keep beside its content: a
// sub-second mtime always, and at random an owner and xattrs (user.* ones
// on a symlink are refused, with a warning, on both ways alike).
func withMetadata(rng *rand.Rand, e imagetest.Entry) imagetest.Entry {
	e = e.WithModTime(time.Date(2021, 5, 5, 5, 5, 5, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(1000 * time.Hour)))))
	if rng.IntN(3) == 0 {
		e = e.WithOwner(rng.IntN(3)*1000, rng.IntN(3)*1000)
	}
	if rng.IntN(3) == 0 {
		e = e.WithXattr([]string{"user.a", "trusted.b"}[rng.IntN(2)], fmt.Sprint(rng.IntN(100)))
	}
	return e
}

// subSecond is an mtime with every digit of its nanoseconds set.
var subSecond = time.Date(2021, 5, 5, 5, 5, 5, 123456789, time.UTC)

// netRawCapability is security.capability's value for cap_net_raw,
// effective and permitted (VFS_CAP_REVISION_2).
var netRawCapability = string([]byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

// randomLayer draws entries over a few paths that collide with each other
// and reach through each other as directories and symlinks.
func randomLayer(rng *rand.Rand, n int) []imagetest.Entry {
	paths := []string{"a", "a/b", "a/b/c", "a/f", "a/g", "s", "s/f", "s/b/g", "d", "d/x", "d/y", "x"}
	targets := []string{"a", "/a/b", "d", "missing", "s", "a/f"}
	pick := func(from []string) string { return from[rng.IntN(len(from))] }
	var out []imagetest.Entry
	for i := range n {
		p := pick(paths)
		switch k := rng.IntN(20); {
		case k < 11:
			out = append(out, withMetadata(rng, file(p, fmt.Sprintf("%s #%d", p, i))))
		case k < 15:
			out = append(out, withMetadata(rng, dir(p)))
		case k < 17:
			out = append(out, withMetadata(rng, symlink(p, pick(targets))))
		case k < 18:
			out = append(out, imagetest.Hardlink(p, pick(paths)))
		case k < 19:
			out = append(out, imagetest.Whiteout(p))
		default:
			out = append(out, imagetest.Opaque(strings.Split(p, "/")[0]))
		}
	}
	return out
}

// plausibleStack draws layers that mostly apply without errors: files at
// the leaves of a fixed tree, some large, directories declared again,
// whiteouts and opaque markers of what lower layers wrote, symlinks at
// their own names, and hard links to files already there.
func plausibleStack(rng *rand.Rand, n int) [][]imagetest.Entry {
	var stack [][]imagetest.Entry
	dirs := []string{"d0", "d1", "d2", "d0/s0", "d0/s1", "d1/s0", "d2/s0"}
	var written []string // files that lower entries wrote and none removed
	for layerN := range n {
		var entries []imagetest.Entry
		// Markers first: they hide lower layers only.
		for range rng.IntN(3) {
			if layerN == 0 || len(written) == 0 {
				break
			}
			if rng.IntN(3) == 0 {
				d := dirs[rng.IntN(len(dirs))]
				entries = append(entries, imagetest.Opaque(d))
				written = slices.DeleteFunc(written, func(p string) bool { return strings.HasPrefix(p, d+"/") })
				continue
			}
			victim := written[rng.IntN(len(written))]
			entries = append(entries, imagetest.Whiteout(victim))
			written = slices.DeleteFunc(written, func(p string) bool { return p == victim })
		}
		for _, d := range dirs {
			if rng.IntN(3) > 0 {
				entries = append(entries, withMetadata(rng, dir(d)))
			}
		}
		for i := range 10 + rng.IntN(30) {
			switch k := rng.IntN(20); {
			case k < 16 || len(written) == 0:
				p := fmt.Sprintf("%s/f%d", dirs[rng.IntN(len(dirs))], rng.IntN(12))
				size := rng.IntN(2 << 10)
				if rng.IntN(8) == 0 {
					size = 100<<10 + rng.IntN(400<<10)
				}
				content := make([]byte, size)
				for k := range content {
					content[k] = byte('a' + rng.IntN(26))
				}
				entries = append(entries, withMetadata(rng, file(p, string(content))))
				if !slices.Contains(written, p) {
					written = append(written, p)
				}
			case k < 18:
				target := written[rng.IntN(len(written))]
				link := fmt.Sprintf("%s/h%d-%d", path.Dir(target), layerN, i)
				entries = append(entries, imagetest.Hardlink(link, target))
				written = append(written, link)
			default:
				entries = append(entries, withMetadata(rng, symlink(fmt.Sprintf("l%d-%d", layerN, i), dirs[rng.IntN(len(dirs))])))
			}
		}
		stack = append(stack, entries)
	}
	return stack
}

func files(entries ...imagetest.Entry) []imagetest.Entry { return entries }

var (
	file    = imagetest.File
	dir     = imagetest.Dir
	symlink = imagetest.Symlink
)
