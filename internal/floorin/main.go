// Command floorin is the least work a full-rootfs get must do, as a
// process of its own, for BenchmarkIn to hold in's time against: it takes
// in's request, reads the manifest, then fetches every layer at once (the
// fastest schedule on a two-core machine), checks each against its digest
// as it streams (go-containerregistry's verifying reader), keeps each blob
// in a file as it arrives (refetching one corrupt blob without the others
// needs the verified ones kept), and inflates and untars it into
// DEST/rootfs as it arrives. It does nothing else a get does: no order
// between layers, no whiteouts, no owners, modes or times, no retries, no
// progress, no metadata files, and its blobs are left for the benchmark
// to remove. It is never shipped, and trusts its layers' names
// (imagetest.Untar): it only ever reads the benchmark's generated image.
package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

func main() {
	cli.Main(func(ctx context.Context, env cli.Env, req resource.InRequest) (any, error) {
		return struct{}{}, get(ctx, req.Source.Repository+"@"+req.Version.Digest, env.Arg(0))
	})
}

func get(ctx context.Context, ref, dest string) error {
	digest, err := name.NewDigest(ref)
	if err != nil {
		return err
	}
	img, err := remote.Image(digest, remote.WithContext(ctx))
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	rootfs, blobs := filepath.Join(dest, "rootfs"), filepath.Join(dest, "blobs")
	for _, dir := range []string{rootfs, blobs} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	var g errgroup.Group
	for i, l := range layers {
		g.Go(func() error { return extract(l, filepath.Join(blobs, strconv.Itoa(i)), rootfs) })
	}
	return g.Wait()
}

// extract fetches l into the file blob and, as it arrives, into rootfs.
func extract(l v1.Layer, blob, rootfs string) error {
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	r := io.TeeReader(rc, f)
	// The same buffer as in's decoders read through.
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 256<<10))
	if err != nil {
		return err
	}
	if err := imagetest.Untar(zr, rootfs); err != nil {
		return err
	}
	// The digest is checked once the blob's last byte, past the gzip
	// trailer, is read.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return f.Close()
}
