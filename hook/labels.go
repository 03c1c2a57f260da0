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
func CachedLabeler(l Labeler, size int) Labeler {
	c := newCache[map[string]string](size)
	var mu sync.Mutex // one lookup per digest at a time
	return LabelerFunc(func(ctx context.Context, src resource.Source, image name.Digest) (map[string]string, error) {
		key := image.Name()
		if got, ok := c.get(key); ok {
			return got, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if got, ok := c.get(key); ok {
			return got, nil
		}
		labels, err := l.Labels(ctx, src, image)
		if err != nil {
			return nil, err
		}
		c.put(key, labels)
		return labels, nil
	})
}
