package in

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

type options struct {
	log      logrus.FieldLogger
	progress io.Writer
	k8s      bool
	client   []registry.Option
	retry    registry.RetryPolicy
	jobs     int
	// For specs: spoolsFirst applies a layer only once the spools that may
	// be on disk with it are complete.
	spoolsFirst bool
	// claimFirst checks a blob's digest only once the applier has read
	// from its layer, so that a bad blob needs a new extraction.
	claimFirst bool
	// noStaging leaves file contents in the spool's raw tar stream, for
	// the applier to write in order; stageFault fails the file it names
	// when a decoder stages it.
	noStaging  bool
	stageFault func(name string) error
}

// Option configures Run.
type Option func(*options)

// WithLogger receives the mode line, warnings and debug lines.
func WithLogger(l logrus.FieldLogger) Option { return func(o *options) { o.log = l } }

// WithProgress draws one progress bar per layer on w (stderr in the binary).
// Without it, or when the logger is at debug level, no bar is drawn.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// InKubernetesPod says whether the process runs as a Kubernetes pod, which
// makes reference-only the default mode.
func InKubernetesPod(yes bool) Option { return func(o *options) { o.k8s = yes } }

// WithClientOptions passes options to registry.NewClient (transport, retry policy).
func WithClientOptions(opts ...registry.Option) Option {
	return func(o *options) { o.client = append(o.client, opts...) }
}

// WithBlobRetryPolicy bounds how often a layer download that broke off or
// failed verification is started again (default registry.DefaultRetryPolicy()).
func WithBlobRetryPolicy(p registry.RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithJobs bounds the layers downloaded at once (default 3).
func WithJobs(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.jobs = n
		}
	}
}

// Run answers an in request by writing into dest, which it creates if
// needed, and returns the version it was given with its metadata.
func Run(ctx context.Context, req resource.InRequest, dest string, opts ...Option) (_ resource.VersionResponse, err error) {
	// A URL in an error keeps scheme, host and path: a redirected blob's
	// query carries a storage signature.
	defer func() { err = registry.Redact(err) }()
	o := options{log: logrus.New(), retry: registry.DefaultRetryPolicy(), jobs: 3}
	for _, opt := range opts {
		opt(&o)
	}
	if dest == "" {
		return resource.VersionResponse{}, errors.New("in needs its destination directory as its first argument, as Concourse passes it")
	}
	mode, why, err := resource.ChooseMode(req.Params, req.Source, o.k8s)
	if err != nil {
		return resource.VersionResponse{}, err
	}
	if mode == resource.ReferenceOnly {
		why += "; " + resource.MetadataCost(req.Params, req.Source)
	}
	o.log.Infof("%s: %s", mode, why)
	if notice := req.Source.ContentTrustNotice(); notice != "" {
		o.log.Warn(notice)
	}

	if err := os.MkdirAll(dest, 0o755); err != nil {
		return resource.VersionResponse{}, fmt.Errorf("create destination %s: %w", dest, err)
	}
	if mode == resource.ReferenceOnly {
		return referenceOnly(ctx, req, dest, o)
	}
	return fullDownload(ctx, req, dest, o)
}

// referenceOnly writes what registry.ResolveReference computed, which is
// also what the runtime hook hands a task without running in at all.
func referenceOnly(ctx context.Context, req resource.InRequest, dest string, o options) (resource.VersionResponse, error) {
	ref, err := registry.ResolveReference(ctx, req, o.open)
	if err != nil {
		return resource.VersionResponse{}, err
	}
	for _, w := range ref.Warnings {
		o.log.Warn(w)
	}
	if err := writeFiles(dest, ref.Files); err != nil {
		return resource.VersionResponse{}, err
	}
	o.log.Infof("wrote the reference %s", ref.Pinned)
	return ref.Response, nil
}

func (o options) open(ctx context.Context, src resource.Source) (registry.Registry, error) {
	return registry.NewClient(ctx, src, o.clientOptions(nil)...)
}

func (o options) clientOptions(platform *resource.Platform) []registry.Option {
	opts := []registry.Option{registry.WithWarnings(o.log.Warnf), registry.WithPlatform(platform)}
	return append(opts, o.client...)
}

// writeFiles writes files into dest, readable by any user a task runs as.
func writeFiles(dest string, files []resource.File) error {
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dest, f.Name), f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Name, err)
		}
	}
	return nil
}
