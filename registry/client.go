package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/refimage/refimage/resource"
)

// Client is a source turned into a ready registry connection: the
// repository, authenticated once, and the remote options every call uses.
type Client struct {
	Repository name.Repository
	// Remote holds auth, transport, platform and context for ggcr's remote
	// package; pass it as is.
	Remote []remote.Option

	auth    authn.Authenticator
	expires time.Time
	rt      http.RoundTripper
}

type options struct {
	base      http.RoundTripper
	retry     RetryPolicy
	stall     time.Duration
	answer    time.Duration
	platform  *resource.Platform
	push      bool
	userAgent string
	warn      func(format string, args ...any)
	jobs      int
	resolver  Resolver
}

// Option configures NewClient.
type Option func(*options)

// WithTransport sets the base transport under auth and retries; tests use it
// to count or fault requests. The default is a clone of ggcr's.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.base = rt } }

// WithRetryPolicy replaces the default retry policy for 429 and 5xx answers.
func WithRetryPolicy(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithStallTimeout sets how long a request may move no byte before it is
// abandoned and retried (default DefaultStallTimeout; zero or less turns
// stall detection off). Tests shorten it.
func WithStallTimeout(d time.Duration) Option { return func(o *options) { o.stall = d } }

// WithAnswerTimeout sets how long a write whose body was fully sent may
// wait for its answer (default DefaultAnswerTimeout); a bound shorter than
// the stall timeout's is the stall timeout's.
func WithAnswerTimeout(d time.Duration) Option { return func(o *options) { o.answer = d } }

// WithPlatform overrides the source's platform (in's params.platform).
func WithPlatform(p *resource.Platform) Option { return func(o *options) { o.platform = p } }

// ForPush asks for push as well as pull access.
func ForPush() Option { return func(o *options) { o.push = true } }

// WithWarnings receives retry notices and similar non-fatal events.
func WithWarnings(f func(format string, args ...any)) Option {
	return func(o *options) { o.warn = f }
}

// WithJobs bounds ggcr's concurrent blob transfers.
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// NewClient pings the source's registry and authenticates once, so that the
// calls that follow spend no request on auth. Errors are classified (see
// Explain) and name the registry.
func NewClient(ctx context.Context, src resource.Source, opts ...Option) (*Client, error) {
	o := options{retry: DefaultRetryPolicy(), stall: DefaultStallTimeout, answer: DefaultAnswerTimeout, userAgent: "refimage", jobs: 4, warn: func(string, ...any) {}, resolver: StaticResolver{}}
	for _, opt := range opts {
		opt(&o)
	}
	base := o.base
	if base == nil {
		var err error
		base, err = NewTransport(src.CACerts)
		if err != nil {
			return nil, err
		}
	}
	ep, err := o.resolver.Resolve(ctx, src, base)
	if err != nil {
		return nil, err
	}
	repo, auth := ep.Repository, ep.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	// One retry policy: this transport retries every request it can send
	// again; ggcr's remote retries only the operations it cannot (see
	// RetryOperation), and its own transport retries are off because rt
	// below is a *transport.Wrapper.
	base = &stallTransport{inner: base, after: o.stall, answer: o.answer}
	base = &retryTransport{inner: base, policy: o.retry, warn: o.warn}
	base = transport.NewUserAgent(base, o.userAgent)

	scopes := []string{repo.Scope(transport.PullScope)}
	if o.push {
		scopes = []string{repo.Scope(transport.PushScope)}
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, base, scopes)
	if err != nil {
		return nil, Explain(fmt.Sprintf("connect to %s", repo.RegistryStr()), repo, err)
	}
	p := src.PlatformOr(o.platform)
	return &Client{
		Repository: repo,
		Remote: []remote.Option{
			remote.WithContext(ctx),
			remote.WithTransport(rt),
			remote.WithPlatform(v1.Platform{OS: p.OS, Architecture: p.Architecture}),
			remote.WithJobs(o.jobs),
			remote.WithRetryPredicate(RetryOperation),
			remote.WithRetryBackoff(o.retry.backoff()),
		},
		auth:    auth,
		expires: ep.Expires,
		rt:      rt,
	}, nil
}

// NewTransport is the transport NewClient uses when given none: a clone of
// go-containerregistry's (never the global itself) with ca_certs added to
// the system roots. A long-lived caller (the runtime hook) makes one per
// TLS setting and passes it with WithTransport, so that its clients share
// connections instead of each opening and idling its own.
func NewTransport(caCerts []string) (*http.Transport, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if len(caCerts) == 0 {
		return tr, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for i, cert := range caCerts {
		if !pool.AppendCertsFromPEM([]byte(cert)) {
			return nil, fieldErrorf(fmt.Sprintf("source.ca_certs[%d]", i), "not a PEM certificate")
		}
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

// WithContext is c for calls under ctx: the same connection, auth and
// token, so that a long-lived caller (the runtime hook) pings and
// authenticates once for many calls that each have a context of their own.
func (c *Client) WithContext(ctx context.Context) *Client {
	dup := *c
	// A fresh slice: clients made from one must not share an array that
	// an append could write into.
	dup.Remote = append(slices.Clip(c.Remote), remote.WithContext(ctx))
	return &dup
}

// Digest returns the digest ref points to, and false when the registry has
// no such manifest. It asks with HEAD, which Docker Hub does not count
// against the pull quota, and falls back to GET only when HEAD could not
// answer (no Docker-Content-Digest, or HEAD not allowed).
func (c *Client) Digest(ref name.Reference) (v1.Hash, bool, error) {
	desc, err := remote.Head(ref, c.Remote...)
	if err == nil {
		return desc.Digest, true, nil
	}
	if IsNotFound(err) {
		return v1.Hash{}, false, nil
	}
	if !headUnanswered(err) {
		return v1.Hash{}, false, err
	}
	got, err := remote.Get(ref, c.Remote...)
	if IsNotFound(err) {
		return v1.Hash{}, false, nil
	}
	if err != nil {
		return v1.Hash{}, false, err
	}
	return got.Digest, true, nil
}

// headUnanswered is true when HEAD failed in a way GET may not: a status the
// registry would give GET as well (auth, rate limit, outage) is final.
func headUnanswered(err error) bool {
	var terr *transport.Error
	var netErr net.Error
	switch {
	case errors.As(err, &netErr), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case !errors.As(err, &terr):
		return true
	}
	switch {
	case terr.StatusCode == http.StatusUnauthorized, terr.StatusCode == http.StatusForbidden,
		terr.StatusCode == http.StatusTooManyRequests, terr.StatusCode >= 500:
		return false
	}
	return true
}

// Image fetches ref's manifest, resolving an index to the client's platform.
func (c *Client) Image(ref name.Reference) (v1.Image, error) {
	return remote.Image(ref, c.Remote...)
}

// Referrers lists d's OCI referrers: the registry's referrers API, or the
// sha256-<hex> tag of the fallback scheme where it has none (one more
// request); none is an empty list.
func (c *Client) Referrers(d name.Digest) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(d, c.Remote...)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read the referrers of %s: %w", d, err)
	}
	return m.Manifests, nil
}
