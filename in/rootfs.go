package in

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// writeRootfs writes format rootfs: the layers applied in order into
// rootfs/, then metadata.json and labels.json. Layers download
// concurrently into files, and each is extracted, in order, as its file
// grows. A layer whose blob then fails its digest check fails the step,
// and the caller removes everything written.
func writeRootfs(ctx context.Context, img v1.Image, dest string, o options) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("list the image's layers: %w", err)
	}
	tmp := filepath.Join(dest, blobsDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer os.RemoveAll(tmp)

	p := newProgress(o.progress, o.log)
	downloads, err := newDownloads(layers, tmp, p)
	if err != nil {
		return err
	}
	fetchCtx, cancel := context.WithCancel(ctx)
	go fetchAll(fetchCtx, downloads, o.jobs, o.retry, o.log)

	err = extractAll(ctx, filepath.Join(dest, "rootfs"), downloads, o)
	cancel()
	for _, d := range downloads {
		_ = d.wait() // no download may still write into tmp
		if err != nil {
			d.bar.abort()
		}
	}
	p.wait()
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dest, "metadata.json"), imageMetadata{
		Env:        cfg.Config.Env,
		User:       cfg.Config.User,
		Entrypoint: cfg.Config.Entrypoint,
		Cmd:        cfg.Config.Cmd,
	}); err != nil {
		return err
	}
	return writeLabels(dest, cfg.Config.Labels)
}

// extractAll applies the layers in order, each as soon as it is downloaded.
func extractAll(ctx context.Context, dir string, downloads []*download, o options) error {
	t, err := openTree(dir)
	if err != nil {
		return err
	}
	defer t.Close()
	a := newApplier(t, os.Geteuid() == 0, o.log)
	for i, d := range downloads {
		o.log.Debugf("extracting layer %d of %d", i+1, len(downloads))
		if err := extract(a, d); err != nil {
			// Bad bytes make bad archives: a failed download is the
			// cause to report (and, if it changed, to start again for).
			if derr := d.wait(); derr != nil {
				return derr
			}
			return fmt.Errorf("extract %s: %w", d.name, err)
		}
		// The tar stream may end before the blob does; the layer counts
		// only once the whole blob arrived and its digest matched.
		if err := d.wait(); err != nil {
			return err
		}
		// The file is not needed any more; removing it now bounds the
		// disk used to the layers in flight.
		if err := os.Remove(d.path); err != nil {
			return fmt.Errorf("remove the downloaded %s: %w", d.name, err)
		}
	}
	return a.finish()
}

func extract(a *applier, d *download) error {
	f, err := d.follow()
	if err != nil {
		return err
	}
	defer f.Close()
	zr, kind, err := decompress(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	a.log.Debugf("%s is %s", d.name, kind)
	ra := newReadAhead(zr)
	defer ra.Close()
	return a.apply(ra)
}
