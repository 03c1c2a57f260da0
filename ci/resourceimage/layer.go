package resourceimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer returns a gzip-compressed OCI layer holding entries, in the order
// given, owned by root, with every mtime set to modTime: the bytes are a
// function of the entries and modTime alone.
func Layer(entries []Entry, modTime time.Time) (v1.Layer, error) {
	var b bytes.Buffer
	// BestCompression: the image is pulled far more often than built, and
	// compress/gzip writes the same bytes for the same input and level.
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := writeTar(zw, entries, modTime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	compressed := b.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	return layer, nil
}

func writeTar(w io.Writer, entries []Entry, modTime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{
			Name:    strings.TrimPrefix(e.Path, "/"),
			Mode:    int64(e.Mode.Perm()),
			ModTime: modTime.UTC().Truncate(time.Second),
		}
		if e.Mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000 // c_ISVTX
		}
		var data []byte
		if e.Mode.IsDir() {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			var err error
			if data, err = e.content(); err != nil {
				return err
			}
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("write layer entry %s: %w", e.Path, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("write layer entry %s: %w", e.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write layer: %w", err)
	}
	return nil
}
