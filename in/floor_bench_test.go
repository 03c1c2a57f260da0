package in_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
)

// layerFiles writes img's layer blobs into files in dir and returns their
// paths. The floor reads them from files, not from memory: memory the test
// process holds counts in the peak RSS of every binary it starts after
// (the kernel records the parent's peak when the child execs).
func layerFiles(b *testing.B, img v1.Image, dir string) []string {
	layers, err := img.Layers()
	must(b, err)
	paths := make([]string, len(layers))
	for i, l := range layers {
		rc, err := l.Compressed()
		must(b, err)
		paths[i] = filepath.Join(dir, fmt.Sprintf("layer-%d", i))
		f, err := os.Create(paths[i])
		must(b, err)
		_, err = io.Copy(f, rc)
		must(b, err)
		must(b, f.Close())
		must(b, rc.Close())
	}
	return paths
}

// floorRun is this machine's floor for the work of a full rootfs download:
// the layers inflated jobs at a time from their files (in the page
// cache after the first run), with nothing else (dir empty), or untarred
// into dir as they are (every file written, no order between layers, no
// verification, no metadata). The inflater reads through the same buffer
// as in's decoders.
func floorRun(b *testing.B, blobs []string, dir string, jobs int) timedRun {
	var before, after syscall.Rusage
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &before))
	t0 := time.Now()
	sem := make(chan struct{}, jobs)
	errs := make([]error, len(blobs))
	var wg sync.WaitGroup
	for i, blob := range blobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = inflateInto(blob, dir)
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &after))
	for _, err := range errs {
		must(b, err)
	}
	return timedRun{wall: wall, cpu: cpuOf(&after) - cpuOf(&before)}
}

func inflateInto(blob, dir string) error {
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return err
	}
	if dir == "" {
		_, err = io.Copy(io.Discard, zr)
		return err
	}
	return untar(zr, dir)
}

// floor is the fastest way this machine does the floor's work now: one
// layer at a time or two (as in's decoders), whichever is faster in this
// pair. When other processes keep both cores busy, two at a time gains
// nothing and may lose.
func floor(b *testing.B, blobs []string, extract bool) timedRun {
	dir := func() string {
		if extract {
			return scratch(b)
		}
		return ""
	}
	return faster(floorRun(b, blobs, dir(), 1), floorRun(b, blobs, dir(), 2))
}
