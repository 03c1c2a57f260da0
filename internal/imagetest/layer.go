package imagetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer builds a layer holding entries, in order, compressed with c and
// labelled with c's honest OCI media type.
func Layer(c Compression, entries ...Entry) (v1.Layer, error) {
	// Headers are checked up front so that a bad entry fails here, by name,
	// rather than inside a registry push.
	for _, e := range entries {
		if _, err := e.header(); err != nil {
			return nil, fmt.Errorf("build layer: %w", err)
		}
	}
	l, err := newLayer(c, func(w io.Writer) error { return writeEntries(w, entries) })
	if err != nil {
		return nil, fmt.Errorf("build layer: %w", err)
	}
	return l, nil
}

// RawTarLayer wraps tar bytes the caller crafted (or tampered with) as a
// layer compressed with c, for tests that need archives Go's tar writer
// would not produce.
func RawTarLayer(tarBytes []byte, c Compression) (v1.Layer, error) {
	l, err := newLayer(c, func(w io.Writer) error {
		_, err := w.Write(tarBytes)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("build raw tar layer: %w", err)
	}
	return l, nil
}

// TarBytes returns the uncompressed tar archive of entries, a starting point
// for RawTarLayer when a test wants to corrupt or truncate it.
func TarBytes(entries ...Entry) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeEntries(&buf, entries); err != nil {
		return nil, fmt.Errorf("write tar: %w", err)
	}
	return buf.Bytes(), nil
}

// Relabel returns l with its media type replaced and its bytes untouched,
// e.g. zstd bytes labelled as gzip, because consumers must detect the
// compression from the content, not trust the manifest.
func Relabel(l v1.Layer, mediaType types.MediaType) v1.Layer {
	return &relabeledLayer{Layer: l, mediaType: mediaType}
}

type relabeledLayer struct {
	v1.Layer
	mediaType types.MediaType
}

func (l *relabeledLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// writeEntries writes entries as a tar archive; regular files are padded
// with zeros up to their Size without allocating the padding.
func writeEntries(w io.Writer, entries []Entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr, err := e.header()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write header of %q: %w", e.Path, err)
		}
		if _, err := tw.Write(e.Content); err != nil {
			return fmt.Errorf("write content of %q: %w", e.Path, err)
		}
		if pad := hdr.Size - int64(len(e.Content)); pad > 0 {
			if _, err := io.CopyN(tw, zeroReader{}, pad); err != nil {
				return fmt.Errorf("write padding of %q: %w", e.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close tar: %w", err)
	}
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// generatedLayer regenerates its tar stream on every read instead of keeping
// it, so that a layer of hundreds of MiB costs only its generator's state.
// Digests are computed once, at construction.
type generatedLayer struct {
	writeTar    func(io.Writer) error
	compression Compression
	mediaType   types.MediaType
	digest      v1.Hash
	diffID      v1.Hash
	size        int64
}

var _ v1.Layer = (*generatedLayer)(nil)

// newLayer makes one pass over writeTar's output, hashing the tar stream
// (diff ID) and the compressed stream (digest, size) at the same time.
func newLayer(c Compression, writeTar func(io.Writer) error) (*generatedLayer, error) {
	diffIDHash := sha256.New()
	digestHash := sha256.New()
	compressed := &countingWriter{w: digestHash}
	err := compressTo(compressed, c, func(w io.Writer) error {
		return writeTar(io.MultiWriter(w, diffIDHash))
	})
	if err != nil {
		return nil, err
	}
	return &generatedLayer{
		writeTar:    writeTar,
		compression: c,
		mediaType:   c.MediaType(),
		digest:      sha256Hash(digestHash),
		diffID:      sha256Hash(diffIDHash),
		size:        compressed.n,
	}, nil
}

func (l *generatedLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *generatedLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *generatedLayer) Size() (int64, error)                { return l.size, nil }
func (l *generatedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

func (l *generatedLayer) Compressed() (io.ReadCloser, error) {
	return pipeFrom(func(w io.Writer) error { return compressTo(w, l.compression, l.writeTar) }), nil
}

func (l *generatedLayer) Uncompressed() (io.ReadCloser, error) {
	return pipeFrom(l.writeTar), nil
}

// pipeFrom runs write in a goroutine feeding the returned reader. Closing
// the reader early makes write's next Write fail, so the goroutine ends.
func pipeFrom(write func(io.Writer) error) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	return pr
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
