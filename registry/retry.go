package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RetryPolicy bounds how a registry's 429 and 5xx answers and broken
// connections are retried: a few attempts with exponential backoff, waiting
// longer when the registry says so in Retry-After, and giving up at once
// when it asks for more than MaxWait.
type RetryPolicy struct {
	Attempts int           // total tries, the first included
	Initial  time.Duration // wait after the first failure
	MaxWait  time.Duration // longest single wait, Retry-After included
	// Sleep, when set, replaces the real wait (which ends early when the
	// request is cancelled); tests inject one that does not wait.
	Sleep func(time.Duration)
}

// DefaultRetryPolicy tries four times over about seven seconds. It is a
// function, not a variable, so that no caller can change every client's
// policy at once; pass WithRetryPolicy to change one client's.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Attempts: 4, Initial: time.Second, MaxWait: 30 * time.Second}
}

type retryTransport struct {
	inner  http.RoundTripper
	policy RetryPolicy
	warn   func(format string, args ...any)
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout ||
		status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout || status == http.StatusInternalServerError
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A body can be replayed only if we can rewind it; uploads through ggcr
	// set GetBody, anything else is tried once.
	canReplay := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	wait := t.policy.Initial
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.inner.RoundTrip(req)
		if !canReplay {
			return t.once(req, resp, err)
		}
		last := attempt >= t.policy.Attempts || req.Context().Err() != nil
		switch {
		case err != nil && last && transientNetError(err) && req.Context().Err() == nil:
			return resp, &exhaustedError{err: err, attempts: attempt}
		case err != nil && (last || !transientNetError(err)):
			return resp, err
		case err == nil && (!retryable(resp.StatusCode) || last):
			return resp, nil
		}
		delay := wait
		what := ""
		if err != nil {
			what = RedactURLs(err.Error())
		} else {
			what = resp.Status
			if after, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				if after > t.policy.MaxWait {
					// Waiting that long would stall the build; say so now.
					return resp, nil
				}
				delay = max(delay, after)
			}
			drain(resp)
		}
		delay = min(delay, t.policy.MaxWait)
		// Host and path only: a redirected blob URL carries its signature
		// and token in the query.
		t.warn("%s %s%s: %s; retrying in %s (attempt %d of %d)", req.Method, req.URL.Host, req.URL.Path, what, delay.Round(time.Millisecond), attempt+1, t.policy.Attempts)
		if err := t.policy.Wait(req.Context(), delay+jitter(delay)); err != nil {
			return nil, err
		}
		wait *= 2
	}
}

// once ends a request whose body cannot be sent again (a streamed blob
// upload): only its whole operation can be tried again, which ggcr's
// remote package does when RetryOperation says so. A transient failure is
// marked for it; a Retry-After is waited out here, once, so that the
// operation's own backoff does not replace it.
func (t *retryTransport) once(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		if transientNetError(err) {
			return nil, &unreplayedError{err}
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return resp, nil
	}
	if after, ok := retryAfter(resp.Header.Get("Retry-After")); ok && after <= t.policy.MaxWait {
		t.warn("%s %s%s: %s; the upload starts again in %s", req.Method, req.URL.Host, req.URL.Path, resp.Status, after)
		if err := t.policy.Wait(req.Context(), after); err != nil {
			drain(resp)
			return nil, err
		}
	}
	return resp, nil
}

// exhaustedError is a transient failure the retry transport tried the
// policy's number of times.
type exhaustedError struct {
	err      error
	attempts int
}

func (e *exhaustedError) Error() string {
	return RedactURLs(fmt.Sprintf("%v (gave up after %d attempts)", e.err, e.attempts))
}
func (e *exhaustedError) Unwrap() error { return e.err }

// Exhausted reports whether err is a broken or stalled request that the
// client's transport has already retried as often as its policy allows: a
// caller that retries what the transport cannot (a body cut part-way)
// must not retry it again, or the attempts multiply.
func Exhausted(err error) bool {
	var e *exhaustedError
	return errors.As(err, &e)
}

// unreplayedError is a transient failure of a request that the retry
// transport could not send again.
type unreplayedError struct{ err error }

func (e *unreplayedError) Error() string { return e.err.Error() }
func (e *unreplayedError) Unwrap() error { return e.err }

// RetryOperation is the predicate ggcr's remote package retries a whole
// operation with (an upload: start, send, commit). The retry transport has
// already tried every request it could send again, so only a request it
// could not is left: a streamed upload that broke off, stalled, or got a
// 429 or 5xx answer. Retrying anything else would multiply the attempts.
func RetryOperation(err error) bool {
	var unreplayed *unreplayedError
	if errors.As(err, &unreplayed) {
		return true
	}
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.Request == nil || !retryable(terr.StatusCode) {
		return false
	}
	body := terr.Request.Body
	return body != nil && body != http.NoBody && terr.Request.GetBody == nil
}

// backoff is p as ggcr's remote package takes it, for the operations only
// it can retry.
func (p RetryPolicy) backoff() remote.Backoff {
	b := remote.Backoff{Duration: p.Initial, Factor: 2, Jitter: 0.1, Steps: max(p.Attempts, 1), Cap: p.MaxWait}
	if p.Sleep != nil {
		// A test's policy does not wait; ggcr cannot be given its Sleep.
		b.Duration, b.Jitter = 0, 0
	}
	return b
}

// Wait waits d, or until ctx ends, whose error it then returns. A policy
// with Sleep set calls it instead, so tests need not wait.
func (p RetryPolicy) Wait(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		p.Sleep(d)
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)/10 + 1))
}

func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// transientNetError is true for a connection that broke, not for one that
// could never be made: an unreachable registry should fail fast.
func transientNetError(err error) bool {
	var stall *StallError
	return errors.As(err, &stall) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
