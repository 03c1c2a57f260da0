package hook

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"
)

// lru is a bounded map that drops its least recently used entry when full.
// Entries may carry an expiry; the zero time never expires.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *lruEntry[V], most recent first
	index map[string]*list.Element
}

type lruEntry[V any] struct {
	key     string
	value   V
	expires time.Time
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), index: map[string]*list.Element{}}
}

func (c *lru[V]) get(k string) (V, bool) { return c.getAt(k, time.Time{}) }

// getAt returns k's value unless it expired before now (zero: no check).
func (c *lru[V]) getAt(k string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.index[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*lruEntry[V])
	if !now.IsZero() && !e.expires.IsZero() && !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.index, k)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

func (c *lru[V]) put(k string, v V) { c.putUntil(k, v, time.Time{}) }

func (c *lru[V]) putUntil(k string, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[k]; ok {
		el.Value = &lruEntry[V]{key: k, value: v, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	c.index[k] = c.order.PushFront(&lruEntry[V]{key: k, value: v, expires: expires})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.index, oldest.Value.(*lruEntry[V]).key)
	}
}

// versionCache pins type images that have no checked version (an
// in-process check) or only a tag (one HEAD): one lookup per key and
// interval, however many decisions ask at once.
type versionCache struct {
	pinned   *lru[name.Digest]
	group    singleflight.Group
	interval time.Duration
	now      func() time.Time
}

func newVersionCache(size int, interval time.Duration, now func() time.Time) *versionCache {
	return &versionCache{pinned: newLRU[name.Digest](size), interval: interval, now: now}
}

// get returns key's pinned image, looking it up with lookup when it is not
// cached or its interval has passed. Failures are not cached. The lookup
// runs with ctx's values but not its cancellation, since other callers may
// be waiting for it; each caller stops waiting when its own ctx ends.
func (c *versionCache) get(ctx context.Context, key string, lookup func(context.Context) (name.Digest, error)) (name.Digest, error) {
	if d, ok := c.pinned.getAt(key, c.now()); ok {
		return d, nil
	}
	v, err := shared(ctx, &c.group, key, func() (any, error) {
		if d, ok := c.pinned.getAt(key, c.now()); ok {
			return d, nil
		}
		d, err := lookup(context.WithoutCancel(ctx))
		if err == nil {
			c.pinned.putUntil(key, d, c.now().Add(c.interval))
		}
		return d, err
	})
	if err != nil {
		return name.Digest{}, err
	}
	return v.(name.Digest), nil
}

// shared runs fn once for all concurrent callers of key; a caller stops
// waiting when its own context ends (fn runs on with the context of the
// caller that started it).
func shared(ctx context.Context, g *singleflight.Group, key string, fn func() (any, error)) (any, error) {
	select {
	case r := <-g.DoChan(key, fn):
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
