package resourceimage

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// WriteLayout writes idx as an OCI image layout in dir, which must not
// exist yet or be empty: index.json lists idx alone, named by version, so
// that out (or crane, or skopeo) pushes it as one index.
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("write OCI layout: %s is not empty: give a new directory", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationRefName: version})); err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	return nil
}

// ReadLayout reads back the index WriteLayout wrote.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	root, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	m, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("read OCI layout %s: index.json lists %d manifests, want the one index WriteLayout writes", dir, len(m.Manifests))
	}
	idx, err := root.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	return idx, nil
}

// Push uploads idx to repository under each tag and returns its pinned
// reference (repository@sha256:…).
func Push(ctx context.Context, repository string, tags []string, idx v1.ImageIndex, opts ...remote.Option) (name.Digest, error) {
	repo, err := name.NewRepository(repository)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parse registry %q: %w (give host/repository)", repository, err)
	}
	if len(tags) == 0 {
		return name.Digest{}, fmt.Errorf("push to %s: no tag", repo)
	}
	opts = append(opts, remote.WithContext(ctx))
	for _, t := range tags {
		if err := remote.WriteIndex(repo.Tag(t), idx, opts...); err != nil {
			return name.Digest{}, fmt.Errorf("push %s: %w", repo.Tag(t), err)
		}
	}
	d, err := idx.Digest()
	if err != nil {
		return name.Digest{}, fmt.Errorf("digest index: %w", err)
	}
	return repo.Digest(d.String()), nil
}
