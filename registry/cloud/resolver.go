package cloud

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Resolver is a registry.Resolver for Amazon ECR and Azure ACR sources;
// any other source goes to registry.StaticResolver. It keeps each token
// until shortly before it expires, so one Resolver serves a step, or a
// runtime hook's lifetime, with one token exchange per source. It is safe
// for concurrent use.
type Resolver struct {
	o options

	mu     sync.Mutex
	tokens map[[32]byte]registry.Endpoint
}

type options struct {
	awsLoad []func(*config.LoadOptions) error
	secrets func(...string)
	warn    func(format string, args ...any)
	now     func() time.Time
}

// Option configures NewResolver.
type Option func(*options)

// WithSecrets receives every credential obtained at run time (ECR token,
// assumed-role keys, Azure access and refresh tokens) before it is used,
// so that a process can redact them from its output as it does the
// source's own secrets.
func WithSecrets(f func(secrets ...string)) Option { return func(o *options) { o.secrets = f } }

// WithWarnings receives non-fatal notices (a deprecated field).
func WithWarnings(f func(format string, args ...any)) Option { return func(o *options) { o.warn = f } }

// WithAWSLoadOptions adds options to config.LoadDefaultConfig, after the
// region and the source's keys: an HTTP client or endpoints for ECR and STS
// (tests point them at loopback fakes), or shared config and credentials
// files (tests exercise the default credential chain with their own).
func WithAWSLoadOptions(opts ...func(*config.LoadOptions) error) Option {
	return func(o *options) { o.awsLoad = append(o.awsLoad, opts...) }
}

// WithClock replaces time.Now when deciding whether a kept token is fresh.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// NewResolver returns a Resolver. With no options it uses the default AWS
// credential chain (environment, shared files, container and instance
// roles) when a source gives no keys, and the host's managed identity for
// ACR.
func NewResolver(opts ...Option) *Resolver {
	o := options{secrets: func(...string) {}, warn: func(string, ...any) {}, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return &Resolver{o: o, tokens: map[[32]byte]registry.Endpoint{}}
}

// freshFor is how long a kept token must still be valid to be reused: a
// step that starts with it must be able to finish.
const freshFor = 15 * time.Minute

// Resolve implements registry.Resolver. Azure's requests (the managed
// identity endpoint, the ACR token exchange) go through base, the transport
// the registry requests use, so that ca_certs apply to the exchange with the
// registry; the AWS SDK keeps its own client (see WithAWSLoadOptions).
func (r *Resolver) Resolve(ctx context.Context, src resource.Source, base http.RoundTripper) (registry.Endpoint, error) {
	if !src.ECR() && !src.ACR() {
		return registry.StaticResolver{}.Resolve(ctx, src, base)
	}
	key := tokenKey(src)
	r.mu.Lock()
	ep, ok := r.tokens[key]
	r.mu.Unlock()
	if ok && ep.Expires.After(r.o.now().Add(freshFor)) {
		return ep, nil
	}
	var err error
	if src.ECR() {
		ep, err = r.ecr(ctx, src)
	} else {
		ep, err = r.acr(ctx, src, base)
	}
	if err != nil {
		return registry.Endpoint{}, err
	}
	if !ep.Expires.IsZero() {
		r.mu.Lock()
		r.tokens[key] = ep
		r.mu.Unlock()
	}
	return ep, nil
}

// tokenKey identifies a source's cloud identity without keeping its
// secrets in memory as map keys.
func tokenKey(src resource.Source) [32]byte {
	b, _ := json.Marshal(struct {
		Repository string
		Insecure   bool
		Cloud      resource.CloudCredentials
	}{src.Repository, src.Insecure, src.CloudCredentials})
	return sha256.Sum256(b)
}
