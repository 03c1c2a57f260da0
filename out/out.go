package out

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

type options struct {
	log    logrus.FieldLogger
	client []registry.Option
}

// Option configures Run.
type Option func(*options)

// WithLogger receives progress, warnings and debug lines (stderr in the
// binary).
func WithLogger(l logrus.FieldLogger) Option { return func(o *options) { o.log = l } }

// WithClientOptions passes options to registry.NewClient (transport, retry
// policy, concurrency).
func WithClientOptions(opts ...registry.Option) Option {
	return func(o *options) { o.client = append(o.client, opts...) }
}

// Run answers an out request: it pushes the image params.image names,
// relative to srcDir, with every tag the request asks for, and returns the
// primary tag and the pushed digest. Bad input fails before the registry is
// contacted; nothing is pushed before every tag has been validated.
func Run(ctx context.Context, req resource.OutRequest, srcDir string, opts ...Option) (_ resource.VersionResponse, err error) {
	// A URL in an error keeps scheme, host and path: an upload's Location
	// carries a signed _state in its query.
	defer func() { err = registry.Redact(err) }()
	o := options{log: silent()}
	for _, opt := range opts {
		opt(&o)
	}
	if srcDir == "" {
		return resource.VersionResponse{}, errors.New("out needs the directory of the put's inputs as its argument")
	}
	if err := req.Validate(); err != nil {
		return resource.VersionResponse{}, err
	}
	key, err := signer(req.Source, o.log)
	if err != nil {
		return resource.VersionResponse{}, err
	}
	plan, warnings, err := planTags(req, srcDir)
	if err != nil {
		return resource.VersionResponse{}, err
	}
	for _, w := range warnings {
		o.log.Warn(w)
	}
	img, err := loadImage(srcDir, req.Params.Image)
	if err != nil {
		return resource.VersionResponse{}, err
	}
	defer img.Close()

	clientOpts := append([]registry.Option{registry.ForPush(), registry.WithWarnings(o.log.Warnf)}, o.client...)
	client, err := registry.NewClient(ctx, req.Source, clientOpts...)
	if err != nil {
		return resource.VersionResponse{}, err
	}
	// A cloud source has no username but a token.
	anonymous := client.Endpoint().Auth == authn.Anonymous
	var bumped []string
	if plan.bump != nil {
		existing, err := listTags(client, anonymous)
		if err != nil {
			return resource.VersionResponse{}, err
		}
		bumped = aliases(plan.bump, plan.variant, existing)
		for _, t := range bumped {
			if err := validTag(t); err != nil {
				return resource.VersionResponse{}, fmt.Errorf("alias of params.version with source.variant %q: %w", plan.variant, err)
			}
		}
		o.log.Infof("aliases to move for %s: %s", plan.bump.Original(), orNone(bumped))
	}
	tags := plan.withAliases(bumped)
	if err := push(ctx, client, img, tags, anonymous, o.log); err != nil {
		return resource.VersionResponse{}, err
	}
	return finish(req, client, img.digest.String(), tags, key, anonymous, o.log)
}

// finish signs the pushed digest when source.sign asks, and returns the
// version and metadata out prints.
func finish(req resource.OutRequest, client *registry.Client, digest string, tags []string, key crypto.Signer, anonymous bool, log logrus.FieldLogger) (resource.VersionResponse, error) {
	metadata := []resource.MetadataField{
		// An ECR repository with its derived host, as registry-image.
		{Name: "repository", Value: req.Source.Shown(client.Repository).Repository},
		{Name: "tags", Value: strings.Join(tags, " ")},
	}
	if key != nil {
		sigTag, err := signPushed(client, digest, key, anonymous, log)
		if err != nil {
			return resource.VersionResponse{}, err
		}
		metadata = append(metadata, resource.MetadataField{Name: "signature", Value: sigTag})
	}
	return resource.VersionResponse{Version: resource.Version{Tag: tags[0], Digest: digest}, Metadata: metadata}, nil
}

// silent is the logger until WithLogger gives one: a library says nothing
// unless asked.
func silent() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// listTags lists the repository's tags; a repository that does not exist
// yet has none.
func listTags(client *registry.Client, anonymous bool) ([]string, error) {
	tags, err := remote.List(client.Repository, client.Remote...)
	if registry.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, explain(fmt.Sprintf("list tags of %s to decide the aliases", client.Repository), client.Repository, anonymous, err)
	}
	return tags, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none (a newer version exists)"
	}
	return strings.Join(s, ", ")
}
