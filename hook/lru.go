package hook

import (
	"container/list"
	"context"
	"strings"
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

// deletePrefix drops every entry whose key starts with prefix.
func (c *lru[V]) deletePrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.index {
		if strings.HasPrefix(k, prefix) {
			c.order.Remove(el)
			delete(c.index, k)
		}
	}
}

// versionCache pins type images that have no checked version (an
// in-process check) or only a tag (one HEAD): one lookup per key and
// interval, however many decisions ask at once.
type versionCache struct {
	pinned   *lru[name.Digest]
	failed   *lru[error]
	group    singleflight.Group
	interval time.Duration
	failure  time.Duration
	now      func() time.Time
}

func newVersionCache(size int, interval, failure time.Duration, now func() time.Time) *versionCache {
	return &versionCache{pinned: newLRU[name.Digest](size), failed: newLRU[error](size), interval: interval, failure: failure, now: now}
}

// get returns key's pinned image, looking it up with lookup when it is not
// cached or its interval has passed. A failure is remembered for the
// failure interval, so that a registry that is down costs one lookup (and
// its retries) per key and interval, not one per decision. The lookup
// runs with ctx's values but not its cancellation, since other callers may
// be waiting for it; each caller stops waiting when its own ctx ends.
func (c *versionCache) get(ctx context.Context, key string, lookup func(context.Context) (name.Digest, error)) (name.Digest, error) {
	if d, ok := c.pinned.getAt(key, c.now()); ok {
		return d, nil
	}
	if err, ok := c.failed.getAt(key, c.now()); ok {
		return name.Digest{}, err
	}
	v, err := shared(ctx, &c.group, key, func() (any, error) {
		if d, ok := c.pinned.getAt(key, c.now()); ok {
			return d, nil
		}
		if err, ok := c.failed.getAt(key, c.now()); ok {
			return name.Digest{}, err
		}
		d, err := lookup(context.WithoutCancel(ctx))
		if err == nil {
			c.pinned.putUntil(key, d, c.now().Add(c.interval))
		} else {
			c.failed.putUntil(key, err, c.now().Add(c.failure))
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
