package registrytest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
)

// NewInProcess starts go-containerregistry's in-memory registry on an
// httptest server bound to 127.0.0.1. It panics if the server's TLS
// certificate cannot be generated, which only a broken crypto/rand causes;
// that keeps it usable in one line from BeforeEach.
func NewInProcess(opts ...Option) *Registry {
	o := collect(opts)
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if o.username != "" || o.password != "" {
		h = requireBasicAuth(o.username, o.password, h)
	}
	srv, caPEM, err := serve(h, o.tls, nil)
	if err != nil {
		panic(fmt.Errorf("start in-process registry: %w", err))
	}
	return &Registry{
		Host:      strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://"),
		Username:  o.username,
		Password:  o.password,
		CACertPEM: caPEM,
		stop:      srv.Close,
	}
}

// serve starts h on an httptest server (which listens on 127.0.0.1), over
// TLS with a fresh CA when asked, and returns the CA's PEM (nil for HTTP).
// HTTP/2 stays off: the proxy's connection-cut fault needs to hijack
// HTTP/1.1 connections.
func serve(h http.Handler, withTLS bool, connState func(net.Conn, http.ConnState)) (*httptest.Server, []byte, error) {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = connState
	// Clients that race https against http (go-containerregistry does on
	// loopback) cause handshake errors that are expected; keep them quiet.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if !withTLS {
		srv.Start()
		return srv, nil, nil
	}
	ca, cert, err := newTLSPair()
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.tls}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	return srv, ca.certPEM, nil
}
