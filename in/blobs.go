package in

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/resource"
)

// blobsDir holds layers as they download, until they are extracted; it is
// inside the destination so that no other disk is needed and nothing
// outlives the step.
const blobsDir = ".refimage-layers"

// download is one layer being fetched into a file. Decompression follows
// the file as it grows, so a layer is decompressed (and applied) while it
// downloads; the blob's digest is checked at its end, and a layer counts as
// applied only once that check passed.
type download struct {
	*growing
	layer v1.Layer
	name  string // "layer 2 (sha256:…)"
	bar   *bar
}

// fetchAll downloads layers, at most jobs at a time, in order of need: the
// first layers first.
func fetchAll(ctx context.Context, downloads []*download, jobs int, retry resource.RetryPolicy, log logrus.FieldLogger) {
	sem := make(chan struct{}, jobs)
	for _, d := range downloads {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			d.finish(ctx.Err())
			continue
		}
		go func() {
			defer func() { <-sem }()
			d.finish(d.fetch(ctx, retry, log))
		}()
	}
}

// fetch downloads the blob, its size and digest verified at the end of the
// stream (by ggcr's remote layers). A download that breaks off starts again
// from the beginning; the bytes already in the file must come again
// unchanged, since extraction may have used them.
func (d *download) fetch(ctx context.Context, retry resource.RetryPolicy, log logrus.FieldLogger) error {
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	err = retrying(ctx, retry, log, "download "+d.name, func() error { return d.fetchOnce(f) }, d.bar.restart)
	if err != nil {
		d.bar.abort()
		return err
	}
	d.bar.finish()
	log.Debugf("downloaded and verified %s", d.name)
	return nil
}

// errChanged is final: a retried download disagrees with what an earlier
// attempt wrote, so one of them was wrong and what was extracted cannot be
// trusted.
var errChanged = errors.New("the registry sent different bytes on a retry")

func (d *download) fetchOnce(f *os.File) error {
	rc, err := d.layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	r := d.bar.reader(rc)
	have := d.written()
	if have > 0 {
		if err := samePrefix(f, r, have); err != nil {
			return err
		}
	}
	buf := make([]byte, 256<<10)
	for off := have; ; {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], off); werr != nil {
				return werr
			}
			off += int64(n)
			d.grow(off)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// samePrefix reads n bytes of r and compares them with the file's first n.
func samePrefix(f *os.File, r io.Reader, n int64) error {
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	for off := int64(0); off < n; {
		k := int(min(int64(len(a)), n-off))
		if _, err := io.ReadFull(r, a[:k]); err != nil {
			return err
		}
		if _, err := f.ReadAt(b[:k], off); err != nil {
			return err
		}
		if !bytes.Equal(a[:k], b[:k]) {
			return &noRetry{errChanged}
		}
		off += int64(k)
	}
	return nil
}

// newDownloads prepares one download per layer, with its file and bar.
func newDownloads(layers []v1.Layer, dir string, p *progress) ([]*download, error) {
	downloads := make([]*download, len(layers))
	for i, l := range layers {
		digest, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("read the digest of layer %d: %w", i+1, err)
		}
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("read the size of layer %d: %w", i+1, err)
		}
		g, err := newGrowing(filepath.Join(dir, fmt.Sprintf("%d-%s", i, digest.Hex)))
		if err != nil {
			return nil, err
		}
		downloads[i] = &download{growing: g, layer: l, name: fmt.Sprintf("layer %d (%s)", i+1, digest), bar: p.bar(i, digest.Hex, size)}
	}
	return downloads, nil
}
