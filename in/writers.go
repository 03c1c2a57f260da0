package in

import (
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Creating a file can cost the kernel more than writing it: on one ext4
// disk an empty file took from 10 µs to 0.5 ms to create, depending on
// where its directory lives. So the applier hands new files to a few
// writer goroutines, which create them side by side while it reads on.
//
// Only an entry that commutes with everything still being written is
// handed over (see layer.concurrently): a new file, at a path where
// nothing is and nothing is being written, in a directory whose
// resolution is cached. Writers create regular files only, at names
// nothing resolved through, so a cached resolution stays true while they
// run. Every other entry first waits for the writers, and so sees the
// tree a strict, in-order application gives; a writer's failure is
// reported as that entry's, in order.

const (
	// maxHandedFile is the largest file handed over, its content held in
	// memory; a larger one is written by the applier itself, beside them.
	maxHandedFile = 1 << 20
	// maxBuffered bounds the content held for files handed over.
	maxBuffered = 8 << 20
)

// fileJob is a new regular file to create and fill.
type fileJob struct {
	at     *os.Root
	base   string
	target string // join of at's directory and base
	name   string // as the layer names it, for errors
	data   []byte
	attrs  fileAttrs

	err  error
	done chan struct{}
}

// fileAttrs are what is set on a file once written.
type fileAttrs struct {
	chown    bool
	uid, gid int
	mode     fs.FileMode
	mtime    time.Time
}

// writers are the goroutines creating handed-over files, and the files
// handed over and not yet settled, in entry order.
type writers struct {
	jobs     chan *fileJob
	running  sync.WaitGroup
	pending  []*fileJob
	targets  map[string]struct{} // the pending files' resolved paths
	buffered int
	bufs     bufferPool
	fault    func(name string) error // for specs: fails the file named so
}

func newWriters() *writers {
	w := &writers{jobs: make(chan *fileJob), targets: map[string]struct{}{}}
	for range min(max(runtime.GOMAXPROCS(0), 2), 4) {
		w.running.Go(func() {
			for j := range w.jobs {
				j.err = j.write(w.fault)
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

// busy reports whether a file is being written at target.
func (w *writers) busy(target string) bool {
	_, ok := w.targets[target]
	return ok
}

// hand gives a writer the file j, with size bytes of content from read,
// waiting for earlier files while too much content is held.
func (w *writers) hand(j *fileJob, size int64, read func([]byte) error) error {
	for w.buffered+int(size) > maxBuffered && len(w.pending) > 0 {
		if err := w.settleOldest(); err != nil {
			return err
		}
	}
	j.data = w.bufs.get(int(size))
	if err := read(j.data); err != nil {
		w.bufs.put(j.data)
		return err
	}
	j.done = make(chan struct{})
	w.pending = append(w.pending, j)
	w.targets[j.target] = struct{}{}
	w.buffered += len(j.data)
	w.jobs <- j
	return nil
}

func (w *writers) settleOldest() error {
	j := w.pending[0]
	<-j.done
	w.pending = w.pending[1:]
	delete(w.targets, j.target)
	w.buffered -= len(j.data)
	w.bufs.put(j.data)
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

func (j *fileJob) write(fault func(string) error) error {
	if fault != nil {
		if err := fault(j.name); err != nil {
			return err
		}
	}
	f, err := j.at.OpenFile(j.base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(j.data); err != nil {
		err = fmt.Errorf("write: %w", err)
	} else {
		err = j.attrs.set(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// set gives f its owner, mode and mtime through the open file, which no
// later rename or symlink can redirect.
func (a fileAttrs) set(f *os.File) error {
	if a.chown {
		if err := f.Chown(a.uid, a.gid); err != nil {
			return err
		}
	}
	// After chown, which clears setuid and setgid.
	if err := f.Chmod(a.mode); err != nil {
		return err
	}
	t := unix.NsecToTimeval(a.mtime.UnixNano())
	if err := unix.Futimes(int(f.Fd()), []unix.Timeval{t, t}); err != nil {
		return fmt.Errorf("set the mtime: %w", err)
	}
	return nil
}

// entryError is the failure of an entry applied out of the applier's
// sight, named as the applier names its own.
type entryError struct {
	name string
	err  error
}

func (e *entryError) Error() string { return fmt.Sprintf("extract %q: %v", e.name, e.err) }
func (e *entryError) Unwrap() error { return e.err }

// bufferPool recycles content buffers by power-of-two size class, so that
// a layer of small files does not allocate its size again.
type bufferPool struct {
	classes [bits.UintSize]sync.Pool
}

func (p *bufferPool) get(n int) []byte {
	c := bits.Len(uint(max(n, 1) - 1))
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

func (p *bufferPool) put(b []byte) {
	c := bits.Len(uint(cap(b) - 1))
	if cap(b) != 1<<c {
		return
	}
	b = b[:0]
	p.classes[c].Put(&b)
}
