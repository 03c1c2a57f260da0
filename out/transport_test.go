package out_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// recordingTransport records every request's method and path, and counts
// the body bytes sent to blob upload endpoints: the bytes a push uploads.
type recordingTransport struct {
	inner    http.RoundTripper
	uploaded atomic.Int64

	mu       sync.Mutex
	requests []string
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.requests = append(t.requests, req.Method+" "+req.URL.Path)
	t.mu.Unlock()
	if req.Body != nil && strings.Contains(req.URL.Path, "/blobs/uploads/") {
		req.Body = &countingBody{ReadCloser: req.Body, n: &t.uploaded}
	}
	return t.inner.RoundTrip(req)
}

func (t *recordingTransport) log() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string{}, t.requests...)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
