package in

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Creating a file can cost the kernel more than writing it: on one ext4
// disk an empty file took from 10 µs to 0.5 ms to create, depending on
// where its directory lives. So the applier hands each new file to one of a
// few writer goroutines, which create files side by side and copy their
// contents straight from the layer's spool, by offset, in the kernel
// (copy_file_range): the content of a file handed over passes through
// neither the applier, which seeks past it, nor (where copy_file_range
// works) user space.
//
// Only an entry that commutes with everything still being written is
// handed over (see layer.concurrently): a new file, at a path where
// nothing is and nothing is being written, in a directory whose
// resolution is cached. Writers create regular files only, at names
// nothing resolved through, so a cached resolution stays true while they
// run. Every other entry first waits for the writers, and so sees the
// tree a strict, in-order application gives; a writer's failure is
// reported as that entry's, in order.

// maxPending bounds the files handed over and not yet settled.
const maxPending = 256

// fileJob is a new regular file to create and fill with size bytes of the
// spool from off.
type fileJob struct {
	at        *os.Root
	base      string
	target    string // join of at's directory and base
	name      string // as the layer names it, for errors
	spool     *layerStream
	off, size int64
	attrs     fileAttrs

	err  error
	done chan struct{}
}

// writers are the goroutines creating handed-over files, and the files
// handed over and not yet settled, in entry order.
type writers struct {
	jobs    chan *fileJob
	running sync.WaitGroup
	pending []*fileJob
	targets map[string]struct{} // the pending files' resolved paths
	// For specs: fault fails the file it names; noCopyRange copies
	// through user space, as where copy_file_range is refused.
	fault       func(name string) error
	noCopyRange bool
}

func newWriters(fault func(name string) error, noCopyRange bool) *writers {
	w := &writers{jobs: make(chan *fileJob, maxPending), targets: map[string]struct{}{},
		fault: fault, noCopyRange: noCopyRange}
	for range min(max(runtime.GOMAXPROCS(0), 2), 4) {
		w.running.Go(func() {
			for j := range w.jobs {
				j.err = w.write(j)
				close(j.done)
			}
		})
	}
	return w
}

// stop settles what is pending and ends the goroutines. A nil *writers
// (in-order application only) has nothing to stop.
func (w *writers) stop() error {
	if w == nil {
		return nil
	}
	err := w.settle()
	close(w.jobs)
	w.running.Wait()
	return err
}

// busy reports whether a file handed over at target is not settled yet.
// Targets are compared as resolved names: in a case-folding directory two
// names of one file are two targets, and the second file then fails to
// be created where an in-order application would replace the first.
func (w *writers) busy(target string) bool {
	_, ok := w.targets[target]
	return ok
}

// hand gives the file j to a writer, first settling the oldest file if
// too many are pending.
func (w *writers) hand(j *fileJob) error {
	if len(w.pending) >= maxPending {
		if err := w.settleOldest(); err != nil {
			return err
		}
	}
	j.done = make(chan struct{})
	w.pending = append(w.pending, j)
	w.targets[j.target] = struct{}{}
	w.jobs <- j
	return nil
}

func (w *writers) settleOldest() error {
	j := w.pending[0]
	<-j.done
	w.pending = w.pending[1:]
	delete(w.targets, j.target)
	if j.err != nil {
		return &entryError{name: j.name, err: j.err}
	}
	return nil
}

// settle waits for every file handed over and returns the first failure,
// in entry order.
func (w *writers) settle() error {
	if w == nil {
		return nil
	}
	var first error
	for len(w.pending) > 0 {
		if err := w.settleOldest(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (w *writers) write(j *fileJob) error {
	if w.fault != nil {
		if err := w.fault(j.name); err != nil {
			return err
		}
	}
	if j.size > math.MaxInt64-j.off {
		return fmt.Errorf("write: the entry's size %d is past any stream's end", j.size)
	}
	// The applier hands a file over as soon as it reads its header; the
	// content may still be on its way into the spool. Its failure reads
	// as the one an in-order application reports.
	if err := j.spool.g.await(j.off + j.size); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := j.spool.ctx.Err(); err != nil {
		return err
	}
	f, err := j.at.OpenFile(j.base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err = copyRange(j.spool.ctx, f, j.spool.f, j.off, j.size, w.noCopyRange); err != nil {
		err = fmt.Errorf("write: %w", err)
	} else {
		err = j.attrs.set(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyRange copies n bytes of src from off to the end of dst: in the
// kernel where it can, through user space where copy_file_range is
// missing or refused (old kernels, some filesystems and sandboxes). It
// stops, between chunks, when ctx is done.
func copyRange(ctx context.Context, dst, src *os.File, off, n int64, noCopyRange bool) error {
	for n > 0 && !noCopyRange {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := unix.CopyFileRange(int(src.Fd()), &off, int(dst.Fd()), nil, int(min(n, 8<<20)), 0)
		if err != nil || k == 0 {
			// off is where the kernel stopped; some filesystems copy
			// nothing rather than fail.
			break
		}
		n -= int64(k)
	}
	if n == 0 {
		return nil
	}
	copied, err := io.Copy(dst, ctxReader{ctx, io.NewSectionReader(src, off, n)})
	if err == nil && copied < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// entryError is the failure of an entry applied out of the applier's
// sight, named as the applier names its own.
type entryError struct {
	name string
	err  error
}

func (e *entryError) Error() string { return fmt.Sprintf("extract %q: %v", e.name, e.err) }
func (e *entryError) Unwrap() error { return e.err }

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
