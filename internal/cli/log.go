package cli

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
)

// NewLogger logs plain lines to w: the message alone for info and debug,
// prefixed with the level for warnings and errors.
func NewLogger(w io.Writer) *logrus.Logger {
	return &logrus.Logger{
		Out:       w,
		Formatter: plainFormatter{},
		Hooks:     logrus.LevelHooks{},
		Level:     logrus.InfoLevel,
	}
}

type plainFormatter struct{}

func (plainFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	switch e.Level {
	case logrus.WarnLevel:
		b.WriteString("warning: ")
	case logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel:
		b.WriteString("error: ")
	case logrus.DebugLevel, logrus.TraceLevel:
		b.WriteString("debug: ")
	}
	b.WriteString(strings.TrimRight(e.Message, "\n"))
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// redactWriter replaces credentials with a marker in everything written to
// stderr, whichever code wrote it, and reduces every URL to scheme, host
// and path (a redirect's signed query, an upload's _state).
type redactWriter struct {
	mu      sync.Mutex
	w       io.Writer
	secrets []string
}

func (r *redactWriter) add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
}

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := p
	if bytes.Contains(out, []byte("://")) {
		out = []byte(registry.RedactURLs(string(out)))
	}
	for _, s := range r.secrets {
		if s != "" && bytes.Contains(out, []byte(s)) {
			out = bytes.ReplaceAll(out, []byte(s), []byte("[redacted]"))
		}
	}
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
