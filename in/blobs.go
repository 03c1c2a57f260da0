package in

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
)

// blobsDir holds layers as they download, until they are extracted; it is
// inside the destination so that no other disk is needed and nothing
// outlives the step.
const blobsDir = ".refimage-layers"

// download is one layer being fetched into a file. Decompression follows
// the file as it grows, so a layer is decompressed (and applied) while it
// downloads; the blob's digest is checked at its end, over every byte of
// the file, and a layer counts as applied only once that check passed.
type download struct {
	*growing
	digest v1.Hash
	size   int64
	name   string // "layer 2 (sha256:…)"
	bar    *bar
	open   blobOpener
	// hash has seen the file's bytes so far, in order: a resumed download
	// goes on hashing where the last attempt stopped.
	hash hash.Hash
	// spool is the layer's decoded entries, rewound with the blob when
	// the blob must be fetched again from its first byte.
	spool *spool
	// fromStart: the blob must be fetched again from its first byte in the
	// next extraction (its bytes were bad and already applied).
	fromStart bool
	// claimFirst (for specs): the digest is checked only once the applier
	// has read from the layer's stream.
	claimFirst bool
}

// blobOpener GETs a blob of size bytes from offset, and says where the
// answer starts (offset, or 0 from a registry that ignores Range).
type blobOpener func(ctx context.Context, digest v1.Hash, size, offset int64) (io.ReadCloser, int64, error)

// fetchAll downloads layers, at most jobs at a time, in order of need: the
// first layers first. A layer already downloaded and verified (by an
// earlier extraction) is not fetched again.
func fetchAll(ctx context.Context, downloads []*download, jobs int, retry registry.RetryPolicy, log logrus.FieldLogger) {
	sem := make(chan struct{}, jobs)
	for _, d := range downloads {
		if d.done() {
			continue
		}
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

// resumeProgress is how far an attempt must move a download for its
// failure not to count against the retry budget.
const resumeProgress = 1 << 20

// fetch downloads the blob. A download that breaks off or stalls resumes
// from the bytes already in the file (a Range request); one that does not
// match its digest starts again from its first byte, as long as no byte of
// it was applied (see corrupt). An attempt that received resumeProgress
// bytes or more before it failed starts the retry count again.
func (d *download) fetch(ctx context.Context, retry registry.RetryPolicy, log logrus.FieldLogger) error {
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	attempt := func() error {
		before := d.written()
		err := d.fetchOnce(ctx, f)
		if err != nil && d.written()-before >= resumeProgress {
			return &progressed{err}
		}
		return err
	}
	err = retrying(ctx, retry, log, "download "+d.name, attempt, func() { d.bar.set(d.written()) })
	if err != nil {
		return err
	}
	d.bar.finish()
	log.Debugf("downloaded and verified %s", d.name)
	return nil
}

// errChanged: a registry that ignored Range sent other bytes than the ones
// an earlier attempt wrote, so one of them was wrong.
var errChanged = errors.New("the registry sent different bytes on a retry")

// errRebuild marks a bad blob whose bytes were already applied: the
// rootfs is extracted again from scratch, with this blob fetched again.
var errRebuild = errors.New("the rootfs is extracted again")

func (d *download) fetchOnce(ctx context.Context, f *os.File) error {
	have := d.written()
	if have == d.size {
		return d.verify(have)
	}
	rc, start, err := d.open(ctx, d.digest, d.size, have)
	if err != nil {
		return err
	}
	defer rc.Close()
	// One byte past the size the manifest gives shows a blob too long.
	r := d.bar.reader(io.LimitReader(rc, d.size-start+1))
	if start < have {
		d.bar.set(0)
		if err := samePrefix(f, r, have); err != nil {
			return d.corrupt(err)
		}
	}
	buf := make([]byte, 256<<10)
	for off := have; ; {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], off); werr != nil {
				return &noRetry{werr}
			}
			d.hash.Write(buf[:n])
			off += int64(n)
			d.grow(off)
		}
		if errors.Is(err, io.EOF) {
			if d.claimFirst {
				d.spool.awaitClaim(ctx)
			}
			return d.verify(off)
		}
		if err != nil {
			return err
		}
	}
}

// verify checks the size and digest of the n bytes the file holds.
func (d *download) verify(n int64) error {
	switch {
	case n < d.size:
		return io.ErrUnexpectedEOF
	case n > d.size:
		return d.corrupt(fmt.Errorf("the blob is longer than the %d bytes the manifest gives", d.size))
	}
	if got := hex.EncodeToString(d.hash.Sum(nil)); got != d.digest.Hex {
		return d.corrupt(fmt.Errorf("the blob's digest is %s:%s", d.digest.Algorithm, got))
	}
	return nil
}

// corrupt rewinds a blob whose bytes were wrong, to fetch it again from its
// first byte. When the applier has already read from the layer's stream,
// this extraction cannot go on: the blob is fetched again for the next one.
func (d *download) corrupt(cause error) error {
	if d.spool.rewind() {
		d.hash.Reset()
		d.bar.set(0)
		return cause
	}
	d.fromStart = true
	return &noRetry{fmt.Errorf("%w, and some of its bytes were already applied: %w", cause, errRebuild)}
}

// rewind empties the blob's file to fetch it again from its first byte.
func (d *download) rewind() {
	d.mu.Lock()
	d.rewindLocked()
	d.mu.Unlock()
	d.hash.Reset()
	d.fromStart = false
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
			return errChanged
		}
		off += int64(k)
	}
	return nil
}

// newDownloads prepares one download per layer, with its file and bar.
func newDownloads(layers []v1.Layer, dir string, p *progress, open blobOpener) ([]*download, error) {
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
		if digest.Algorithm != "sha256" {
			return nil, fmt.Errorf("layer %d: unsupported digest algorithm %q", i+1, digest.Algorithm)
		}
		downloads[i] = &download{growing: g, digest: digest, size: size, open: open, hash: sha256.New(),
			name: fmt.Sprintf("layer %d (%s)", i+1, digest), bar: p.bar(i, digest.Hex, size)}
	}
	return downloads, nil
}
