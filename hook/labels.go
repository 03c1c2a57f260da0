package hook

import (
	"context"
	"fmt"
	"time"

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
// answers are dropped past size); a failure is remembered for
// DefaultFailureInterval, so that a registry that is down costs one lookup
// per digest and interval, not one per decision. Concurrent lookups of one
// digest share one request, which the first caller's cancellation does not
// stop; each caller stops waiting when its own context ends.
func CachedLabeler(l Labeler, size int) Labeler {
	return cachedLabeler(l, size, DefaultFailureInterval, time.Now)
}

func cachedLabeler(l Labeler, size int, failure time.Duration, now func() time.Time) Labeler {
	c := newLRU[map[string]string](size)
	failed := newLRU[error](size)
	var group singleflight.Group
	return LabelerFunc(func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
		key := image.Name()
		if got, ok := c.get(key); ok {
			return got, nil
		}
		if err, ok := failed.getAt(key, now()); ok {
			return nil, err
		}
		v, err := shared(ctx, &group, key, func() (any, error) {
			if err, ok := failed.getAt(key, now()); ok {
				return nil, err
			}
			labels, err := l.Labels(context.WithoutCancel(ctx), src, image)
			if err == nil {
				c.put(key, labels)
			} else {
				failed.putUntil(key, err, now().Add(failure))
			}
			return labels, err
		})
		labels, _ := v.(map[string]string)
		return labels, err
	})
}
