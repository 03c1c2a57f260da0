package in

import (
	"errors"
	"io"
	"os"
	"sync"
)

// growing is a file that one goroutine writes from start to end while
// others read it as it grows: a layer's blob as it downloads, or its tar
// stream as it is decompressed. Its outcome is known once it is finished.
type growing struct {
	path string

	mu       sync.Mutex
	grew     *sync.Cond
	size     int64 // bytes in the file so far
	finished bool
	err      error // set when finished
}

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

// await blocks until the file holds n bytes. It fails with the writer's
// error, or io.ErrUnexpectedEOF, if the file finished shorter.
func (g *growing) await(n int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.size < n && !g.finished {
		g.grew.Wait()
	}
	switch {
	case g.size >= n:
		return nil
	case g.err != nil:
		return g.err
	}
	return io.ErrUnexpectedEOF
}

// follower reads a growing file as it grows, and ends with the writer's
// error if it fails.
type follower struct {
	g   *growing
	f   *os.File
	off int64
}

func (g *growing) follow() (*follower, error) {
	f, err := os.Open(g.path)
	if err != nil {
		return nil, err
	}
	return &follower{g: g, f: f}, nil
}

func (r *follower) Read(p []byte) (int, error) {
	g := r.g
	g.mu.Lock()
	for g.size <= r.off && !g.finished {
		g.grew.Wait()
	}
	size, finished, err := g.size, g.finished, g.err
	g.mu.Unlock()
	if r.off >= size {
		if finished && err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	n, rerr := r.f.ReadAt(p[:min(int64(len(p)), size-r.off)], r.off)
	r.off += int64(n)
	if errors.Is(rerr, io.EOF) {
		rerr = nil
	}
	return n, rerr
}

// Seek moves within what the file will hold, without waiting for it: a
// tar reader skips the contents it is not asked for by seeking past them.
func (r *follower) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	default:
		return r.off, errors.New("seek from the end of a growing file")
	}
	if offset < 0 {
		return r.off, errors.New("seek before the start of the file")
	}
	r.off = offset
	return offset, nil
}

func (r *follower) Close() error { return r.f.Close() }

// appender writes a growing file from start to end, announcing each write
// to its followers, and stops when its context is cancelled.
type appender struct {
	g    *growing
	f    *os.File
	off  int64
	stop func() error
}

func (w *appender) Write(p []byte) (int, error) {
	if err := w.stop(); err != nil {
		return 0, err
	}
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	w.g.grow(w.off)
	return n, err
}
