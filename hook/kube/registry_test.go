package kube_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// authRegistry is ggcr's registry behind TLS and basic auth on loopback,
// the shape of a private registry kubelet pulls from.
type authRegistry struct {
	Host     string
	CAPEM    string
	Pool     *x509.CertPool
	User     string
	Password string
}

func startAuthRegistry(user, password string) *authRegistry {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="refimage-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	DeferCleanup(srv.Close)
	cert := srv.Certificate()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &authRegistry{
		Host:  strings.TrimPrefix(srv.URL, "https://"),
		CAPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		Pool:  pool, User: user, Password: password,
	}
}

// Transport trusts the registry's CA only.
func (r *authRegistry) Transport() http.RoundTripper {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.Pool, MinVersion: tls.VersionTLS12}
	return tr
}

// push writes a random image under tag, as an upstream put would.
func (r *authRegistry) push(repo, tag string) v1.Hash {
	img, err := random.Image(256, 2)
	Expect(err).NotTo(HaveOccurred())
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(ref, img, remote.WithTransport(r.Transport()),
		remote.WithAuth(&authn.Basic{Username: r.User, Password: r.Password}))).To(Succeed())
	d, err := img.Digest()
	Expect(err).NotTo(HaveOccurred())
	return d
}
