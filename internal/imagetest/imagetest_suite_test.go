package imagetest_test

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestImagetest(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "imagetest")
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// startRegistry serves ggcr's in-process registry on loopback for the
// current spec and returns its host:port.
func startRegistry() string {
	server := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	DeferCleanup(server.Close)
	u, err := url.Parse(server.URL)
	Expect(err).NotTo(HaveOccurred())
	return u.Host
}

// compressedBytes reads the whole compressed stream of l.
func compressedBytes(l v1.Layer) []byte {
	rc, err := l.Compressed()
	Expect(err).NotTo(HaveOccurred())
	defer rc.Close()
	b, err := io.ReadAll(rc)
	Expect(err).NotTo(HaveOccurred())
	return b
}

// decompress sniffs the compression from the bytes, as the in step must,
// rather than trusting the layer's media type.
func decompress(b []byte) []byte {
	var r io.Reader = bytes.NewReader(b)
	switch {
	case bytes.HasPrefix(b, gzipMagic):
		zr, err := gzip.NewReader(r)
		Expect(err).NotTo(HaveOccurred())
		r = zr
	case bytes.HasPrefix(b, zstdMagic):
		zr, err := zstd.NewReader(r)
		Expect(err).NotTo(HaveOccurred())
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	Expect(err).NotTo(HaveOccurred())
	return out
}

type tarEntry struct {
	header  *tar.Header
	content []byte
}

// readTar parses an uncompressed tar stream with archive/tar.
func readTar(b []byte) []tarEntry {
	var entries []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		Expect(err).NotTo(HaveOccurred())
		content, err := io.ReadAll(tr)
		Expect(err).NotTo(HaveOccurred())
		entries = append(entries, tarEntry{header: hdr, content: content})
	}
}

func sha256Of(b []byte) v1.Hash {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	Expect(err).NotTo(HaveOccurred())
	return h
}

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)
