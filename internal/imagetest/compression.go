package imagetest

import (
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how a layer's tar stream is stored in the registry.
type Compression int

const (
	// Gzip is the compression nearly every registry image uses.
	Gzip Compression = iota
	// Zstd is OCI's application/vnd.oci.image.layer.v1.tar+zstd.
	Zstd
	// Uncompressed stores the plain tar stream (application/vnd.oci.image.layer.v1.tar).
	Uncompressed
)

// String names the compression as media types and logs do.
func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Uncompressed:
		return "uncompressed"
	default:
		return fmt.Sprintf("Compression(%d)", int(c))
	}
}

// MediaType is the OCI layer media type that honestly describes c.
func (c Compression) MediaType() types.MediaType {
	switch c {
	case Zstd:
		return types.OCILayerZStd
	case Uncompressed:
		return types.OCIUncompressedLayer
	default:
		return types.OCILayer
	}
}

// dockerMediaType maps an OCI layer media type to its Docker schema 2
// equivalent; Docker has no zstd type, so that one is kept.
func dockerMediaType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.OCILayer:
		return types.DockerLayer
	case types.OCIUncompressedLayer:
		return types.DockerUncompressedLayer
	default:
		return mt
	}
}

// compressTo writes the tar stream produced by writeTar into w, compressed
// with c. The encoders are configured for reproducible output: gzip with no
// name or time in its header, zstd with a single encoder goroutine.
func compressTo(w io.Writer, c Compression, writeTar func(io.Writer) error) error {
	var enc io.WriteCloser
	switch c {
	case Uncompressed:
		return writeTar(w)
	case Gzip:
		zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return fmt.Errorf("create gzip writer: %w", err)
		}
		enc = zw
	case Zstd:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return fmt.Errorf("create zstd writer: %w", err)
		}
		enc = zw
	default:
		return fmt.Errorf("compress layer: unknown compression %v", c)
	}
	if err := writeTar(enc); err != nil {
		_ = enc.Close()
		return err
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("finish %v stream: %w", c, err)
	}
	return nil
}
