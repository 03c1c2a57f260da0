package registrytest

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// FaultKind says what a Fault does to the requests it matches.
type FaultKind int

const (
	// RespondStatus answers with Status, Header and Body without reaching
	// the target: a 429 with Retry-After, a 500, a 404 that the real
	// registry would not give.
	RespondStatus FaultKind = iota
	// CutBody forwards the request, sends the target's status, headers and
	// the first Offset bytes of its body, then closes the connection: the
	// client sees an unexpected EOF, as when a network drops mid-blob.
	CutBody
	// CorruptBody forwards the request and flips the bits of the body byte
	// at Offset; length and headers are unchanged, so only verifying the
	// digest of what was read catches it.
	CorruptBody
	// StallBody forwards the request, sends the target's status, headers
	// and the first Offset bytes of its body, then sends nothing more and
	// keeps the connection open until the client gives up or the proxy
	// closes: a registry that stops mid-answer.
	StallBody
	// StallRequest reads the first Offset bytes of the request's body, then
	// reads no more and answers nothing until the client gives up or the
	// proxy closes: a registry that stops taking an upload.
	StallRequest
	// DelayAnswer holds the request for Delay (its body unread), then
	// forwards it: a registry that takes its time to answer, as one
	// committing a large upload does.
	DelayAnswer
	// DropConnection closes the connection without reading the request's
	// body or answering: a network that drops mid-request.
	DropConnection
)

// Fault is a scripted misbehaviour of a Proxy. A request matches when its
// method equals Method (any method when empty) and its path contains
// PathContains (any path when empty).
type Fault struct {
	Method       string
	PathContains string
	// Times is how many matching requests the fault applies to; zero or
	// less means every matching request until Reset.
	Times int

	Kind FaultKind

	// Status, Header and Body make up a RespondStatus answer; Status 0
	// means 500, and a nil Body gets a registry-style JSON error.
	Status int
	Header http.Header
	Body   []byte

	// Delay is how long a DelayAnswer holds the request.
	Delay time.Duration

	// Offset is, for CutBody and StallBody, how many body bytes reach the
	// client before the cut or stall; for StallRequest, how many bytes of
	// the request's body the proxy reads; for CorruptBody, which byte is
	// corrupted (a body no longer than Offset passes unchanged).
	Offset int64
}

func (f *Fault) matches(r *http.Request) bool {
	return (f.Method == "" || strings.EqualFold(f.Method, r.Method)) &&
		strings.Contains(r.URL.Path, f.PathContains)
}

// respond writes a RespondStatus fault's answer.
func (f *Fault) respond(w http.ResponseWriter) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body := f.Body
	if body == nil {
		body = []byte(`{"errors":[{"code":"UNKNOWN","message":"injected by registrytest proxy"}]}` + "\n")
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errCut stops the reverse proxy's copy once a CutBody fault has closed the
// connection.
var errCut = errors.New("connection cut by registrytest fault")

// bodyFault wraps the ResponseWriter the reverse proxy writes the target's
// answer into, and applies a CutBody or CorruptBody fault on the way out.
type bodyFault struct {
	http.ResponseWriter
	kind    FaultKind
	offset  int64
	written int64
	cut     bool
	// hold blocks a StallBody until the client or the proxy gives up.
	hold func()
}

func (w *bodyFault) Write(p []byte) (int, error) {
	if w.cut {
		return 0, errCut
	}
	switch w.kind {
	case CutBody:
		if left := w.offset - w.written; int64(len(p)) >= left {
			n, err := w.ResponseWriter.Write(p[:left])
			w.written += int64(n)
			if err != nil {
				return n, err
			}
			w.cutConnection()
			return n, errCut
		}
	case StallBody:
		if left := w.offset - w.written; int64(len(p)) >= left {
			n, err := w.ResponseWriter.Write(p[:left])
			w.written += int64(n)
			_ = http.NewResponseController(w.ResponseWriter).Flush()
			w.cut = true
			if err == nil {
				w.hold()
			}
			return n, errCut
		}
	case CorruptBody:
		if at := w.offset - w.written; at >= 0 && at < int64(len(p)) {
			// Never modify the caller's buffer in place.
			q := make([]byte, len(p))
			copy(q, p)
			q[at] ^= 0xff
			p = q
		}
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// cutConnection sends what was written so far and closes the TCP (or TLS)
// connection under the HTTP server, which needs HTTP/1.1: the proxy never
// enables HTTP/2.
func (w *bodyFault) cutConnection() {
	w.cut = true
	rc := http.NewResponseController(w.ResponseWriter)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

// WriteHeader sends the status at once for a StallBody stalling before
// the first body byte, so that the client sees the headers.
func (w *bodyFault) WriteHeader(status int) {
	w.ResponseWriter.WriteHeader(status)
	if w.kind == StallBody && w.offset <= 0 {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Flush lets the reverse proxy flush through the wrapper.
func (w *bodyFault) Flush() {
	if !w.cut {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *bodyFault) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// countingWriter counts the body bytes that reach the client.
type countingWriter struct {
	http.ResponseWriter
	count func(n int)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.count(n)
	return n, err
}

// Flush lets the reverse proxy flush through the wrapper.
func (w *countingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the server's writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
