package hook

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Check runs check in process for an eligible type: the same package the
// check binary runs, so the versions are the same. Warnings (mirror
// fallback, retries) are returned rather than logged.
func (h *Hook) Check(ctx context.Context, d Decision, cursor *resource.Version) (_ resource.CheckResponse, _ []string, err error) {
	defer func() { err = registry.Redact(err) }()
	if !d.Eligible {
		return nil, nil, fmt.Errorf("check: %w (%s)", ErrNotEligible, d.Reason)
	}
	if d.Source.Repository == "" {
		return nil, nil, fmt.Errorf("check: the decision carries no decoded source (%s)", d.Reason)
	}
	collect := &warningCollector{}
	log := logrus.New()
	log.SetOutput(io.Discard)
	log.AddHook(collect)
	opts, err := h.clientOptions(d.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("check %s: %w", d.Source.Repository, err)
	}
	versions, err := check.Run(ctx, resource.CheckRequest{Source: d.Source, Version: cursor},
		check.WithLogger(log), check.WithClientOptions(opts...))
	return versions, collect.lines, err
}

type warningCollector struct {
	mu    sync.Mutex
	lines []string
}

func (c *warningCollector) Levels() []logrus.Level {
	return []logrus.Level{logrus.WarnLevel, logrus.ErrorLevel}
}

func (c *warningCollector) Fire(e *logrus.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, e.Message)
	return nil
}
