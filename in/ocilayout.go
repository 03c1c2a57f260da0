package in

import (
	"encoding/json"
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
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: described{Image: img, desc: descriptorOf(desc)}})
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

// described is an image whose descriptor in an index is desc.
type described struct {
	v1.Image
	desc v1.Descriptor
}

// Descriptor is what go-containerregistry's partial.Descriptor, and so
// mutate.AppendManifests, takes for the image's entry in index.json.
func (d described) Descriptor() (*v1.Descriptor, error) {
	desc := d.desc
	return &desc, nil
}

// descriptorOf is the single image's descriptor as registry-image writes it
// in index.json (go-containerregistry v0.21.9 and later): the manifest's
// annotations, and its artifactType, else its config's media type. The
// library set's v0.21.2 would drop the annotations and an image config's
// media type, so refimage sets both on either set.
func descriptorOf(desc *remote.Descriptor) v1.Descriptor {
	d := v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest}
	// Decoded here: v0.21.2's v1.Manifest has no artifactType field.
	var mf struct {
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
		Config       struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
		// Not a manifest: the plain descriptor, as ggcr gives.
		return d
	}
	d.Annotations = mf.Annotations
	d.ArtifactType = mf.ArtifactType
	if d.ArtifactType == "" {
		d.ArtifactType = mf.Config.MediaType
	}
	return d
}
