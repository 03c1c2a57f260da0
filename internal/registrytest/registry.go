package registrytest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is a running registry (or proxy) listening on 127.0.0.1.
type Registry struct {
	// Host is "127.0.0.1:PORT" (or the WithListenIP address), the registry
	// part of an image reference.
	Host string
	// Username and Password are the basic-auth credentials; both empty when
	// the registry accepts anonymous requests.
	Username, Password string
	// CACertPEM is the PEM of the CA that signed the server certificate, or
	// nil when the registry speaks plain HTTP.
	CACertPEM []byte
	// Dir is the temporary directory holding a child registry's storage,
	// configuration and log; empty for in-process registries. Close removes it.
	Dir string

	logPath   string
	stop      func()
	closeOnce sync.Once
}

// Close stops the registry and removes its temporary files. It is safe to
// call more than once, so it can be both deferred and registered as cleanup.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		if r.stop != nil {
			r.stop()
		}
	})
}

// Repo returns the reference of repository name on this registry,
// "127.0.0.1:PORT/name".
func (r *Registry) Repo(name string) string {
	return r.Host + "/" + name
}

// Insecure reports whether the registry speaks plain HTTP.
func (r *Registry) Insecure() bool {
	return r.CACertPEM == nil
}

// URL returns the base URL of the registry, "http://127.0.0.1:PORT" or
// "https://127.0.0.1:PORT", for tests that speak HTTP directly.
func (r *Registry) URL() string {
	if r.Insecure() {
		return "http://" + r.Host
	}
	return "https://" + r.Host
}

// Transport returns a new transport that trusts the registry's CA (when it
// has one) and adds no credentials. It is a clone of http.DefaultTransport,
// which is never modified.
func (r *Registry) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if r.CACertPEM != nil {
		pool := x509.NewCertPool()
		// The PEM is ours and was parsed when generated, so it cannot fail.
		pool.AppendCertsFromPEM(r.CACertPEM)
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t
}

// Authenticator returns the registry's credentials, or anonymous access.
func (r *Registry) Authenticator() authn.Authenticator {
	if r.Username == "" && r.Password == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: r.Username, Password: r.Password})
}

// RemoteOptions returns go-containerregistry options that authenticate to
// the registry and trust its CA, so that tests can push fixtures and read
// them back.
func (r *Registry) RemoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuth(r.Authenticator()),
		remote.WithTransport(r.Transport()),
	}
}

// Log returns what a child registry has written to stdout and stderr so far
// (empty for in-process registries and proxies), to explain a failed spec.
func (r *Registry) Log() string {
	if r.logPath == "" {
		return ""
	}
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return "read registry log: " + err.Error()
	}
	return string(b)
}

// Source is a refimage source (as a pipeline writes it) that reaches repo
// on this registry: insecure for plain HTTP, the CA for TLS, and the
// credentials when there are some.
func (r *Registry) Source(repo string) map[string]any {
	src := map[string]any{"repository": repo}
	if r.Insecure() {
		src["insecure"] = true
	} else {
		src["ca_certs"] = []string{string(r.CACertPEM)}
	}
	if r.Username != "" {
		src["username"], src["password"] = r.Username, r.Password
	}
	return src
}
