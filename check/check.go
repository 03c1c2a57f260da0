package check

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

type options struct {
	log         logrus.FieldLogger
	concurrency int
	client      []registry.Option
}

// Option configures Run.
type Option func(*options)

// WithLogger receives warnings (mirror fallback, retries) and debug lines.
func WithLogger(l logrus.FieldLogger) Option { return func(o *options) { o.log = l } }

// WithConcurrency bounds the digest lookups in flight (default 8).
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.concurrency = n
		}
	}
}

// WithClientOptions passes options to registry.NewClient (transport, retry policy).
func WithClientOptions(opts ...registry.Option) Option {
	return func(o *options) { o.client = append(o.client, opts...) }
}

// Run answers a check request: the versions, oldest first. With a
// registry_mirror it asks the mirror first and falls back to the origin when
// the mirror fails or finds nothing.
func Run(ctx context.Context, req resource.CheckRequest, opts ...Option) (_ resource.CheckResponse, err error) {
	// A URL in an error keeps scheme, host and path, never a token.
	defer func() { err = registry.Redact(err) }()
	o := options{log: logrus.New(), concurrency: 8}
	for _, opt := range opts {
		opt(&o)
	}
	if notice := req.Source.ContentTrustNotice(); notice != "" {
		o.log.Warn(notice)
	}
	mirror, hasMirror, err := req.Source.Mirror()
	if err != nil {
		return nil, err
	}
	if hasMirror {
		versions, err := checkSource(ctx, mirror, req.Version, o)
		switch {
		case err != nil:
			o.log.Warnf("mirror %s failed, using the origin: %v", mirror.Repository, registry.Redact(err))
		case len(versions) == 0:
			o.log.Warnf("mirror %s has no matching version, using the origin", mirror.Repository)
		default:
			return versions, nil
		}
	}
	return checkSource(ctx, req.Source, req.Version, o)
}

func checkSource(ctx context.Context, src resource.Source, cursor *resource.Version, o options) (resource.CheckResponse, error) {
	clientOpts := append([]registry.Option{registry.WithWarnings(o.log.Warnf)}, o.client...)
	client, err := registry.NewClient(ctx, src, clientOpts...)
	if err != nil {
		return nil, err
	}
	l := &lookup{client: client, concurrency: o.concurrency}
	var versions resource.CheckResponse
	switch {
	case src.Tag != "":
		versions, err = checkTag(l, string(src.Tag), cursor)
	case src.TagRegex != "":
		versions, err = checkRegex(ctx, l, src)
	default:
		versions, err = checkSemver(ctx, l, src, cursor)
	}
	if err != nil {
		return nil, err
	}
	if versions, err = verified(ctx, l, src, versions, o.log); err != nil {
		return nil, err
	}
	if versions == nil {
		versions = resource.CheckResponse{}
	}
	return versions, nil
}

// checkTag returns the tag's digest; given a cursor whose digest differs and
// still exists, that one first, so Concourse keeps both in order.
func checkTag(l *lookup, tag string, cursor *resource.Version) (resource.CheckResponse, error) {
	ref := l.client.Repository.Tag(tag)
	digest, found, err := l.client.Digest(ref)
	if err != nil {
		return nil, registry.Explain(fmt.Sprintf("look up %s", ref), l.client.Repository, err)
	}
	if !found {
		return nil, nil
	}
	var versions resource.CheckResponse
	if cursor != nil && cursor.Digest != digest.String() && isDigest(cursor.Digest) {
		prev := l.client.Repository.Digest(cursor.Digest)
		_, stillThere, err := l.client.Digest(prev)
		if err != nil {
			return nil, registry.Explain(fmt.Sprintf("look up %s", prev), l.client.Repository, err)
		}
		if stillThere {
			versions = append(versions, resource.Version{Tag: tag, Digest: cursor.Digest})
		}
	}
	return append(versions, resource.Version{Tag: tag, Digest: digest.String()}), nil
}

// isDigest rejects a cursor digest that could not name a manifest, so that a
// mangled version is treated as gone rather than sent to the registry.
func isDigest(s string) bool {
	_, err := v1.NewHash(s)
	return err == nil
}
