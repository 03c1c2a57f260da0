package in

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// singleImageDigest marks an OCI layout made from one image rather than an
// index, as registry-image's out expects it.
const singleImageDigest = "single-image-digest"

// writeOCILayout writes format oci-layout into dest/oci: an index as it is,
// or a single image wrapped in an index with single-image-digest beside it.
func writeOCILayout(desc *remote.Descriptor, dest string) error {
	dir := filepath.Join(dest, "oci")
	var idx v1.ImageIndex
	var single *v1.Hash
	switch {
	case desc.MediaType.IsIndex():
		var err error
		if idx, err = desc.ImageIndex(); err != nil {
			return fmt.Errorf("read the index: %w", err)
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return fmt.Errorf("read the image: %w", err)
		}
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})
		single = &desc.Digest
	default:
		return fmt.Errorf("write an OCI layout: %s is neither an image nor an index", desc.MediaType)
	}
	lp, err := layout.Write(dir, idx)
	if err != nil {
		return fmt.Errorf("write the OCI layout: %w", err)
	}
	if single != nil {
		if err := lp.WriteFile(singleImageDigest, []byte(single.String()), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", singleImageDigest, err)
		}
	}
	return readableByAll(dir)
}

// readableByAll gives the layout the modes of an unpacked tarball: ggcr
// writes blobs as private temporary files (0600), which a task running as
// another user than in could not read.
func readableByAll(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("make %s readable: %w", p, err)
		}
		return nil
	})
}
