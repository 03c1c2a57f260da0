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

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/gzip"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
)

// layerOpener opens one layer's compressed bytes.
type layerOpener func() (io.ReadCloser, error)

// layerFiles writes img's layer blobs into files in dir and opens them.
// The floor reads them from files, not from memory: memory the test
// process holds counts in the peak RSS of every binary it starts after
// (the kernel records the parent's peak when the child execs).
func layerFiles(b *testing.B, img v1.Image, dir string) []layerOpener {
	layers, err := img.Layers()
	must(b, err)
	open := make([]layerOpener, len(layers))
	for i, l := range layers {
		rc, err := l.Compressed()
		must(b, err)
		path := filepath.Join(dir, fmt.Sprintf("layer-%d", i))
		f, err := os.Create(path)
		must(b, err)
		_, err = io.Copy(f, rc)
		must(b, err)
		must(b, f.Close())
		must(b, rc.Close())
		open[i] = func() (io.ReadCloser, error) { return os.Open(path) }
	}
	return open
}

// registryLayers opens the layers of repo@digest from the registry, each
// checked against its digest as it streams (go-containerregistry's
// verifying reader); the manifest is read once, here.
func registryLayers(b *testing.B, repo, digest string) []layerOpener {
	layers := remoteLayers(b, repo, digest)
	open := make([]layerOpener, len(layers))
	for i, l := range layers {
		open[i] = l.Compressed
	}
	return open
}

// remoteLayers reads the manifest of repo@digest and returns its layers.
func remoteLayers(b *testing.B, repo, digest string) []v1.Layer {
	ref, err := name.NewDigest(repo + "@" + digest)
	must(b, err)
	img, err := remote.Image(ref)
	must(b, err)
	layers, err := img.Layers()
	must(b, err)
	return layers
}

// floorRun is this machine's floor for the work of a full rootfs download:
// the layers inflated jobs at a time (from files in the page cache after
// the first run, or fetched from the registry and verified), with nothing
// else (dir empty), or untarred into dir as they are (every file written,
// no order between layers, no metadata). The inflater reads through the
// same buffer as in's decoders.
func floorRun(b *testing.B, layers []layerOpener, dir string, jobs int) timedRun {
	var before, after syscall.Rusage
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &before))
	t0 := time.Now()
	sem := make(chan struct{}, jobs)
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i, open := range layers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = inflateInto(open, dir)
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

func inflateInto(open layerOpener, dir string) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 256<<10))
	if err != nil {
		return err
	}
	if dir == "" {
		_, err = io.Copy(io.Discard, zr)
	} else {
		err = imagetest.Untar(zr, dir)
	}
	if err != nil {
		return err
	}
	// The verifying reader checks the digest at the end of the blob,
	// past the gzip trailer.
	_, err = io.Copy(io.Discard, rc)
	return err
}

// floor is the fastest way this machine does the floor's work now: one
// layer at a time, two (as in's decoders), or every layer at once,
// whichever is fastest in this pair. When other processes keep both cores
// busy, more at a time gains nothing and may lose.
func floor(b *testing.B, layers []layerOpener, extract bool) timedRun {
	dir := func() string {
		if extract {
			return scratch(b)
		}
		return ""
	}
	fastest := floorRun(b, layers, dir(), 1)
	for _, jobs := range []int{2, len(layers)} {
		fastest = faster(fastest, floorRun(b, layers, dir(), jobs))
	}
	return fastest
}

// The floors, from the least work to the most: the layers inflated alone
// (floor-inflate), inflated and written out (floor-extract), both with no
// network, order or checks; fetched from the registry, checked against
// their digests, inflated and written out (floor-fetch), in process; and
// floor-in, the same as a process of its own that reads the manifest and
// keeps the blobs, as any in must (internal/floorin).
const (
	floorInflate = iota
	floorExtract
	floorFetch
	floorIn
	numFloors
)

var floorNames = [numFloors]string{"floor-inflate", "floor-extract", "floor-fetch", "floor-in"}

// floors are one run of each floor, by the constants above.
type floors [numFloors]timedRun

// floorInputs are what the floors run on: the image's layers from files
// and from the registry, and floorin's binary.
type floorInputs struct {
	files, fetched []layerOpener
	bin            string
}

// run runs each floor once; req is the full download's request.
func (fi floorInputs) run(b *testing.B, req request) floors {
	var fl floors
	fl[floorInflate] = floor(b, fi.files, false)
	fl[floorExtract] = floor(b, fi.files, true)
	fl[floorFetch] = floor(b, fi.fetched, true)
	fl[floorIn] = runTimed(b, fi.bin, req, scratch(b))
	if err := fl[floorIn].err; err != nil {
		b.Fatalf("floorin failed: %v", err)
	}
	return fl
}

func buildFloorIn(b *testing.B) string {
	bin, err := gexec.Build("github.com/refimage/refimage/internal/floorin")
	must(b, err)
	return bin
}
