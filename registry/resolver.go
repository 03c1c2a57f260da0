package registry

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/resource"
)

// Endpoint is where a source's images live and how to authenticate there,
// once any cloud token exchange is done.
type Endpoint struct {
	// Repository is fully resolved: for Amazon ECR it carries the derived
	// registry host, which the source does not name.
	Repository name.Repository
	Auth       authn.Authenticator
	// Expires is when Auth stops working; zero when it does not expire
	// (a username and password).
	Expires time.Time
}

// Resolver turns a source into an Endpoint. NewClient calls it once per
// client, so a token it fetches serves the whole step. The default,
// StaticResolver, knows no cloud; the cloud subpackage provides one that
// speaks to Amazon ECR and Azure ACR, kept apart so that linking resource
// does not link their SDKs.
type Resolver interface {
	// Resolve may make requests (a token exchange) through base, the
	// transport the registry requests use (ca_certs, test transports).
	Resolve(ctx context.Context, src resource.Source, base http.RoundTripper) (Endpoint, error)
}

// StaticResolver parses the repository and uses the source's username and
// password, or no credentials.
type StaticResolver struct{}

// Resolve implements Resolver. A source that needs a cloud token exchange
// is an error that says how to get one.
func (StaticResolver) Resolve(_ context.Context, src resource.Source, _ http.RoundTripper) (Endpoint, error) {
	if src.ECR() || src.ACR() {
		return Endpoint{}, fieldErrorf("source."+src.CloudCredentials.FirstSet(),
			"Amazon ECR and Azure ACR need the cloud resolver, which this program does not pass (WithResolver(cloud.NewResolver()))")
	}
	repo, err := src.ParseRepository()
	if err != nil {
		return Endpoint{}, fmt.Errorf("parse repository %q: %w", src.Repository, err)
	}
	return Endpoint{Repository: repo, Auth: basicAuth(src)}, nil
}

func basicAuth(s resource.Source) authn.Authenticator {
	if s.Username == "" && s.Password == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: s.Username, Password: s.Password}
}

// WithResolver replaces StaticResolver, e.g. with cloud.NewResolver().
func WithResolver(r Resolver) Option { return func(o *options) { o.resolver = r } }

// Endpoint returns where the client's source resolved to, credentials
// included: the runtime hook turns them into a pull secret. Never log Auth.
func (c *Client) Endpoint() Endpoint {
	return Endpoint{Repository: c.Repository, Auth: c.auth, Expires: c.expires}
}

// Resolved is a Registry that knows its Endpoint, as *Client does.
// ResolveReference needs it for a cloud source, whose registry host is
// known only once its token is fetched.
type Resolved interface {
	Endpoint() Endpoint
}
