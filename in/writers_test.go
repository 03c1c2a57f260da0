package in_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
)

// New files are written by goroutines beside the applier. These specs
// extract each layer stack twice, in process: once with every entry
// applied in order on one goroutine, once with the writers; the trees must
// be equal, file by file, or both extractions fail with the same error.
var _ = Describe("files written beside the applier", func() {
	var repo string

	BeforeEach(func() {
		repo = newFakeRegistry().repo("writers")
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

	// agree extracts the stack both ways and returns the in-order error.
	agree := func(stack ...[]imagetest.Entry) error {
		digest := pushStack(stack)
		inOrder, orderErr := extract(digest, in.WithEntriesInOrder())
		beside, err := extract(digest)
		if orderErr != nil {
			Expect(err).To(MatchError(orderErr.Error()))
			return orderErr
		}
		Expect(err).NotTo(HaveOccurred())
		Expect(beside).To(Equal(inOrder))
		return nil
	}

	DescribeTable("gives the tree an in-order application gives",
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
		Entry("a directory replaced by a file while files are written beside it", "",
			files(dir("a"), dir("b"), file("b/x", "one")),
			files(file("a/f", "new"), file("b", "a file now"), file("a/g", "after"))),
		Entry("a file replacing a lower layer's file, and new ones around it", "",
			files(dir("a"), file("a/f", "lower")),
			files(file("a/e", "new"), file("a/f", "upper"), file("a/g", "new"))),
		Entry("a lower layer's symlink replaced by a file, then a path through it", `extract "s/f"`,
			files(dir("a"), symlink("s", "a")),
			files(file("s", "a file now"), file("s/f", "through a file"))),
	)

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

	DescribeTable("copies contents of every size from the layer's stream",
		func(opts ...in.Option) {
			rng := rand.New(rand.NewPCG(1, 2))
			entries := files(dir("a"), dir("a/b"))
			for i, size := range []int{0, 1, 511, 512, 513, 64 << 10, 1 << 20, 3<<20 + 7, 200 << 10, 5} {
				content := make([]byte, size)
				for k := range content {
					content[k] = byte(rng.Uint32())
				}
				entries = append(entries, file(fmt.Sprintf("a/%s/f%02d", []string{"", "b"}[i%2], i), string(content)))
			}
			digest := pushStack([][]imagetest.Entry{entries})
			inOrder, err := extract(digest, in.WithEntriesInOrder())
			Expect(err).NotTo(HaveOccurred())
			Expect(extract(digest, opts...)).To(Equal(inOrder))
		},
		Entry("in the kernel (copy_file_range)"),
		Entry("through user space, where the kernel refuses", in.WithoutCopyRange()),
	)

	It("reports a file a writer failed to write as that file's, the first in layer order", func() {
		digest := pushStack([][]imagetest.Entry{files(dir("a"),
			file("a/1", "1"), file("a/2", "2"), file("a/3", "3"), file("a/4", "4"), file("a/5", "5"))})
		injected := errors.New("injected failure")
		_, err := extract(digest, in.WithWriteFault(func(name string) error {
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
			out = append(out, file(p, fmt.Sprintf("%s #%d", p, i)))
		case k < 15:
			out = append(out, dir(p))
		case k < 17:
			out = append(out, symlink(p, pick(targets)))
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
