package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStallTimeout is how long a request may move no byte, in either
// direction, before it is abandoned: reading a body, sending an upload, or
// waiting for the answer to a read.
const DefaultStallTimeout = 30 * time.Second

// DefaultAnswerTimeout is how long a write (POST, PUT, PATCH) whose body
// was fully sent may wait for its answer. A registry may take minutes to
// commit a large blob (an S3-backed Distribution copies it), and taking
// that for a stall would fail every push and re-commit an upload the
// registry may still be processing; a registry that never answers still
// fails, only later.
const DefaultAnswerTimeout = 10 * time.Minute

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
	// Answer is true when the request was fully sent and its answer did
	// not come within After (DefaultAnswerTimeout).
	Answer bool
}

func (e *StallError) Error() string {
	if e.Answer {
		return fmt.Sprintf("%s %s stalled: no answer for %s after the request was sent", e.Method, e.URL, e.After)
	}
	return fmt.Sprintf("%s %s stalled: no byte moved for %s", e.Method, e.URL, e.After)
}

// stallTransport abandons a request that moves no byte for after: no
// answer to a read, no byte of the answer's body, or no byte of the
// request's body taken by the connection. A write whose body was fully
// sent waits up to answer for its answer instead.
type stallTransport struct {
	inner  http.RoundTripper
	after  time.Duration
	answer time.Duration
}

// writes are the methods whose answer may wait for the registry to do
// the work (commit an upload, store a manifest).
func writes(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

func (t *stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.after <= 0 {
		return t.inner.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	w := newWatchdog(t.after, func(after time.Duration, answer bool) {
		cancel(&StallError{Method: req.Method, URL: req.URL.Host + req.URL.Path, After: after, Answer: answer})
	})
	// Once a write's body is all sent, the registry has the work to do
	// (unless it has answered already, before reading it all).
	var answered atomic.Bool
	sent := func() {
		if writes(req.Method) && t.answer > t.after && !answered.Load() {
			w.limit(t.answer, true)
		}
	}
	out := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = &watchedBody{ReadCloser: req.Body, w: w, ctx: ctx, sent: sent}
	} else {
		sent()
	}
	resp, err := t.inner.RoundTrip(out)
	if err != nil {
		w.stop()
		cancel(nil)
		return nil, stalled(ctx, err)
	}
	answered.Store(true)
	w.limit(t.after, false)
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
	// sent, for a request's body, runs once the body is all read.
	sent     func()
	sentOnce sync.Once
	shut     atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.touch()
	}
	if errors.Is(err, io.EOF) && b.sent != nil {
		b.sentOnce.Do(b.sent)
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

// watchdog calls fire once nothing touched it for its limit. It measures
// idle time on the monotonic clock (time.Since of its start), so that a
// step of the wall clock (a VM resumed, NTP) neither fires it nor delays it.
type watchdog struct {
	start time.Time
	last  atomic.Int64 // time.Since(start) at the last touch, in nanoseconds
	// state is the limit in nanoseconds, negated while waiting for an answer.
	state atomic.Int64
	timer *time.Timer
	fire  func(after time.Duration, answer bool)
}

func newWatchdog(after time.Duration, fire func(after time.Duration, answer bool)) *watchdog {
	w := &watchdog{start: time.Now(), fire: fire}
	w.state.Store(int64(after))
	w.timer = time.AfterFunc(after, w.check)
	return w
}

func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.start))) }

func (w *watchdog) stop() { w.timer.Stop() }

// limit touches the watchdog and sets how long it may stay idle from now;
// answer says that the wait is for an answer to a sent request.
func (w *watchdog) limit(d time.Duration, answer bool) {
	w.touch()
	if answer {
		w.state.Store(-int64(d))
	} else {
		w.state.Store(int64(d))
	}
	// The timer may be set for a longer limit: bring it forward.
	w.timer.Reset(d)
}

// check fires when the last touch is the limit ago, else looks again when
// it will be.
func (w *watchdog) check() {
	state := time.Duration(w.state.Load())
	limit, answer := state, false
	if state < 0 {
		limit, answer = -state, true
	}
	idle := time.Since(w.start) - time.Duration(w.last.Load())
	if idle < limit {
		w.timer.Reset(limit - idle)
		return
	}
	w.fire(limit, answer)
}
