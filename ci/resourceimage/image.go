package resourceimage

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Metadata describes the build; with the source tree it determines the
// image's digest.
type Metadata struct {
	// Version is the release, stamped into the binaries and annotated.
	Version string
	// Revision is the commit the image is built from.
	Revision string
	// Source is the repository's URL.
	Source string
	// Created is the commit time: every timestamp in the image is this one,
	// never the time of the build.
	Created time.Time
}

func (m Metadata) validate() error {
	switch {
	case m.Version == "":
		return fmt.Errorf("no version: give one (e.g. from git describe)")
	case m.Revision == "":
		return fmt.Errorf("no revision: give the commit the image is built from")
	case m.Created.IsZero():
		return fmt.Errorf("no creation time: give the commit time (SOURCE_DATE_EPOCH or git log -1 --format=%%ct)")
	}
	return nil
}

// Annotations are the OCI annotations of the index and of every manifest.
func (m Metadata) Annotations() map[string]string {
	a := map[string]string{
		AnnotationVersion:  m.Version,
		AnnotationRevision: m.Revision,
		AnnotationCreated:  m.Created.UTC().Format(time.RFC3339),
	}
	if m.Source != "" {
		a[AnnotationSource] = m.Source
	}
	return a
}

// Image assembles one platform's image from the binaries compiled for it.
func Image(platform v1.Platform, c Compiled, m Metadata) (v1.Image, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	static, err := StaticEntries()
	if err != nil {
		return nil, err
	}
	base, err := Layer(static, m.Created)
	if err != nil {
		return nil, fmt.Errorf("build base layer: %w", err)
	}
	bins, err := Layer(BinaryEntries(c), m.Created)
	if err != nil {
		return nil, fmt.Errorf("build binaries layer: %w", err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = platform.OS
	cf.Architecture = platform.Architecture
	cf.Variant = platform.Variant
	cf.Config.Env = Env
	cf.Config.Labels = Labels()
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	created := v1.Time{Time: m.Created.UTC()}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: created, CreatedBy: "refimage ci/imagebuild: directories, users, CA bundle", Comment: "shared by every platform"}},
		mutate.Addendum{Layer: bins, History: v1.History{Created: created, CreatedBy: "refimage ci/imagebuild: go build " + platform.String()}},
	)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	if img, err = mutate.CreatedAt(img, created); err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	return mutate.Annotations(img, m.Annotations()).(v1.Image), nil
}

// Index assembles the multi-platform index from each platform's binaries,
// keyed by platform.String().
func Index(compiled map[string]Compiled, m Metadata) (v1.ImageIndex, error) {
	for _, p := range Platforms {
		if _, ok := compiled[p.String()]; !ok {
			return nil, fmt.Errorf("build index: no binaries for %s", p)
		}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range Platforms {
		img, err := Image(p, compiled[p.String()], m)
		if err != nil {
			return nil, fmt.Errorf("build image for %s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p, Annotations: m.Annotations()},
		})
	}
	return mutate.Annotations(idx, m.Annotations()).(v1.ImageIndex), nil
}
