package registrytest

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ProxyOption configures a Proxy.
type ProxyOption func(*Proxy)

// WithDelay holds every request for d before handling it, to give a loopback
// registry the latency of a remote one. The wait ends early if the client
// gives up, and the request is then not forwarded.
func WithDelay(d time.Duration) ProxyOption {
	return func(p *Proxy) { p.delay = d }
}

// WithoutRange makes the proxy drop the Range header of every request it
// forwards, so that the target answers 200 with the whole body: a registry
// that ignores Range.
func WithoutRange() ProxyOption {
	return func(p *Proxy) { p.ignoreRange = true }
}

// WithStorageRedirect makes the proxy answer every blob GET with a 307 to
// blob storage, as registries backed by S3, R2 or CloudFront do: to
// /storage/<the blob's path>?query, which the proxy serves as the blob
// (faults match it by PathContains "/storage/"). query is what storage
// URLs carry: a signature and a credential, which must never be printed.
func WithStorageRedirect(query string) ProxyOption {
	return func(p *Proxy) { p.storageQuery = query }
}

// WithUploadQuery adds query to the Location of every upload answer, as
// Distribution adds its signed _state, which must never be printed.
func WithUploadQuery(query string) ProxyOption {
	return func(p *Proxy) { p.uploadQuery = query }
}

// Proxy is a reverse proxy on 127.0.0.1 in front of a target registry. It
// counts requests, can delay them, and injects scripted faults.
//
// It embeds a *Registry describing the proxy itself: Host, Repo, URL and
// RemoteOptions point at the proxy; Username and Password are the target's
// (the proxy checks nothing and passes Authorization through, so the target
// still decides). When the target speaks TLS, so does the proxy, with its
// own CA (in CACertPEM) and a transport to the target that trusts the
// target's CA. Close stops the proxy only, never the target.
type Proxy struct {
	*Registry

	delay        time.Duration
	ignoreRange  bool
	storageQuery string
	uploadQuery  string
	rp           *httputil.ReverseProxy
	closing      chan struct{}

	mu     sync.Mutex
	conns  int
	counts RequestCounts
	sent   Sent
	faults []*Fault
}

// NewProxy starts a proxy in front of target. It panics if the proxy's TLS
// certificate cannot be generated, which only a broken crypto/rand causes.
func NewProxy(target *Registry, opts ...ProxyOption) *Proxy {
	u, err := url.Parse(target.URL())
	if err != nil {
		panic(fmt.Errorf("start proxy: parse target URL: %w", err))
	}
	p := &Proxy{closing: make(chan struct{})}
	transport := target.Transport()
	for _, opt := range opts {
		opt(p)
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// Keep the client's Host so that a registry building absolute
			// upload URLs (Distribution does) points them at the proxy;
			// otherwise uploads would bypass it.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:      transport,
		ModifyResponse: p.addUploadQuery,
		// Cut connections and abandoned clients are the point of the
		// proxy, not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv, caPEM, err := serve(p, !target.Insecure(), p.countConn)
	if err != nil {
		panic(fmt.Errorf("start proxy: %w", err))
	}
	p.Registry = &Registry{
		Host:      srv.Listener.Addr().String(),
		Username:  target.Username,
		Password:  target.Password,
		CACertPEM: caPEM,
		stop: func() {
			close(p.closing)
			srv.Close()
			transport.CloseIdleConnections()
		},
	}
	return p
}

// Counts returns a copy of the counters.
func (p *Proxy) Counts() RequestCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts.clone()
}

// Connections returns how many connections clients opened to the proxy
// since it started (Reset does not forget them): a client that reuses its
// connections opens few.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

func (p *Proxy) countConn(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		p.mu.Lock()
		p.conns++
		p.mu.Unlock()
	}
}

// Sent returns the bytes sent so far.
func (p *Proxy) Sent() Sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// Reset zeroes the counters and drops every pending fault.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = RequestCounts{}
	p.sent = Sent{}
	p.faults = nil
}

// Fail queues a fault. Faults are tried in the order they were queued; the
// first one that matches a request and has uses left applies to it.
func (p *Proxy) Fail(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

// ServeHTTP counts, delays, and then either answers with a fault or
// forwards to the target.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.counts.add(r.Method, Classify(r))
	if p.delay > 0 {
		p.counts.Delayed++
	}
	p.mu.Unlock()

	if !p.wait(r, p.delay) {
		return
	}

	if p.storageQuery != "" && Classify(r) == KindBlobGET {
		http.Redirect(w, r, "/storage"+r.URL.Path+"?"+p.storageQuery, http.StatusTemporaryRedirect)
		return
	}
	f := p.takeFault(r)
	switch {
	case f != nil && f.Kind == RespondStatus:
		f.respond(w)
		return
	case f != nil && f.Kind == StallRequest:
		_, _ = io.CopyN(io.Discard, r.Body, f.Offset)
		p.hold(r)
		return
	case f != nil && f.Kind == DropConnection:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	case f != nil && f.Kind == DelayAnswer:
		if !p.wait(r, f.Delay) {
			return
		}
		f = nil
	}
	kind := Classify(r)
	p.mu.Lock()
	p.counts.Forwarded++
	if kind == KindBlobGET && r.Header.Get("Range") != "" {
		p.counts.RangeRequests++
	}
	p.mu.Unlock()
	if p.ignoreRange {
		r.Header.Del("Range")
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/storage/"); ok && p.storageQuery != "" {
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = "/"+rest, "", ""
	}
	w = &countingWriter{ResponseWriter: w, count: func(n int) { p.countSent(kind, n) }}
	if f != nil {
		w = &bodyFault{ResponseWriter: w, kind: f.Kind, offset: f.Offset, hold: func() { p.hold(r) }}
	}
	p.rp.ServeHTTP(w, r)
}

// addUploadQuery is the reverse proxy's ModifyResponse: see WithUploadQuery.
func (p *Proxy) addUploadQuery(resp *http.Response) error {
	loc := resp.Header.Get("Location")
	if p.uploadQuery == "" || !strings.Contains(loc, "/blobs/uploads/") {
		return nil
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	resp.Header.Set("Location", loc+sep+p.uploadQuery)
	return nil
}

// hold blocks until r's client goes away or the proxy closes.
func (p *Proxy) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.closing:
	}
}

func (p *Proxy) countSent(k Kind, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent.Body += int64(n)
	if k == KindBlobGET {
		p.sent.Blob += int64(n)
	}
}

// wait sleeps for d and reports whether to go on: not when the client went
// away or the proxy is closing.
func (p *Proxy) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-p.closing:
		return false
	}
}

// takeFault returns the fault to apply to r, if any, using up one of its
// Times and counting it.
func (p *Proxy) takeFault(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.faults {
		if !f.matches(r) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				p.faults = append(p.faults[:i:i], p.faults[i+1:]...)
			}
		}
		p.counts.Faults++
		return f
	}
	return nil
}
