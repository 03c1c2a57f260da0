package in

import (
	"errors"
	"io"
	"os"
	"sync"
)

// growing is a file that one goroutine writes from start to end while
// others read it as it grows: a layer's blob as it downloads, or its spool
// as it is decoded. Its outcome is known once it is finished.
// Until a claiming reader (the applier) has read from it, its writer may
// rewind it to write it again from the start; readers then see
// errRewound.
type growing struct {
	path string

	mu       sync.Mutex
	grew     *sync.Cond
	size     int64 // bytes in the file so far
	gen      int   // how often the file was rewound
	claimed  bool  // a claiming reader has read from the file
	finished bool
	err      error // set when finished
}

// errRewound ends a read of a file that its writer started again.
var errRewound = errors.New("the file was started again")

func newGrowing(path string) (*growing, error) {
	g := &growing{path: path}
	g.grew = sync.NewCond(&g.mu)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return g, f.Close()
}

func (g *growing) written() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.size
}

func (g *growing) grow(size int64) {
	g.mu.Lock()
	g.size = size
	g.mu.Unlock()
	g.grew.Broadcast()
}

// generation says how often the file was rewound.
func (g *growing) generation() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// rewind empties the file for its writer to write it again, unless a
// claiming reader has read from it (false). g.mu is held by the caller.
func (g *growing) rewindLocked() bool {
	if g.claimed {
		return false
	}
	g.gen++
	g.size = 0
	g.finished, g.err = false, nil
	g.grew.Broadcast()
	return true
}

// reopen makes a finished file unfinished again, keeping what it holds,
// for its writer to go on.
func (g *growing) reopen() {
	g.mu.Lock()
	g.finished, g.err = false, nil
	g.mu.Unlock()
}

func (g *growing) finish(err error) {
	g.mu.Lock()
	g.finished, g.err = true, err
	g.mu.Unlock()
	g.grew.Broadcast()
}

// wait blocks until the file is finished and returns its outcome.
func (g *growing) wait() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.finished {
		g.grew.Wait()
	}
	return g.err
}

// done reports, without blocking, whether the file finished well.
func (g *growing) done() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.finished && g.err == nil
}

// follower reads a growing file as it grows, and ends with the writer's
// error if it fails, or errRewound if the writer starts again.
type follower struct {
	g   *growing
	f   *os.File
	off int64
	gen int
	// claims: the first byte read forbids rewinds, and a rewind before it
	// is followed rather than an error.
	claims bool
}

func (g *growing) follow() (*follower, error) {
	f, err := os.Open(g.path)
	if err != nil {
		return nil, err
	}
	return &follower{g: g, f: f, gen: g.generation()}, nil
}

// claim follows the file as the one reader whose reading makes a rewind
// impossible: what it read has been used.
func (g *growing) claim() (*follower, error) {
	r, err := g.follow()
	if r != nil {
		r.claims = true
	}
	return r, err
}

func (r *follower) Read(p []byte) (int, error) {
	g := r.g
	g.mu.Lock()
	for {
		if r.gen != g.gen {
			if !r.claims || r.off > 0 {
				g.mu.Unlock()
				return 0, errRewound
			}
			r.gen = g.gen
		}
		if g.size > r.off || g.finished {
			break
		}
		g.grew.Wait()
	}
	size, finished, err := g.size, g.finished, g.err
	if r.claims && size > r.off {
		g.claimed = true
	}
	g.mu.Unlock()
	if r.off >= size {
		if finished && err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	n, rerr := r.f.ReadAt(p[:min(int64(len(p)), size-r.off)], r.off)
	// A rewind during ReadAt may have mixed old and new bytes; a claiming
	// reader's file cannot be rewound.
	if !r.claims && g.generation() != r.gen {
		return 0, errRewound
	}
	r.off += int64(n)
	if errors.Is(rerr, io.EOF) {
		rerr = nil
	}
	return n, rerr
}

func (r *follower) Close() error { return r.f.Close() }

// appender writes a growing file from start to end, announcing each write
// to its followers, and stops when its context is cancelled or the file is
// rewound (it writes generation gen).
type appender struct {
	g    *growing
	f    *os.File
	off  int64
	gen  int
	stop func() error
}

func (w *appender) Write(p []byte) (int, error) {
	if err := w.stop(); err != nil {
		return 0, err
	}
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	g := w.g
	g.mu.Lock()
	stale := g.gen != w.gen
	if !stale {
		g.size = w.off
	}
	g.mu.Unlock()
	if stale {
		return 0, errRewound
	}
	g.grew.Broadcast()
	return n, err
}
