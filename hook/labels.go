package hook

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

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
func RegistryLabeler(open resource.OpenFunc) Labeler {
	return LabelerFunc(func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
		reg, err := open(ctx, src)
		if err != nil {
			return nil, err
		}
		img, err := reg.Image(image)
		if err != nil {
			return nil, resource.Explain(fmt.Sprintf("fetch %s", image), image.Repository, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, resource.Explain(fmt.Sprintf("read the config of %s", image), image.Repository, err)
		}
		return cfg.Config.Labels, nil
	})
}

// CachedLabeler asks l once per image digest; failures are not cached.
// Lookups of different digests run side by side; a caller waiting for
// another's lookup of the same digest stops when its own context ends, and
// looks up itself when that lookup failed.
func CachedLabeler(l Labeler, size int) Labeler {
	c := newCache[map[string]string](size)
	var mu sync.Mutex
	inflight := map[string]chan struct{}{}
	return LabelerFunc(func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
		key := image.Name()
		for {
			if got, ok := c.get(key); ok {
				return got, nil
			}
			mu.Lock()
			done, busy := inflight[key]
			if !busy {
				done = make(chan struct{})
				inflight[key] = done
			}
			mu.Unlock()
			if busy {
				select {
				case <-done:
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			labels, err := l.Labels(ctx, src, image)
			if err == nil {
				c.put(key, labels)
			}
			mu.Lock()
			delete(inflight, key)
			mu.Unlock()
			close(done)
			return labels, err
		}
	})
}
