package hook

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/resource"
)

// Hook answers a runtime's get steps. It caches proven digests and image
// labels, so that one Hook serves a runtime's lifetime; it is safe for
// concurrent use.
type Hook struct {
	labels     Labeler
	clientOpts []resource.Option
	open       resource.OpenFunc
	proven     *cache[struct{}]
	images     *cache[v1.Image]
	nodePulls  nodePulls
}

// nodePulls records which cloud registries the nodes pull from with their
// own identity, so that no pull secret is made for them.
type nodePulls struct{ ecr, acr bool }

type options struct {
	labels     Labeler
	noLabels   bool
	clientOpts []resource.Option
	open       resource.OpenFunc
	cacheSize  int
	nodePulls  nodePulls
}

// Option configures New.
type Option func(*options)

// WithLabeler replaces the registry lookup of a custom type's image labels
// (the third eligibility rule); the hook caches its answers per image
// digest. Nil turns the rule off: only produces declarations count.
func WithLabeler(l Labeler) Option {
	return func(o *options) { o.labels, o.noLabels = l, l == nil }
}

// WithClientOptions passes options to resource.NewClient (transport, retry
// policy) for every registry request the hook makes.
func WithClientOptions(opts ...resource.Option) Option {
	return func(o *options) { o.clientOpts = append(o.clientOpts, opts...) }
}

// WithOpen replaces how a source becomes a registry connection; tests use
// it to count requests. The default is resource.NewClient.
func WithOpen(open resource.OpenFunc) Option { return func(o *options) { o.open = open } }

// NodesPullFromECR says the cluster's nodes pull from Amazon ECR with their
// own identity (an instance role and kubelet's ECR credential provider):
// Resolve then makes no pull secret for an ECR source. Without it, the pull
// secret holds the step's short-lived ECR token, and its expiry is stated.
func NodesPullFromECR() Option { return func(o *options) { o.nodePulls.ecr = true } }

// NodesPullFromACR is NodesPullFromECR for Azure ACR (AKS nodes with the
// registry attached).
func NodesPullFromACR() Option { return func(o *options) { o.nodePulls.acr = true } }

// WithCacheSize bounds each cache (proven digests, fetched manifests,
// labels); the default is 4096 entries. A full cache is emptied.
func WithCacheSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheSize = n
		}
	}
}

// New returns a Hook. The zero configuration talks to registries with
// resource.NewClient and reads custom types' labels from their images.
func New(opts ...Option) *Hook {
	o := options{cacheSize: 4096}
	for _, opt := range opts {
		opt(&o)
	}
	h := &Hook{clientOpts: o.clientOpts, proven: newCache[struct{}](o.cacheSize), images: newCache[v1.Image](o.cacheSize), nodePulls: o.nodePulls}
	h.open = o.open
	if h.open == nil {
		h.open = func(ctx context.Context, src resource.Source) (resource.Registry, error) {
			return resource.NewClient(ctx, src, h.clientOpts...)
		}
	}
	switch {
	case o.labels != nil:
		h.labels = CachedLabeler(o.labels, o.cacheSize)
	case !o.noLabels:
		h.labels = CachedLabeler(RegistryLabeler(h.openCached), o.cacheSize)
	}
	return h
}
