package imagetest

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// IndexEntry is one manifest of an index.
type IndexEntry struct {
	Image v1.Image
	// Platform goes into the descriptor; nil means the platform of the
	// image's config. Give {OS: "unknown", Architecture: "unknown"} to mimic
	// the attestation manifests BuildKit adds.
	Platform    *v1.Platform
	Annotations map[string]string // descriptor annotations
}

// Index builds an image index listing entries in the order given, each
// descriptor carrying its platform. It is a Docker manifest list when every
// image is a Docker schema 2 image, an OCI index otherwise.
func Index(entries ...IndexEntry) (v1.ImageIndex, error) {
	indexType := types.DockerManifestList
	adds := make([]mutate.IndexAddendum, 0, len(entries))
	for i, e := range entries {
		mt, err := e.Image.MediaType()
		if err != nil {
			return nil, fmt.Errorf("read media type of index entry %d: %w", i, err)
		}
		if mt != types.DockerManifestSchema2 {
			indexType = types.OCIImageIndex
		}
		platform := e.Platform
		if platform == nil {
			cfg, err := e.Image.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("read config of index entry %d: %w", i, err)
			}
			platform = cfg.Platform()
		}
		adds = append(adds, mutate.IndexAddendum{
			Add: e.Image,
			Descriptor: v1.Descriptor{
				MediaType:   mt,
				Platform:    platform,
				Annotations: e.Annotations,
			},
		})
	}
	if len(entries) == 0 {
		indexType = types.OCIImageIndex
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, indexType), adds...), nil
}

// MultiArch builds one image per platform from spec (same layers, config
// naming its platform, so every digest differs) and an index of them, in
// the order given.
func MultiArch(spec Spec, platforms ...v1.Platform) (v1.ImageIndex, error) {
	entries := make([]IndexEntry, 0, len(platforms))
	for _, p := range platforms {
		s := spec
		s.Platform = &p
		img, err := Image(s)
		if err != nil {
			return nil, fmt.Errorf("build image for %s: %w", p.String(), err)
		}
		entries = append(entries, IndexEntry{Image: img, Platform: &p})
	}
	return Index(entries...)
}
