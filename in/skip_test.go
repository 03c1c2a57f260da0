package in_test

import (
	"regexp"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
)

// The content of a file that a later layer replaces or deletes is not
// written. These specs extract each layer stack twice, in process: once
// with every later layer's tar stream known in advance (so that the skip
// applies wherever it may), once strictly layer by layer with no skip; the
// two trees must be equal, file by file, and the skip must have happened
// exactly where it is safe.
var _ = Describe("files that later layers replace", func() {
	var repo string

	BeforeEach(func() {
		repo = newFakeRegistry().repo("skip")
	})

	// extract runs a full download in process and returns the rootfs and
	// the number of files whose content was skipped.
	extract := func(digest string, opts ...in.Option) (string, int) {
		rootfs, log, err := extractInProcess(repo, digest, opts...)
		Expect(err).NotTo(HaveOccurred(), log)
		skipped := 0
		for _, m := range skipLine.FindAllStringSubmatch(log, -1) {
			n, _ := strconv.Atoi(m[1])
			skipped += n
		}
		return rootfs, skipped
	}

	DescribeTable("gives the tree a strict layer by layer extraction gives",
		func(wantSkipped int, stack ...[]imagetest.Entry) {
			Expect(len(stack)).To(BeNumerically("<=", in.SpoolsAhead), "every later layer is known")
			layers := make([]v1.Layer, len(stack))
			for i, entries := range stack {
				layers[i] = layer(imagetest.Gzip, entries...)
			}
			digest := push(repo, "latest", image(layers...))

			strict, none := extract(digest, in.WithoutSkip())
			Expect(none).To(BeZero())
			skipping, skipped := extract(digest, in.WithSpoolsFirst())
			Expect(describe(skipping)).To(Equal(describe(strict)))
			Expect(skipped).To(Equal(wantSkipped))
		},
		Entry("a file replaced by a file", 1,
			files(dir("a"), file("a/f", "one"), file("a/g", "kept")),
			files(file("a/f", "two"))),
		Entry("a file replaced by a directory, and a directory by a file", 2,
			files(file("a/f", "one"), dir("a/d"), file("a/d/x", "under a directory")),
			files(dir("a/f"), file("a/f/y", "new"), file("a/d", "a file now"))),
		Entry("a whiteout, then the file recreated", 2,
			files(file("a/f", "one"), file("a/g", "two")),
			files(imagetest.Whiteout("a/f"), imagetest.Whiteout("a")),
			files(file("a/f", "three"))),
		Entry("an opaque parent", 2,
			files(file("a/f", "one"), file("a/b/g", "two"), file("c/h", "kept")),
			files(imagetest.Opaque("a"), file("a/new", "new"))),
		Entry("a whiteout after the layer's own entries, which survive it as the applier keeps them", 0,
			files(file("a/f", "one")),
			files(file("a/g", "new"), imagetest.Whiteout("a"))),
		Entry("a whiteout through a symlinked directory, after an entry that wrote below it", 0,
			files(dir("usr/lib"), symlink("lib", "usr/lib"), file("usr/lib/foo/old", "one")),
			files(file("lib/foo/bar", "new"), imagetest.Whiteout("usr/lib/foo"))),
		// Only the file written into the directory goes: the symlink that
		// replaces the directory deletes it.
		Entry("a symlinked parent swapped to a directory and back", 1,
			files(dir("real"), symlink("a", "/real"), file("a/f", "one")),
			files(dir("a")),
			files(file("a/f", "in the directory")),
			files(symlink("a", "/real"))),
		Entry("a directory swapped to a symlink: the file goes with the directory", 1,
			files(dir("other"), file("a/f", "one")),
			files(symlink("a", "/other")),
			files(file("a/f", "through the link"))),
		Entry("a hard link in a later layer made before the file is replaced", 0,
			files(file("a/f", "one")),
			files(imagetest.Hardlink("a/keep", "a/f"), file("a/f", "two"))),
		Entry("a hard link in a later layer made after the file is replaced", 1,
			files(file("a/f", "one")),
			files(file("a/f", "two")),
			files(imagetest.Hardlink("a/keep", "a/f"))),
		Entry("a hard link through a symlink, in the layer that replaces the file", 0,
			files(symlink("s", "/a"), file("a/f", "one")),
			files(imagetest.Hardlink("x", "s/f"), file("a/f", "two"))),
		Entry("a hard link in the file's own layer", 0,
			files(file("a/f", "one"), imagetest.Hardlink("a/g", "a/f")),
			files(file("a/f", "two"))),
		Entry("a file replaced through a symlink to its directory is written", 0,
			files(file("a/f", "one"), symlink("s", "a")),
			files(file("s/f", "two"))),
		Entry("a device in a later layer replaces nothing", 0,
			files(file("a/f", "one")),
			files(imagetest.CharDevice("a/f", 1, 3))),
	)

	It("skips at most what the stack replaces, with the lower layers applied as they stream", func() {
		digest := push(repo, "latest", image(
			layer(imagetest.Gzip, file("a/f", "one"), file("a/g", "kept")),
			layer(imagetest.Gzip, file("a/f", "two")),
		))
		strict, _ := extract(digest, in.WithoutSkip())
		streaming, skipped := extract(digest)
		Expect(describe(streaming)).To(Equal(describe(strict)))
		Expect(skipped).To(BeNumerically("<=", 1))
	})
})

var skipLine = regexp.MustCompile(`skipped the content of (\d+) files`)

func files(entries ...imagetest.Entry) []imagetest.Entry { return entries }

var (
	file    = imagetest.File
	dir     = imagetest.Dir
	symlink = imagetest.Symlink
)
