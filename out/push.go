package out

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// push uploads a's blobs (concurrently, skipping those the repository has
// and mounting those its base repository has), then its manifest by digest,
// then each tag. On failure it says which tags were and were not pushed.
func push(ctx context.Context, client *registry.Client, a *artifact, tags []string, anonymous bool, log logrus.FieldLogger) error {
	repo := client.Repository
	pusher, err := remote.NewPusher(client.Remote...)
	if err != nil {
		return fmt.Errorf("set up push to %s: %w", repo, err)
	}
	byDigest := repo.Digest(a.digest.String())
	n, size := a.layerCount()
	log.Infof("pushing %s: %s %s (%d layers, %s) to %s", a.path, a.kind, a.digest, n, humanBytes(size), repo)
	taggable := a.taggable
	if from, ok := mountSource(repo, a.bases); ok {
		log.Debugf("layers not in %s will be mounted from %s when it has them", repo, from)
		taggable = mountable(taggable, from)
	}
	if err := pusher.Push(ctx, byDigest, taggable); err != nil {
		return fmt.Errorf("%w; no tag was pushed (%s)", explain("push "+byDigest.String(), repo, anonymous, err), strings.Join(tags, ", "))
	}
	for i, t := range tags {
		ref := repo.Tag(t)
		if err := pusher.Put(ctx, ref, a.taggable); err != nil {
			return fmt.Errorf("%w; %s", explain("tag "+ref.String(), repo, anonymous, err), tagProgress(tags[:i], tags[i:]))
		}
		log.Infof("tagged %s", ref)
	}
	return nil
}

// explain classifies err as registry.Explain does, and adds what only a
// push can mean: a 401 without credentials asks for some, and a blob the
// registry finds corrupt comes from a corrupt image on disk.
func explain(op string, repo name.Repository, anonymous bool, err error) error {
	err = registry.Explain(op, repo, err)
	var rerr *registry.RegistryError
	if !errors.As(err, &rerr) {
		return err
	}
	switch {
	case anonymous && rerr.Status == http.StatusUnauthorized:
		rerr.Hint = fmt.Sprintf("%s needs credentials to push: set username and password in source", repo.RegistryStr())
	case rerr.Status == http.StatusBadRequest && strings.Contains(rerr.Err.Error(), "DIGEST_INVALID"):
		rerr.Hint = "a blob of params.image does not match its digest: the image on disk is corrupt, build it again"
	}
	return err
}

func tagProgress(pushed, notPushed []string) string {
	did := "none"
	if len(pushed) > 0 {
		did = strings.Join(pushed, ", ")
	}
	return fmt.Sprintf("the image was pushed by digest; tags pushed: %s; tags not pushed: %s", did, strings.Join(notPushed, ", "))
}

// mountSource picks the first base image in the same registry but another
// repository: the registry can then link its layers instead of receiving
// them again.
func mountSource(repo name.Repository, bases []string) (name.Reference, bool) {
	for _, b := range bases {
		ref, err := resource.ParseReference(b)
		if err != nil {
			continue
		}
		if ref.Context().RegistryStr() == repo.RegistryStr() && ref.Context().RepositoryStr() != repo.RepositoryStr() {
			return ref, true
		}
	}
	return nil, false
}

// mountable wraps t so that ggcr asks the registry to mount each missing
// layer from from, and uploads it only when the mount is refused.
func mountable(t remote.Taggable, from name.Reference) remote.Taggable {
	switch t := t.(type) {
	case v1.Image:
		return mountImage{Image: t, from: from}
	case v1.ImageIndex:
		return mountIndex{idx: t, from: from}
	}
	return t
}

type mountImage struct {
	v1.Image
	from name.Reference
}

func (m mountImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &remote.MountableLayer{Layer: l, Reference: m.from}
	}
	return out, nil
}

// mountIndex cannot embed v1.ImageIndex: its ImageIndex method would clash
// with the field, so it delegates by hand.
type mountIndex struct {
	idx  v1.ImageIndex
	from name.Reference
}

func (m mountIndex) MediaType() (types.MediaType, error)       { return m.idx.MediaType() }
func (m mountIndex) Digest() (v1.Hash, error)                  { return m.idx.Digest() }
func (m mountIndex) Size() (int64, error)                      { return m.idx.Size() }
func (m mountIndex) IndexManifest() (*v1.IndexManifest, error) { return m.idx.IndexManifest() }
func (m mountIndex) RawManifest() ([]byte, error)              { return m.idx.RawManifest() }

func (m mountIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := m.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return mountImage{Image: img, from: m.from}, nil
}

func (m mountIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := m.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return mountIndex{idx: idx, from: m.from}, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
