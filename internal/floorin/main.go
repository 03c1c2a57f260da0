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
// to remove. It is never shipped, and trusts its layers' names: it only
// ever reads the benchmark's generated image.
package main

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
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
	if err := untar(zr, rootfs); err != nil {
		return err
	}
	// The digest is checked once the blob's last byte, past the gzip
	// trailer, is read.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return f.Close()
}

// untar writes the directories and regular files of a layer into dir, as
// they are named, creating missing parents.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			err = writeFile(p, tr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}

func writeFile(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
