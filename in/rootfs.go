package in

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/resource"
)

// writeRootfs writes format rootfs: the layers applied in order into
// rootfs/, then metadata.json and labels.json. Layers download
// concurrently into files; decoders inflate each, as its file grows, and
// stage its files beside it (stage.go), several layers at once; and the
// layers are applied, in order, each as its decoder goes. A blob that does
// not match its digest is fetched again on its own; if the applier had already read from it,
// the rootfs is extracted again from scratch, once, from the blobs already
// verified (kept until every blob is) and that blob fetched again.
func writeRootfs(ctx context.Context, img v1.Image, open blobOpener, dest string, o options) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("list the image's layers: %w", err)
	}
	tmp := filepath.Join(dest, blobsDir)
	if err := makeBlobsDir(tmp); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	p := newProgress(o.progress, o.log)
	downloads, err := newDownloads(layers, tmp, p, open)
	if err != nil {
		return err
	}
	for _, d := range downloads {
		d.claimFirst = o.claimFirst
	}
	rootfs := filepath.Join(dest, "rootfs")
	err = extractImage(ctx, downloads, rootfs, 0, o)
	if errors.Is(err, errRebuild) && ctx.Err() == nil {
		o.log.Warnf("%v; extracting the image again from scratch", err)
		if err := removeAll(rootfs); err != nil {
			return fmt.Errorf("remove rootfs: %w", err)
		}
		for _, d := range downloads {
			if !d.done() {
				d.reopen()
			}
			if d.fromStart {
				d.rewind()
			}
		}
		err = extractImage(ctx, downloads, rootfs, 1, o)
	}
	if err != nil {
		for _, d := range downloads {
			d.bar.abort()
		}
	}
	p.wait()
	if err != nil {
		return err
	}
	// The same bytes reference mode writes with fetch_metadata.
	files, err := resource.ImageFiles(cfg)
	if err != nil {
		return err
	}
	return writeFiles(dest, files)
}

// makeBlobsDir creates dir for the blobs, spools and staged files, owned
// by this process alone and without the setgid bit that a setgid dest
// would give it: staged files must be owned as the tree's entries are.
func makeBlobsDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// extractImage runs the three stages once (extraction number run) and
// waits until none of them writes any more.
func extractImage(ctx context.Context, downloads []*download, rootfs string, run int, o options) error {
	own, notes := processOwner(), &xattrNotes{log: o.log, seen: map[string]bool{}}
	var stage *stager
	if !o.noStaging {
		stage = &stager{owner: own, notes: notes, fault: o.stageFault}
	}
	spools, err := newSpools(downloads, stage, run)
	if err != nil {
		return err
	}
	fetchCtx, cancel := context.WithCancel(ctx)
	gate := newProgressGate()
	go fetchAll(fetchCtx, downloads, o.jobs, o.retry, o.log)
	go decodeAll(fetchCtx, spools, gate, o.log)

	err = extractAll(ctx, rootfs, spools, gate, newApplier(own, notes, o.log), o)
	for _, s := range spools {
		s.released.Store(true)
	}
	// A new extraction needs every other blob: those on their way go on
	// arriving, rather than being cut and paid for twice.
	if !errors.Is(err, errRebuild) {
		cancel()
	}
	gate.stop()
	for _, s := range spools {
		// No download or decoder may still write into tmp.
		_ = s.wait()
		_ = s.d.wait()
	}
	cancel()
	return err
}

// extractAll applies the layers in order with a, into dir, each as its
// spool grows.
func extractAll(ctx context.Context, dir string, spools []*spool, gate *progressGate, a *applier, o options) error {
	t, err := openTree(dir)
	if err != nil {
		return err
	}
	defer t.Close()
	a.t = t
	for i, s := range spools {
		if o.spoolsFirst {
			for _, later := range spools[i:min(i+spoolsAhead, len(spools))] {
				_ = later.wait()
			}
		}
		o.log.Debugf("extracting layer %d of %d", i+1, len(spools))
		if err := extract(ctx, a, s); err != nil {
			// A broken spool is reported as its cause: a failed
			// download or decompression, or a file its decoder failed
			// to stage, named as the applier names its own.
			serr := s.wait()
			if ee := (*entryError)(nil); errors.As(serr, &ee) {
				return fmt.Errorf("extract %s: %w", s.d.name, serr)
			}
			if serr != nil {
				return serr
			}
			return fmt.Errorf("extract %s: %w", s.d.name, err)
		}
		// The tar stream may end before the blob does; the layer counts
		// only once the whole blob arrived and its digest matched.
		if err := s.wait(); err != nil {
			return err
		}
		// The spool is not needed any more; what staged files are left
		// were of no use.
		if err := s.remove(); err != nil {
			return fmt.Errorf("remove the decompressed %s: %w", s.d.name, err)
		}
		gate.advance()
		releaseBlobs(spools[:i+1], spools)
	}
	return a.finish()
}

// extract applies one layer from its spool as the spool grows, stopped
// when the step is cancelled, even once the spool has arrived whole.
func extract(ctx context.Context, a *applier, s *spool) error {
	f, err := s.claim()
	if err != nil {
		return err
	}
	defer f.Close()
	r := ctxReader{ctx, f}
	if s.stage == nil {
		return a.apply(tarEntries{tar.NewReader(r)}, nil)
	}
	staging, err := os.Open(s.stage.dir)
	if err != nil {
		return err
	}
	defer staging.Close()
	return a.apply(newRecords(r), staging)
}

// releaseBlobs removes the blobs of the layers in done whose streams are
// decoded, once every blob is verified: until then one of them may still
// need a new extraction, which decodes them again.
func releaseBlobs(done, all []*spool) {
	for _, s := range all {
		if !s.d.done() {
			return
		}
	}
	for _, s := range done {
		if s.decoded.Load() {
			_ = os.Remove(s.d.path)
		}
	}
}
