package in

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	// decodeJobs is how many layers are decoded at once. Inflating and
	// writing the files is almost all of the CPU time of a rootfs, layers
	// are independent to decode (only their application is ordered), and
	// the applier's own work is small: decoding every layer of an image
	// at once keeps both cores busy to the end, where decoding two at a
	// time leaves the last layer to one core (docs/in.md).
	decodeJobs = 8
	// spoolsAhead bounds the layers decoded ahead of the one applied,
	// and so the staged files on disk that a later layer may delete.
	spoolsAhead = decodeJobs
)

// spool is a layer's entries as its decoder reads them: the records of
// its staged files (stage.go), or, without staging, its uncompressed tar
// stream, written to a file next to its blob and read, as it grows, by
// the applier. It finishes well only once the whole layer is decoded and
// the blob matched its digest, so a layer read from a finished spool is a
// verified layer.
type spool struct {
	*growing
	d *download
	// stage stages the layer's files; nil when the spool holds the raw
	// tar stream.
	stage *stager
	// released: the applier will read no more of this extraction.
	released atomic.Bool
	// decoded: the whole tar stream is written; the blob is not needed
	// for it any more.
	decoded atomic.Bool
}

// newSpools prepares one spool per layer, for extraction number run,
// each with a staging directory of its own when stage is not nil.
func newSpools(downloads []*download, stage *stager, run int) ([]*spool, error) {
	spools := make([]*spool, len(downloads))
	for i, d := range downloads {
		g, err := newGrowing(fmt.Sprintf("%s.%d.tar", d.path, run))
		if err != nil {
			return nil, err
		}
		spools[i] = &spool{growing: g, d: d}
		if stage != nil {
			st := *stage
			st.dir = g.path + ".d"
			if err := os.Mkdir(st.dir, 0o700); err != nil {
				return nil, err
			}
			spools[i].stage = &st
		}
		d.spool = spools[i]
	}
	return spools, nil
}

// remove deletes the spool's file and staging directory.
func (s *spool) remove() error {
	if s.stage != nil {
		if err := os.RemoveAll(s.stage.dir); err != nil {
			return err
		}
	}
	return os.Remove(s.path)
}

// rewind starts the layer again: its blob from the first byte, and its
// tar stream with it. It cannot once the applier has read from the stream
// (false): what it read is in the rootfs.
func (s *spool) rewind() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.rewindLocked() {
		return false
	}
	s.d.rewind()
	return true
}

// awaitClaim waits until the applier has read from the spool, or ctx
// ends; only specs ask (see download.claimFirst).
func (s *spool) awaitClaim(ctx context.Context) {
	for ctx.Err() == nil && !s.released.Load() {
		s.mu.Lock()
		claimed := s.claimed
		s.mu.Unlock()
		if claimed {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// progressGate counts the layers applied; a decoder waits on it so that no
// more than spoolsAhead spools exist at once.
type progressGate struct {
	mu      sync.Mutex
	changed *sync.Cond
	applied int
	stopped bool
}

func newProgressGate() *progressGate {
	g := &progressGate{}
	g.changed = sync.NewCond(&g.mu)
	return g
}

func (g *progressGate) advance() {
	g.mu.Lock()
	g.applied++
	g.mu.Unlock()
	g.changed.Broadcast()
}

// stop releases every waiter: nothing more will be applied.
func (g *progressGate) stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.changed.Broadcast()
}

// waitApplied waits until n layers are applied; false means stopped.
func (g *progressGate) waitApplied(n int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.applied < n && !g.stopped {
		g.changed.Wait()
	}
	return !g.stopped
}

var errStopped = errors.New("extraction stopped")

// decodeAll decompresses the layers into their spools, decodeJobs at a
// time, first layers first. Every spool is finished when it returns.
func decodeAll(ctx context.Context, spools []*spool, gate *progressGate, log logrus.FieldLogger) {
	sem := make(chan struct{}, decodeJobs)
	var wg sync.WaitGroup
	for i, s := range spools {
		if !gate.waitApplied(i - spoolsAhead + 1) {
			s.finish(errStopped)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			s.finish(ctx.Err())
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := s.decode(ctx, log)
			if err == nil {
				s.decoded.Store(true)
				releaseBlobs(spools, spools)
			}
			s.finish(err)
		})
	}
	wg.Wait()
}

// decode writes the layer's tar stream into the spool as its blob
// arrives, then waits for the blob's verdict. When the blob starts again
// (it did not match its digest), so does the stream.
func (s *spool) decode(ctx context.Context, log logrus.FieldLogger) error {
	d := s.d
	var err error
	for {
		gen := s.generation()
		err = s.inflate(ctx, log, gen)
		if errors.Is(err, errRewound) {
			continue
		}
		// Bad bytes make bad streams: a failed download is the cause
		// to report.
		if derr := d.wait(); derr != nil {
			return derr
		}
		if s.generation() == gen {
			break
		}
		// Rewound after this stream ended: the verified blob is whole.
	}
	if ee := (*entryError)(nil); errors.As(err, &ee) {
		// Named as the applier names its own failures.
		return err
	}
	if err != nil {
		return fmt.Errorf("decompress %s: %w", d.name, err)
	}
	log.Debugf("decompressed %s", d.name)
	return nil
}

func (s *spool) inflate(ctx context.Context, log logrus.FieldLogger, gen int) error {
	in, err := s.d.follow()
	if err != nil {
		return err
	}
	defer in.Close()
	zr, kind, err := decompress(in)
	if err != nil {
		return err
	}
	defer zr.Close()
	log.Debugf("%s is %s", s.d.name, kind)
	out, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer out.Close()
	w := &appender{g: s.growing, f: out, gen: gen, stop: ctx.Err}
	if s.stage != nil {
		st := *s.stage
		st.gen = gen
		return st.stageAll(ctx, zr, w)
	}
	// The decompressors write straight from their window (io.WriterTo),
	// with no copy in between.
	_, err = io.Copy(w, zr)
	return err
}
