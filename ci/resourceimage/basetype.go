package resourceimage

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/refimage/refimage/hook"
)

// BaseTypeMetadata is resource_metadata.json, which a classic Concourse
// worker reads for each directory under its resource-types directory.
// Produces is not Concourse's: its worker decodes the file leniently and
// ignores it, and a runtime can read it to know that the type's gets
// produce a registry image (as it reads refimage's image label).
type BaseTypeMetadata struct {
	Type                 string `json:"type"`
	Version              string `json:"version"`
	Privileged           bool   `json:"privileged"`
	UniqueVersionHistory bool   `json:"unique_version_history"`
	Produces             string `json:"produces"`
}

// Files of a base-type bundle.
const (
	MetadataFile  = "resource_metadata.json"
	RootfsFile    = "rootfs.tgz"
	ReferenceFile = "image-reference"
)

// WriteBaseType writes into dir the bundle that makes img a base resource
// type named typeName: resource_metadata.json and rootfs.tgz (img's
// flattened filesystem). When reference is not empty (the image was
// pushed), it also writes it to image-reference, for runtimes that take
// base types as image references (Kubernetes).
func WriteBaseType(dir string, img v1.Image, typeName, version, reference string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write base type: %w", err)
	}
	meta, err := json.MarshalIndent(BaseTypeMetadata{Type: typeName, Version: version, Produces: hook.ProducesRegistryImage}, "", "  ")
	if err != nil {
		return fmt.Errorf("write base type: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, MetadataFile), append(meta, '\n'), 0o644); err != nil {
		return fmt.Errorf("write base type: %w", err)
	}
	if reference != "" {
		if err := os.WriteFile(filepath.Join(dir, ReferenceFile), []byte(reference+"\n"), 0o644); err != nil {
			return fmt.Errorf("write base type: %w", err)
		}
	}
	return writeRootfs(filepath.Join(dir, RootfsFile), img)
}

func writeRootfs(path string, img v1.Image) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write rootfs: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write rootfs: %w", cerr)
		}
	}()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("write rootfs: %w", err)
	}
	fs := mutate.Extract(img)
	defer fs.Close()
	if _, err := io.Copy(zw, fs); err != nil {
		return fmt.Errorf("flatten image into %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write rootfs: %w", err)
	}
	return nil
}

// PlatformImage returns the image of platform in idx.
func PlatformImage(idx v1.ImageIndex, platform v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Equals(platform) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("index has no image for %s", platform)
}

// PullSize is what pulling img downloads: its config and compressed layers
// (the manifest, under a kilobyte, aside).
func PullSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, fmt.Errorf("read manifest: %w", err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
