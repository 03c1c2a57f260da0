package imagetest

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Format is the manifest schema an image is written in.
type Format int

const (
	// OCI writes an OCI image manifest and config (the zero value).
	OCI Format = iota
	// Docker writes a Docker schema 2 manifest and config; layers built by
	// this package are relabelled with the Docker layer media types.
	Docker
)

// Spec describes an image. The zero Spec is an empty linux/amd64 OCI image.
type Spec struct {
	Format      Format
	Layers      []v1.Layer // bottom first
	Env         []string
	User        string
	Entrypoint  []string
	Cmd         []string
	WorkingDir  string
	Labels      map[string]string // config labels
	Annotations map[string]string // manifest annotations
	Created     time.Time         // zero means FixedTime
	Platform    *v1.Platform      // nil means linux/amd64
}

// Image builds the image spec describes. Nothing in it depends on the clock
// or on map order, so the same spec always gives the same digest.
func Image(spec Spec) (v1.Image, error) {
	created := spec.Created
	if created.IsZero() {
		created = FixedTime
	}
	img, err := mutate.ConfigFile(emptyImage(spec.Format), configFile(spec, created))
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	adds, err := addenda(spec, created)
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	if len(spec.Annotations) > 0 {
		annotated, ok := mutate.Annotations(img, spec.Annotations).(v1.Image)
		if !ok {
			return nil, fmt.Errorf("annotate image: mutate.Annotations did not return an image")
		}
		img = annotated
	}
	return img, nil
}

// emptyImage is an image with no layers and the manifest and config media
// types of format.
func emptyImage(format Format) v1.Image {
	manifestType, configType := types.OCIManifestSchema1, types.OCIConfigJSON
	if format == Docker {
		manifestType, configType = types.DockerManifestSchema2, types.DockerConfigJSON
	}
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, manifestType), configType)
}

// configFile is spec's config, for its platform (linux/amd64 by default).
func configFile(spec Spec, created time.Time) *v1.ConfigFile {
	platform := v1.Platform{OS: "linux", Architecture: "amd64"}
	if spec.Platform != nil {
		platform = *spec.Platform
	}
	return &v1.ConfigFile{
		Architecture: platform.Architecture,
		OS:           platform.OS,
		OSVersion:    platform.OSVersion,
		OSFeatures:   platform.OSFeatures,
		Variant:      platform.Variant,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Env:        spec.Env,
			User:       spec.User,
			Entrypoint: spec.Entrypoint,
			Cmd:        spec.Cmd,
			WorkingDir: spec.WorkingDir,
			Labels:     spec.Labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
}

// addenda are spec's layers with a history entry each; in a Docker image,
// the layers this package built carry the Docker layer media types.
func addenda(spec Spec, created time.Time) ([]mutate.Addendum, error) {
	adds := make([]mutate.Addendum, 0, len(spec.Layers))
	for i, l := range spec.Layers {
		if _, ours := l.(*generatedLayer); ours && spec.Format == Docker {
			mt, err := l.MediaType()
			if err != nil {
				return nil, fmt.Errorf("read media type of layer %d: %w", i, err)
			}
			l = Relabel(l, dockerMediaType(mt))
		}
		adds = append(adds, mutate.Addendum{
			Layer: l,
			History: v1.History{
				Created:   v1.Time{Time: created},
				CreatedBy: fmt.Sprintf("imagetest: layer %d", i),
			},
		})
	}
	return adds, nil
}

// MustImage is Image for specs that cannot fail (in-memory layers built by
// this package); it panics on error, which in a test is a bug in the test.
func MustImage(spec Spec) v1.Image {
	img, err := Image(spec)
	if err != nil {
		panic(err)
	}
	return img
}
