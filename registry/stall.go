package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultStallTimeout is how long a request may move no byte, in either
// direction, before it is abandoned: waiting for an answer, reading a body
// or sending an upload.
const DefaultStallTimeout = 30 * time.Second

// bufferLimit bounds the answers stallTransport reads whole before handing
// them on (manifests, tag lists), so that a stall or cut inside
// them is a failed round trip, which the retry transport retries.
const bufferLimit = 16 << 20

// StallError says which request moved no byte for how long. It is
// transient: the retry transport tries the request again, and in's layer
// downloads resume after it.
type StallError struct {
	Method string
	URL    string // host and path only: a redirected blob URL carries a signature in its query
	After  time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s %s stalled: no byte moved for %s", e.Method, e.URL, e.After)
}

// stallTransport abandons a request that moves no byte for after: no
// answer, no byte of the answer's body, or no byte of the request's body
// taken by the connection.
type stallTransport struct {
	inner http.RoundTripper
	after time.Duration
}

func (t *stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.after <= 0 {
		return t.inner.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	stall := &StallError{Method: req.Method, URL: req.URL.Host + req.URL.Path, After: t.after}
	w := newWatchdog(t.after, func() { cancel(stall) })
	out := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = &watchedBody{ReadCloser: req.Body, w: w, ctx: ctx}
	}
	resp, err := t.inner.RoundTrip(out)
	if err != nil {
		w.stop()
		cancel(nil)
		return nil, stalled(ctx, err)
	}
	w.touch()
	body := &watchedBody{ReadCloser: resp.Body, w: w, ctx: ctx, done: func() { cancel(nil) }}
	resp.Body = body
	if !bufferable(req) {
		return resp, nil
	}
	// Small answers are read here, so that a stall in one fails the round
	// trip and is retried with the request.
	buf, err := io.ReadAll(io.LimitReader(body, bufferLimit))
	if err != nil {
		body.Close()
		return nil, err
	}
	if len(buf) < bufferLimit {
		body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(buf))
		return resp, nil
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), body), body}
	return resp, nil
}

// bufferable is true for the registry API's answers other than blobs:
// manifests, tag lists, errors. Blobs stream, wherever they are redirected
// (blob storage URLs do not start with /v2/).
func bufferable(req *http.Request) bool {
	return req.Method != http.MethodHead && strings.HasPrefix(req.URL.Path, "/v2/") && !strings.Contains(req.URL.Path, "/blobs/")
}

// stalled returns the StallError that cancelled ctx, if one did, else err.
func stalled(ctx context.Context, err error) error {
	var serr *StallError
	if errors.As(context.Cause(ctx), &serr) {
		return serr
	}
	return err
}

// watchedBody is a request or response body whose every byte tells the
// watchdog the request is alive.
type watchedBody struct {
	io.ReadCloser
	w    *watchdog
	ctx  context.Context
	done func()
	shut atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.touch()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = stalled(b.ctx, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	if b.done != nil && b.shut.CompareAndSwap(false, true) {
		b.w.stop()
		defer b.done()
	}
	return b.ReadCloser.Close()
}

// watchdog calls fire once nothing touched it for after.
type watchdog struct {
	after time.Duration
	last  atomic.Int64 // unix nanoseconds of the last touch
	timer *time.Timer
	fire  func()
}

func newWatchdog(after time.Duration, fire func()) *watchdog {
	w := &watchdog{after: after, fire: fire}
	w.touch()
	w.timer = time.AfterFunc(after, w.check)
	return w
}

func (w *watchdog) touch() { w.last.Store(time.Now().UnixNano()) }

func (w *watchdog) stop() { w.timer.Stop() }

// check fires when the last touch is after ago, else looks again when it
// will be.
func (w *watchdog) check() {
	idle := time.Since(time.Unix(0, w.last.Load()))
	if idle < w.after {
		w.timer.Reset(w.after - idle)
		return
	}
	w.fire()
}
