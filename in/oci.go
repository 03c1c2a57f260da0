package in

import (
	"fmt"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/refimage/refimage/resource"
)

// writeOCI writes format oci: image.tar (a docker-loadable tarball tagged
// as the version's tag) and labels.json. Every blob is verified against its
// digest while it streams into the tarball.
func writeOCI(img v1.Image, tag name.Tag, dest string) error {
	if err := tarball.WriteToFile(filepath.Join(dest, "image.tar"), tag, img); err != nil {
		return fmt.Errorf("write image.tar: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read the image config: %w", err)
	}
	labels, err := resource.LabelsFile(cfg)
	if err != nil {
		return err
	}
	return writeFiles(dest, []resource.File{labels})
}
