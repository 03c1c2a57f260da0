package hook

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Labeler reads the config labels of the image at a pinned reference,
// reached through src (credentials, TLS, mirror).
type Labeler interface {
	Labels(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error)
}

// LabelerFunc adapts a function to Labeler.
type LabelerFunc func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error)

// Labels calls f.
func (f LabelerFunc) Labels(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
	return f(ctx, src, image)
}

// RegistryLabeler reads labels from the registry: the manifest and the
// config blob, no layer.
func RegistryLabeler(open registry.OpenFunc) Labeler {
	return LabelerFunc(func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
		reg, err := open(ctx, src)
		if err != nil {
			return nil, err
		}
		img, err := reg.Image(image)
		if err != nil {
			return nil, registry.Explain(fmt.Sprintf("fetch %s", image), image.Repository, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, registry.Explain(fmt.Sprintf("read the config of %s", image), image.Repository, err)
		}
		return cfg.Config.Labels, nil
	})
}

// CachedLabeler asks l once per image digest (the least recently used
// answers are dropped past size); failures are not cached. Concurrent
// lookups of one digest share one request, which the first caller's
// cancellation does not stop; each caller stops waiting when its own
// context ends.
func CachedLabeler(l Labeler, size int) Labeler {
	c := newLRU[map[string]string](size)
	var group singleflight.Group
	return LabelerFunc(func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
		key := image.Name()
		if got, ok := c.get(key); ok {
			return got, nil
		}
		v, err := shared(ctx, &group, key, func() (any, error) {
			labels, err := l.Labels(context.WithoutCancel(ctx), src, image)
			if err == nil {
				c.put(key, labels)
			}
			return labels, err
		})
		labels, _ := v.(map[string]string)
		return labels, err
	})
}
