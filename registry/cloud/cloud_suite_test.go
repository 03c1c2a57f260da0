package cloud_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

func TestCloud(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "cloud")
}

// inReference runs in's reference mode for v of src, resolved by r and
// sent through routes.
func inReference(r registry.Resolver, routes http.RoundTripper, src resource.Source, v resource.Version) (*registry.Reference, error) {
	return registry.ResolveReference(context.Background(), resource.InRequest{Source: src, Version: v},
		func(ctx context.Context, s resource.Source) (registry.Registry, error) {
			return registry.NewClient(ctx, s, registry.WithResolver(r), registry.WithTransport(routes))
		})
}

// routes sends each request for a cloud host name to a loopback server,
// in plain HTTP, keeping the Host header the client meant: the fakes check
// it, and no request ever leaves the machine. A host with no route is an
// error, so an unexpected call (an instance metadata lookup) fails the spec.
type routes struct {
	mu    sync.Mutex
	to    map[string]string // host → http://127.0.0.1:port
	inner http.RoundTripper
	seen  []string
}

func newRoutes() *routes {
	return &routes{to: map[string]string{}, inner: http.DefaultTransport.(*http.Transport).Clone()}
}

func (r *routes) add(host, target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to[host] = target
}

func (r *routes) hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *routes) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	target, ok := r.to[req.URL.Host]
	r.seen = append(r.seen, req.URL.Host)
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("routes: no route to %s (a test must not reach the internet)", req.URL.Host)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
	resp, err := r.inner.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	// A relative Location (an upload's) resolves against the URL the
	// client asked for, so that its credentials still apply.
	resp.Request = req
	return resp, nil
}

// secretsIn returns the secrets that appear in text.
func secretsIn(text string, secrets ...string) []string {
	var found []string
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	return found
}

// awsHTTP is the AWS SDK's own client type, so that AWS_CA_BUNDLE and the
// rest of its configuration apply as in production, dialing each
// host:port in dial to a loopback fake instead of the internet. The fakes
// have httptest's certificate, which names no AWS host: verification is
// off for this loopback-only client.
func awsHTTP(dial map[string]string) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.Proxy = nil
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			target, ok := dial[addr]
			if !ok {
				return nil, fmt.Errorf("awsHTTP: no route to %s (a test must not reach the internet)", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, target)
		}
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback fakes only
	})
}

// azureEnvSet reports whether the process has a managed identity source
// other than the instance metadata endpoint configured.
func azureEnvSet() bool {
	for _, k := range []string{"IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}
