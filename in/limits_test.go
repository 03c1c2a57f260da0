package in_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

// Layers that cannot escape but could exhaust the machine: each must fail
// the step early, with a clear error, and write no version.
var _ = Describe("layers built to exhaust resources", func() {
	var reg *fakeRegistry
	BeforeEach(func() { reg = newFakeRegistry() })

	get := func(ls ...v1.Layer) result {
		repo := reg.repo("exhaust")
		digest := push(repo, "latest", image(ls...))
		dest := filepath.Join(GinkgoT().TempDir(), "dest")
		res := runInto(dest, request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": true},
			Version: resource.Version{Tag: "latest", Digest: digest}})
		if res.code != 0 {
			Expect(filepath.Join(dest, "digest")).NotTo(BeAnExistingFile())
		}
		return res
	}
	expectRefused := func(res result, want string) {
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		Expect(res.stderr).To(ContainSubstring(want))
	}

	It("refuses a name deeper than 256 directories, whose resolution would cost depth squared", func() {
		deep := strings.Repeat("d/", 300) + "f"
		expectRefused(get(layer(imagetest.Gzip, imagetest.File(deep, "x"))), "directories deep")
	})

	It("refuses a name longer than PATH_MAX", func() {
		long := strings.Repeat("n", 5000)
		expectRefused(get(layer(imagetest.Gzip, imagetest.File(long, "x"))), "bytes long")
	})

	It("refuses a PAX sparse file, whose holes would be written out as zeros", func() {
		l, err := imagetest.RawTarLayer(sparseTar(1<<40), imagetest.Gzip)
		Expect(err).NotTo(HaveOccurred())
		expectRefused(get(l), "sparse files are not supported")
	})

	It("refuses a zstd frame that declares a window larger than 32 MiB", func() {
		tarBytes, err := imagetest.TarBytes(imagetest.File("a", "small"))
		Expect(err).NotTo(HaveOccurred())
		// A frame laid out by hand, as the encoder would shrink the window
		// to fit the content: no content size, a 256 MiB window
		// (log 28: exponent 18), then the tar in one raw, last block.
		frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3}
		blockHeader := uint32(len(tarBytes))<<3 | 1
		frame = append(frame, byte(blockHeader), byte(blockHeader>>8), byte(blockHeader>>16))
		frame = append(frame, tarBytes...)
		var h zstd.Header
		Expect(h.Decode(frame)).To(Succeed())
		Expect(h.WindowSize).To(Equal(uint64(256 << 20)))
		expectRefused(get(static.NewLayer(frame, types.OCILayerZStd)), "window")
	})
})

var _ = Describe("a whiteout after its own layer's entries", func() {
	It("hides what lower layers put in the directory and keeps the layer's own", func() {
		reg := newFakeRegistry()
		repo := reg.repo("whiteout-after")
		digest := push(repo, "latest", image(
			layer(imagetest.Gzip, imagetest.Dir("a"), imagetest.File("a/old", "lower")),
			layer(imagetest.Gzip, imagetest.File("a/new", "upper"), imagetest.Whiteout("a")),
		))
		dest := filepath.Join(GinkgoT().TempDir(), "dest")
		res := runInto(dest, request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": true},
			Version: resource.Version{Tag: "latest", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(filepath.Join(dest, "rootfs", "a", "old")).NotTo(BeAnExistingFile())
		Expect(os.ReadFile(filepath.Join(dest, "rootfs", "a", "new"))).To(Equal([]byte("upper")))
	})
})

// sparseTar is a tar holding one PAX (GNU 1.0) sparse file of size bytes
// that is all hole. archive/tar does not write sparse files, so its blocks
// are laid out here.
func sparseTar(size int64) []byte {
	record := func(k, v string) string {
		body := " " + k + "=" + v + "\n"
		n := len(body)
		for len(fmt.Sprint(n))+len(body) != n {
			n = len(fmt.Sprint(n)) + len(body)
		}
		return fmt.Sprint(n) + body
	}
	pax := record("GNU.sparse.major", "1") + record("GNU.sparse.minor", "0") +
		record("GNU.sparse.name", "big") + record("GNU.sparse.realsize", fmt.Sprint(size))
	header := func(name string, typ byte, n int) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		// Write a ustar header through archive/tar, then patch its type,
		// which the writer would not accept as is.
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n), Format: tar.FormatUSTAR})
		h := b.Bytes()[:512]
		h[156] = typ
		for i := 148; i < 156; i++ {
			h[i] = ' '
		}
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
		return h
	}
	pad := func(n int) []byte { return make([]byte, (512-n%512)%512) }
	var out bytes.Buffer
	out.Write(header("PaxHeaders/big", tar.TypeXHeader, len(pax)))
	out.WriteString(pax)
	out.Write(pad(len(pax)))
	sparseMap := "0\n" // no data fragment: all hole
	out.Write(header("GNUSparseFile.0/big", tar.TypeReg, 512))
	out.WriteString(sparseMap)
	out.Write(pad(len(sparseMap)))
	out.Write(make([]byte, 1024))
	return out.Bytes()
}
