package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/resource"
)

// cache is a bounded map; when full it is emptied, which is enough for
// entries that are cheap to recompute and never go stale (a digest names
// the same bytes forever).
type cache[V any] struct {
	mu   sync.Mutex
	max  int
	data map[string]V
}

func newCache[V any](max int) *cache[V] { return &cache[V]{max: max, data: map[string]V{}} }

func (c *cache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.data[k]
	return v, ok
}

func (c *cache[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) >= c.max {
		clear(c.data)
	}
	c.data[k] = v
}

// openCached opens a registry lazily: a digest already proven to exist with
// the same credentials costs no request, not even the auth ping.
func (h *Hook) openCached(ctx context.Context, src resource.Source) (resource.Registry, error) {
	return &cachedRegistry{h: h, ctx: ctx, src: src, who: credentialKey(src.Credentials)}, nil
}

// credentialKey identifies credentials in memory without holding them: a
// proof of existence made with one account is not reused for another.
func credentialKey(c resource.Credentials) string {
	sum := sha256.Sum256([]byte(c.Username + "\x00" + c.Password))
	return hex.EncodeToString(sum[:8])
}

type cachedRegistry struct {
	h      *Hook
	ctx    context.Context
	src    resource.Source
	who    string
	client resource.Registry
}

func (r *cachedRegistry) connect() (resource.Registry, error) {
	if r.client != nil {
		return r.client, nil
	}
	c, err := r.h.open(r.ctx, r.src)
	if err != nil {
		return nil, err
	}
	r.client = c
	return c, nil
}

func (r *cachedRegistry) Digest(ref name.Reference) (v1.Hash, bool, error) {
	d, pinned := ref.(name.Digest)
	key := ref.Name() + "\x00" + r.who
	if pinned {
		if _, ok := r.h.proven.get(key); ok {
			h, err := v1.NewHash(d.DigestStr())
			return h, true, err
		}
	}
	c, err := r.connect()
	if err != nil {
		return v1.Hash{}, false, err
	}
	h, found, err := c.Digest(ref)
	if err == nil && found {
		// A tag's HEAD proves its digest exists too: resolving a tag and
		// then proving the digest costs one request, not two.
		r.h.proven.put(ref.Context().Digest(h.String()).Name()+"\x00"+r.who, struct{}{})
	}
	return h, found, err
}

func (r *cachedRegistry) Image(ref name.Reference) (v1.Image, error) {
	_, pinned := ref.(name.Digest)
	// An index resolves to one image per platform.
	p := r.src.PlatformOr(nil)
	key := ref.Name() + "\x00" + r.who + "\x00" + p.OS + "/" + p.Architecture
	if pinned {
		if img, ok := r.h.images.get(key); ok {
			return img, nil
		}
	}
	c, err := r.connect()
	if err != nil {
		return nil, err
	}
	img, err := c.Image(ref)
	if err == nil && pinned {
		r.h.images.put(key, img)
	}
	return img, err
}
