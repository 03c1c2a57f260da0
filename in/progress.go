package in

import (
	"fmt"
	"io"

	"github.com/sirupsen/logrus"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress draws one bar per layer, counting its download. Its zero value
// (no writer, or debug logging, which prints lines instead) draws nothing.
type progress struct {
	p *mpb.Progress
}

func newProgress(w io.Writer, log logrus.FieldLogger) *progress {
	if w == nil || debugEnabled(log) {
		return &progress{}
	}
	// Concourse shows stderr in a terminal emulator, so bars are redrawn
	// in place even though stderr is not a TTY.
	return &progress{p: mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithWidth(40))}
}

func debugEnabled(log logrus.FieldLogger) bool {
	switch l := log.(type) {
	case *logrus.Logger:
		return l.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return l.Logger.IsLevelEnabled(logrus.DebugLevel)
	}
	return false
}

// bar is one layer's bar; a nil bar draws nothing.
type bar struct{ b *mpb.Bar }

func (p *progress) bar(i int, digestHex string, size int64) *bar {
	if p.p == nil {
		return nil
	}
	return &bar{b: p.p.AddBar(size,
		mpb.PrependDecorators(decor.Name(fmt.Sprintf("layer %d %s ", i+1, digestHex[:12]))),
		mpb.AppendDecorators(decor.OnAbort(decor.CountersKibiByte("% .1f / % .1f"), "failed")),
	)}
}

// reader counts what passes through r.
func (b *bar) reader(r io.Reader) io.Reader {
	if b == nil {
		return r
	}
	return &countingReader{r: r, b: b.b}
}

type countingReader struct {
	r io.Reader
	b *mpb.Bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.b.IncrBy(n)
	return n, err
}

// set puts the bar at n bytes, where a new attempt starts.
func (b *bar) set(n int64) {
	if b != nil {
		b.b.SetCurrent(n)
	}
}

func (b *bar) abort() {
	if b != nil && !b.b.Completed() {
		b.b.Abort(false)
	}
}

// finish completes a bar even if the size was not what the manifest said.
func (b *bar) finish() {
	if b != nil {
		b.b.SetTotal(-1, true)
	}
}

// wait returns once every bar is drawn for the last time.
func (p *progress) wait() {
	if p.p != nil {
		p.p.Wait()
	}
}
