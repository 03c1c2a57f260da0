package in

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
)

// retrying runs attempt until it succeeds, a bounded number of times with
// backoff, calling reset between attempts. It retries what the transport
// cannot: a body that broke off, stalled or did not verify. A registry's
// answer (a transport.Error, which the transport has already retried when
// it was a 429 or 5xx), a request the transport retried until its policy
// gave up, and a cancelled context are final.
//
// An attempt that failed after moving the work forward (see progressed)
// starts the count and the backoff again, so a link that breaks often but
// keeps delivering completes; resumesPerAttempt times the policy's attempts
// bound the whole.
func retrying(ctx context.Context, p registry.RetryPolicy, log logrus.FieldLogger, what string, attempt func() error, reset func()) error {
	wait := p.Initial
	for n, total := 1, 1; ; n, total = n+1, total+1 {
		err := attempt()
		if err == nil {
			return nil
		}
		var terr *transport.Error
		var final *noRetry
		var prog *progressed
		if errors.As(err, &prog) && total < p.Attempts*resumesPerAttempt {
			n, wait = 0, p.Initial
			err = prog.err
		}
		if ctx.Err() != nil || n >= p.Attempts || errors.As(err, &terr) || errors.As(err, &final) || registry.Exhausted(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n == 0 {
			log.Warnf("%s: %v, after progress; resuming in %s", what, err, wait)
		} else {
			log.Warnf("%s: %v; retrying in %s (attempt %d of %d)", what, err, wait, n+1, p.Attempts)
		}
		reset()
		if err := p.Wait(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		wait = min(wait*2, p.MaxWait)
	}
}

// resumesPerAttempt bounds the attempts that made progress: at most this
// many times the policy's attempts in all.
const resumesPerAttempt = 8

// progressed marks the error of an attempt that moved the work forward.
type progressed struct{ err error }

func (e *progressed) Error() string { return e.err.Error() }
func (e *progressed) Unwrap() error { return e.err }

// noRetry marks an error that another attempt cannot mend.
type noRetry struct{ err error }

func (e *noRetry) Error() string { return e.err.Error() }
func (e *noRetry) Unwrap() error { return e.err }
