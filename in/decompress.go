package in

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns the tar stream of a layer, detecting gzip, zstd or
// none from the first bytes: manifests mislabel layers (BuildKit's docker
// zstd, uncompressed layers typed as gzip), the bytes do not.
func decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("read the layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, "gzip", nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			// A frame may declare a huge window and fill it cheaply: bound
			// it (every zstd level up to 19 fits in 8 MiB; --long in 128).
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, "", fmt.Errorf("open zstd stream: %w", err)
		}
		return zr.IOReadCloser(), "zstd", nil
	}
	return io.NopCloser(br), "uncompressed", nil
}

// maxZstdWindow bounds a zstd layer's window, so a decoder's memory stays
// small whatever a frame declares; --long layers (up to 128 MiB) fail with
// a clear error.
const maxZstdWindow = 32 << 20
