package imagetest_test

import (
	"archive/tar"
	"bytes"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Layer", func() {
	DescribeTable("round-trips each entry type through a layer",
		func(c imagetest.Compression, entry imagetest.Entry) {
			layer, err := imagetest.Layer(c, entry)
			Expect(err).NotTo(HaveOccurred())

			entries := readTar(decompress(compressedBytes(layer)))
			Expect(entries).To(HaveLen(1))
			hdr := entries[0].header
			Expect(hdr.Name).To(Equal(entry.Path))
			Expect(hdr.Typeflag).To(Equal(entry.Type))
			Expect(hdr.Mode).To(Equal(entry.Mode))
			Expect(hdr.Uid).To(Equal(entry.UID))
			Expect(hdr.Gid).To(Equal(entry.GID))
			Expect(hdr.Linkname).To(Equal(entry.Linkname))
			Expect(hdr.Devmajor).To(Equal(entry.Devmajor))
			Expect(hdr.Devminor).To(Equal(entry.Devminor))
			Expect(entries[0].content).To(Equal(append([]byte{}, entry.Content...)))
			if entry.ModTime.IsZero() {
				Expect(hdr.ModTime).To(BeTemporally("==", imagetest.FixedTime))
			} else {
				Expect(hdr.ModTime).To(BeTemporally("==", entry.ModTime))
			}
		},
		Entry("regular file, gzip", imagetest.Gzip, imagetest.File("etc/motd", "hello\n")),
		Entry("regular file, zstd", imagetest.Zstd, imagetest.File("etc/motd", "hello\n")),
		Entry("regular file, uncompressed", imagetest.Uncompressed, imagetest.File("etc/motd", "hello\n")),
		Entry("setuid file owned by a user", imagetest.Gzip,
			imagetest.File("usr/bin/su", "#!").WithMode(0o4755).WithOwner(1000, 1001)),
		Entry("file with its own time", imagetest.Gzip,
			imagetest.File("a", "b").WithModTime(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))),
		Entry("file with a time to the nanosecond", imagetest.Gzip,
			imagetest.File("a", "b").WithModTime(time.Date(2021, 5, 5, 5, 5, 5, 123456789, time.UTC))),
		Entry("directory with a time to the nanosecond", imagetest.Zstd,
			imagetest.Dir("d").WithModTime(time.Date(2021, 5, 5, 5, 5, 5, 1, time.UTC))),
		Entry("symlink with a time to the nanosecond", imagetest.Gzip,
			imagetest.Symlink("l", "d").WithModTime(time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC))),
		Entry("directory", imagetest.Gzip, imagetest.Dir("var/lib/")),
		Entry("symlink", imagetest.Zstd, imagetest.Symlink("bin", "usr/bin")),
		Entry("symlink pointing out", imagetest.Gzip, imagetest.Symlink("escape", "../../../etc")),
		Entry("hard link", imagetest.Gzip, imagetest.Hardlink("usr/bin/b", "usr/bin/a")),
		Entry("hard link out", imagetest.Uncompressed, imagetest.Hardlink("pwn", "../../etc/shadow")),
		Entry("character device", imagetest.Gzip, imagetest.CharDevice("dev/null", 1, 3)),
		Entry("block device", imagetest.Gzip, imagetest.BlockDevice("dev/sda", 8, 0)),
		Entry("fifo", imagetest.Zstd, imagetest.Fifo("run/pipe")),
		Entry("path with ..", imagetest.Gzip, imagetest.File("../../evil", "x")),
		Entry("absolute path", imagetest.Gzip, imagetest.File("/etc/evil", "x")),
	)

	It("writes xattrs as SCHILY.xattr PAX records, binary values included", func() {
		capability := string([]byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
		entry := imagetest.File("bin/ping", "x").WithXattr("security.capability", capability).WithXattr("user.note", "hi")
		layer, err := imagetest.Layer(imagetest.Gzip, entry)
		Expect(err).NotTo(HaveOccurred())
		hdr := readTar(decompress(compressedBytes(layer)))[0].header
		Expect(hdr.PAXRecords).To(HaveKeyWithValue("SCHILY.xattr.security.capability", capability))
		Expect(hdr.PAXRecords).To(HaveKeyWithValue("SCHILY.xattr.user.note", "hi"))
		Expect(imagetest.File("f", "").WithXattr("user.a", "1").PAXRecords).To(HaveLen(1), "WithXattr copies the records it adds to")
	})

	DescribeTable("names whiteouts as the OCI spec does, without cleaning",
		func(entry imagetest.Entry, want string) {
			Expect(entry.Path).To(Equal(want))
			layer, err := imagetest.Layer(imagetest.Gzip, entry)
			Expect(err).NotTo(HaveOccurred())
			Expect(readTar(decompress(compressedBytes(layer)))[0].header.Name).To(Equal(want))
		},
		Entry("file whiteout", imagetest.Whiteout("etc/passwd"), "etc/.wh.passwd"),
		Entry("top-level whiteout", imagetest.Whiteout("tmp"), ".wh.tmp"),
		Entry("whiteout aimed outside", imagetest.Whiteout("../../etc/passwd"), "../../etc/.wh.passwd"),
		Entry("opaque directory", imagetest.Opaque("var/cache/"), "var/cache/.wh..wh..opq"),
		Entry("opaque root", imagetest.Opaque(""), ".wh..wh..opq"),
	)

	DescribeTable("compresses as asked and labels honestly",
		func(c imagetest.Compression, mediaType types.MediaType, isCompressed func([]byte) bool) {
			layer, err := imagetest.Layer(c, imagetest.File("a", "b"))
			Expect(err).NotTo(HaveOccurred())
			Expect(layer.MediaType()).To(Equal(mediaType))
			Expect(isCompressed(compressedBytes(layer))).To(BeTrue())
		},
		Entry("gzip", imagetest.Gzip, types.OCILayer, hasPrefix(gzipMagic)),
		Entry("zstd", imagetest.Zstd, types.MediaType("application/vnd.oci.image.layer.v1.tar+zstd"), hasPrefix(zstdMagic)),
		Entry("uncompressed", imagetest.Uncompressed, types.MediaType("application/vnd.oci.image.layer.v1.tar"),
			func(b []byte) bool { return len(b) > 262 && string(b[257:262]) == "ustar" }),
	)

	It("reports a digest, diff ID and size that match its bytes", func() {
		layer, err := imagetest.Layer(imagetest.Zstd, imagetest.Dir("a/"), imagetest.File("a/b", "c"))
		Expect(err).NotTo(HaveOccurred())
		compressed := compressedBytes(layer)
		Expect(layer.Size()).To(Equal(int64(len(compressed))))
		Expect(layer.Digest()).To(Equal(sha256Of(compressed)))
		Expect(layer.DiffID()).To(Equal(sha256Of(decompress(compressed))))

		rc, err := layer.Uncompressed()
		Expect(err).NotTo(HaveOccurred())
		uncompressed, err := io.ReadAll(rc)
		Expect(err).NotTo(HaveOccurred())
		Expect(layer.DiffID()).To(Equal(sha256Of(uncompressed)))
	})

	It("gives the same digest for the same entries", func() {
		build := func() string {
			layer, err := imagetest.Layer(imagetest.Zstd, imagetest.File("x", "y"), imagetest.Symlink("l", "x"))
			Expect(err).NotTo(HaveOccurred())
			d, err := layer.Digest()
			Expect(err).NotTo(HaveOccurred())
			return d.String()
		}
		Expect(build()).To(Equal(build()))
	})

	It("pads a file with zeros up to its declared Size", func() {
		entry := imagetest.File("big", "head")
		entry.Size = 1 << 20
		layer, err := imagetest.Layer(imagetest.Gzip, entry)
		Expect(err).NotTo(HaveOccurred())
		content := readTar(decompress(compressedBytes(layer)))[0].content
		Expect(content).To(HaveLen(1 << 20))
		Expect(content[:4]).To(Equal([]byte("head")))
		Expect(bytes.Count(content[4:], []byte{0})).To(Equal(1<<20 - 4))
	})

	DescribeTable("rejects entries the tar writer would misrepresent",
		func(entry imagetest.Entry, message string) {
			_, err := imagetest.Layer(imagetest.Gzip, entry)
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("Size below content", imagetest.Entry{Path: "f", Type: tar.TypeReg, Content: []byte("abc"), Size: 1},
			`"f": Size 1 is less than its 3 content bytes`),
		Entry("content on a symlink", imagetest.Entry{Path: "l", Type: tar.TypeSymlink, Content: []byte("abc")},
			`"l": type '2' cannot carry content`),
	)

	It("lets a layer lie about its compression", func() {
		layer, err := imagetest.Layer(imagetest.Zstd, imagetest.File("a", "b"))
		Expect(err).NotTo(HaveOccurred())
		liar := imagetest.Relabel(layer, types.OCILayer)
		Expect(liar.MediaType()).To(Equal(types.OCILayer))
		Expect(hasPrefix(zstdMagic)(compressedBytes(liar))).To(BeTrue())
		Expect(liar.Digest()).To(Equal(must(layer.Digest())))
	})

	It("wraps crafted tar bytes, e.g. a truncated archive", func() {
		tarBytes, err := imagetest.TarBytes(imagetest.File("a", "hello"))
		Expect(err).NotTo(HaveOccurred())
		truncated := tarBytes[:600]
		layer, err := imagetest.RawTarLayer(truncated, imagetest.Gzip)
		Expect(err).NotTo(HaveOccurred())
		Expect(decompress(compressedBytes(layer))).To(Equal(truncated))
	})

	It("builds the symlink-then-write-through-it attack across two layers", func() {
		first, err := imagetest.Layer(imagetest.Gzip, imagetest.Symlink("etc", "/host/etc"))
		Expect(err).NotTo(HaveOccurred())
		second, err := imagetest.Layer(imagetest.Gzip, imagetest.File("etc/cron.d/pwn", "* * * * * root sh"))
		Expect(err).NotTo(HaveOccurred())
		img, err := imagetest.Image(imagetest.Spec{Layers: []v1.Layer{first, second}})
		Expect(err).NotTo(HaveOccurred())
		layers, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(readTar(decompress(compressedBytes(layers[0])))[0].header.Linkname).To(Equal("/host/etc"))
		Expect(readTar(decompress(compressedBytes(layers[1])))[0].header.Name).To(Equal("etc/cron.d/pwn"))
	})
})

func hasPrefix(prefix []byte) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, prefix) }
}
