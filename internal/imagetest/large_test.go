package imagetest_test

import (
	"archive/tar"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Large", func() {
	// Small enough to keep the suite quick, big enough that every file size
	// band and content kind shows up.
	const total, layers = 24 << 20, 3

	It("is deterministic for a seed and differs across seeds", func() {
		a := must(imagetest.Large(total, layers, 7))
		b := must(imagetest.Large(total, layers, 7))
		c := must(imagetest.Large(total, layers, 8))
		Expect(a.Digest()).To(Equal(must(b.Digest())))
		Expect(a.Digest()).NotTo(Equal(must(c.Digest())))
	})

	It("hits its uncompressed size within 5%, and gzip does some work", func() {
		img := must(imagetest.Large(total, layers, 7))
		ls, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(ls).To(HaveLen(layers))

		var uncompressed, compressed int64
		for _, l := range ls {
			u, files := streamLength(l)
			Expect(files).To(BeNumerically(">", 20), "many files per layer")
			uncompressed += u
			raw := compressedBytes(l)
			Expect(hasPrefix(gzipMagic)(raw)).To(BeTrue())
			Expect(l.Size()).To(Equal(int64(len(raw))))
			Expect(l.Digest()).To(Equal(sha256Of(raw)))
			compressed += int64(len(raw))
		}
		Expect(uncompressed).To(BeNumerically("~", total, total/20))
		Expect(compressed).To(BeNumerically("<", uncompressed*8/10))
		Expect(compressed).To(BeNumerically(">", uncompressed*3/10))
	})

	It("regenerates the same bytes on every read", func() {
		l := must(must(imagetest.Large(1<<20, 1, 3)).Layers())[0]
		Expect(sha256Of(compressedBytes(l))).To(Equal(must(l.Digest())))
		Expect(sha256Of(compressedBytes(l))).To(Equal(must(l.Digest())))
	})

	DescribeTable("rejects sizes it cannot lay out",
		func(total int64, layers int, message string) {
			_, err := imagetest.Large(total, layers, 1)
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("no layers", int64(1<<20), 0, "need at least one layer"),
		Entry("too small per layer", int64(1<<10), 2, "need at least"),
	)
})

// streamLength counts the uncompressed tar stream of l and its files
// without holding the stream.
func streamLength(l v1.Layer) (length int64, files int) {
	rc, err := l.Uncompressed()
	Expect(err).NotTo(HaveOccurred())
	defer rc.Close()
	counter := &countingReader{r: rc}
	entries := 0
	tr := tar.NewReader(counter)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		entries++
	}
	_, err = io.Copy(io.Discard, counter) // the trailer
	Expect(err).NotTo(HaveOccurred())
	return counter.n, entries
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkLarge measures building the benchmark-sized image (200 MiB in
// 5 layers) and reports its compressed size. Run with
// go test -run '^$' -bench Large ./internal/imagetest/
func BenchmarkLarge(b *testing.B) {
	const total, layers = 200 << 20, 5
	var compressed int64
	for b.Loop() {
		img, err := imagetest.Large(total, layers, 1)
		if err != nil {
			b.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			b.Fatal(err)
		}
		compressed = 0
		for _, l := range ls {
			size, err := l.Size()
			if err != nil {
				b.Fatal(err)
			}
			compressed += size
		}
	}
	b.ReportMetric(float64(compressed)/(1<<20), "compressed-MiB")
	b.ReportMetric(float64(total)/(1<<20), "uncompressed-MiB")
}
