package in

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/resource"
)

// blobsDir holds downloaded layers until they are extracted; it is inside
// the destination so that no other disk is needed and nothing outlives the
// step.
const blobsDir = ".refimage-layers"

// download is one layer being fetched into a file; done is closed when the
// file is complete and verified, or err is set.
type download struct {
	layer v1.Layer
	name  string // "layer 2 (sha256:…)"
	path  string
	bar   *bar
	done  chan struct{}
	err   error
}

// fetchAll downloads layers into dir, at most jobs at a time, in order of
// need: the first layers first, so that extraction can start early.
func fetchAll(ctx context.Context, downloads []*download, jobs int, retry resource.RetryPolicy, log logrus.FieldLogger) {
	sem := make(chan struct{}, jobs)
	for _, d := range downloads {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			d.err = ctx.Err()
			close(d.done)
			continue
		}
		go func() {
			defer func() { <-sem }()
			d.err = d.fetch(ctx, retry, log)
			close(d.done)
		}()
	}
}

// fetch downloads the blob, verifying its size and digest on the way
// (ggcr's remote layers check both at the end of the stream).
func (d *download) fetch(ctx context.Context, retry resource.RetryPolicy, log logrus.FieldLogger) error {
	err := retrying(ctx, retry, log, "download "+d.name, d.fetchOnce, d.bar.restart)
	if err != nil {
		d.bar.abort()
		return err
	}
	d.bar.finish()
	log.Debugf("downloaded %s", d.name)
	return nil
}

func (d *download) fetchOnce() error {
	rc, err := d.layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(d.path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, d.bar.reader(rc)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newDownloads prepares one download per layer, with its bar.
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
		downloads[i] = &download{
			layer: l,
			name:  fmt.Sprintf("layer %d (%s)", i+1, digest),
			path:  filepath.Join(dir, fmt.Sprintf("%d-%s", i, digest.Hex)),
			bar:   p.bar(i, digest.Hex, size),
			done:  make(chan struct{}),
		}
	}
	return downloads, nil
}

// wait blocks until the download is over.
func (d *download) wait(ctx context.Context) error {
	select {
	case <-d.done:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
