package hook

import (
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Hook answers a runtime's get steps. It caches proven digests, image
// labels and the checked versions of type images, so that one Hook serves
// a runtime's lifetime; it is safe for concurrent use.
type Hook struct {
	labels     Labeler
	clientOpts []registry.Option
	transports transports
	clients    *lru[*registry.Client] // see openPooled
	open       registry.OpenFunc
	proven     *lru[struct{}]
	verified   *lru[struct{}]
	images     *lru[v1.Image]
	typeImages *versionCache
	nodePulls  nodePulls
	baseTypes  map[string]baseType
	imageTypes map[string]imageType // by repository (name.Repository.Name())
	policy     Policy
	trust      bool
	now        func() time.Time
	// proveEvery is how long a proven digest (or a fetched image) stands.
	proveEvery time.Duration
}

// imageType is a type image on the runtime's list: whose in it runs, and
// the base type it is the image of, if any.
type imageType struct {
	impl     Implementation
	baseType string
}

// baseType is one base type the runtime declared as producing images;
// explicit when WithBaseType named its image.
type baseType struct {
	image    string
	impl     Implementation
	explicit bool
}

// DefaultBaseImage is the image of the base type registry-image when the
// runtime declares none: the stock resource, as Concourse and JetBridge
// ship it.
const DefaultBaseImage = "docker.io/concourse/registry-image-resource"

// nodePulls records which cloud registries the nodes pull from with their
// own identity, so that no pull secret is made for them.
type nodePulls struct{ ecr, acr bool }

type options struct {
	labels        Labeler
	noLabels      bool
	clientOpts    []registry.Option
	open          registry.OpenFunc
	cacheSize     int
	nodePulls     nodePulls
	baseTypes     map[string]baseType
	imageTypes    map[string]imageType
	policy        Policy
	trust         bool
	checkInterval time.Duration
	failure       time.Duration
	proveEvery    time.Duration
	now           func() time.Time
	errs          []error
}

// Option configures New.
type Option func(*options)

// WithBaseType declares that the base type name produces registry images
// (rule 1), that its image is image, and whose in it runs. A runtime that
// registers refimage's image as registry-image says
// WithBaseType("registry-image", "ghcr.io/…/refimage@sha256:…", ImplRefimage).
// A runtime that knows only the image (JetBridge's
// --kubernetes-base-resource-type registry-image=IMAGE) passes ImplUnknown:
// the implementation is then read from the image's label (ProducesLabel:
// refimage; none: the stock resource), once per digest, anonymously. An
// explicit ImplRegistryImage wins, but a get whose fetch_artifact it would
// strip is an error when the image carries refimage's label, rather than a
// download silently turned into a reference.
// Without any, registry-image is DefaultBaseImage with ImplRegistryImage.
// A custom type whose image is a declared base type's image (a
// resource_types entry that overrides the base type with the same image)
// matches rule 3.
func WithBaseType(name, image string, impl Implementation) Option {
	return func(o *options) {
		err := checkImpl(impl)
		if impl == ImplUnknown {
			err = emptyImage(image)
		}
		if err != nil || name == "" {
			var errs []error
			for _, e := range []error{err, emptyName(name)} {
				if e != nil {
					errs = append(errs, e)
				}
			}
			o.errs = append(o.errs, fmt.Errorf("declare base type %q: %w", name, joined(errs)))
			return
		}
		o.baseTypes[name] = baseType{image: image, impl: impl, explicit: true}
	}
}

// WithImageType puts type images on the operator's list of images whose
// gets produce registry images (rule 3), by repository (any tag or digest
// of it).
func WithImageType(impl Implementation, repositories ...string) Option {
	return func(o *options) {
		if err := checkImpl(impl); err != nil {
			o.errs = append(o.errs, fmt.Errorf("list image types %v: %w", repositories, err))
			return
		}
		for _, r := range repositories {
			o.imageTypes[r] = imageType{impl: impl}
		}
	}
}

// WithPolicy chooses which eligible gets skip their pod (SkipByDefault
// unless given).
func WithPolicy(p Policy) Option { return func(o *options) { o.policy = p } }

// TrustPinnedDigests makes a version with a digest cost no request at
// all: the digest the scheduler chose is trusted to exist, as kubelet will
// find out when it pulls (a registry that is down does not fail a build
// whose image the node has cached). The default proves each digest once
// with a HEAD.
func TrustPinnedDigests() Option { return func(o *options) { o.trust = true } }

// WithTypeCheckInterval is how long an in-process check of a custom type's
// image (for a type with no checked version, or an image given by tag)
// stands: one check per type and interval, whatever the number of
// decisions. The default is one minute, Concourse's default check_every.
func WithTypeCheckInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.checkInterval = d
		}
	}
}

// DefaultFailureInterval is how long a failed lookup (a custom type's
// label, a type image's tag or in-process check) is remembered: within it,
// every decision that needs the lookup gets the same failure (and runs a
// pod) without asking the registry again, so that an outage costs one
// lookup, with its retries, per key and interval rather than per decision,
// and spends no pull quota on repeats.
const DefaultFailureInterval = 30 * time.Second

// WithFailureInterval replaces DefaultFailureInterval.
func WithFailureInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.failure = d
		}
	}
}

// DefaultProveInterval is how long a digest proven to exist (by a HEAD, or
// by fetching its image for label_regex or fetch_metadata) stands before
// the next decision that needs it proves it again: a digest deleted from
// the registry then fails with refimage's "digest gone" message rather
// than kubelet's ErrImagePull. A runtime that sees a pull fail says so
// with PullFailed, which ends the interval at once.
const DefaultProveInterval = 15 * time.Minute

// WithProveInterval replaces DefaultProveInterval.
func WithProveInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.proveEvery = d
		}
	}
}

// WithClock replaces time.Now for the hook's intervals (type checks,
// failures, proofs); for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLabeler replaces the registry lookup of a custom type's image labels
// (rule 2); the hook caches its answers per image digest. Nil turns the
// rule off.
func WithLabeler(l Labeler) Option {
	return func(o *options) { o.labels, o.noLabels = l, l == nil }
}

// WithClientOptions passes options to registry.NewClient (transport, retry
// policy, cloud resolver) for every registry request the hook makes. The
// hook otherwise keeps one transport per TLS setting (ca_certs) for its
// lifetime, shared by every decision; a transport given here replaces it.
func WithClientOptions(opts ...registry.Option) Option {
	return func(o *options) { o.clientOpts = append(o.clientOpts, opts...) }
}

// WithOpen replaces how a source becomes a registry connection. The
// default is registry.NewClient, one client per source configuration kept
// for five minutes and shared by the decisions in between (openPooled).
func WithOpen(open registry.OpenFunc) Option { return func(o *options) { o.open = open } }

// NodesPullFromECR says the cluster's nodes pull from Amazon ECR with their
// own identity (an instance role and kubelet's ECR credential provider):
// Resolve then makes no pull secret for an ECR source. Without it, the pull
// secret holds the step's short-lived ECR token, and its expiry is stated.
func NodesPullFromECR() Option { return func(o *options) { o.nodePulls.ecr = true } }

// NodesPullFromACR is NodesPullFromECR for Azure ACR (AKS nodes with the
// registry attached).
func NodesPullFromACR() Option { return func(o *options) { o.nodePulls.acr = true } }

// WithCacheSize bounds each cache (proven digests, fetched manifests,
// labels, type versions); the default is 4096 entries, least recently used
// first out.
func WithCacheSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheSize = n
		}
	}
}

// New returns a Hook. The zero configuration declares registry-image as
// the stock resource, skips image gets by default, proves digests with one
// HEAD, talks to registries with registry.NewClient and reads custom types'
// labels from their images. Invalid options are reported here, all at once.
func New(opts ...Option) (*Hook, error) {
	o := options{cacheSize: 4096, checkInterval: time.Minute, now: time.Now,
		failure: DefaultFailureInterval, proveEvery: DefaultProveInterval,
		baseTypes:  map[string]baseType{BaseType: {image: DefaultBaseImage, impl: ImplRegistryImage}},
		imageTypes: map[string]imageType{}}
	for _, opt := range opts {
		opt(&o)
	}
	h := &Hook{clientOpts: o.clientOpts, nodePulls: o.nodePulls, baseTypes: o.baseTypes,
		policy: o.policy, trust: o.trust, imageTypes: map[string]imageType{},
		proven: newLRU[struct{}](o.cacheSize), verified: newLRU[struct{}](o.cacheSize), images: newLRU[v1.Image](o.cacheSize),
		typeImages: newVersionCache(o.cacheSize, o.checkInterval, o.failure, o.now),
		now:        o.now, proveEvery: o.proveEvery}
	if o.policy != SkipByDefault && o.policy != SkipOnRequest {
		o.errs = append(o.errs, fmt.Errorf("choose policy: %d is neither SkipByDefault nor SkipOnRequest", o.policy))
	}
	for n, b := range o.baseTypes {
		if b.image != "" {
			o.imageTypes[b.image] = imageType{impl: b.impl, baseType: n}
		}
	}
	for image, t := range o.imageTypes {
		ref, err := resource.ParseReference(image)
		if image == "" {
			err = errors.New("the repository is empty: give the type image's repository, e.g. ghcr.io/team/my-type")
		}
		if err != nil {
			o.errs = append(o.errs, fmt.Errorf("list image type %q: %w", image, err))
			continue
		}
		h.imageTypes[ref.Context().Name()] = t
	}
	if len(o.errs) > 0 {
		return nil, fmt.Errorf("configure the hook: %w", joined(o.errs))
	}
	h.open = o.open
	if h.open == nil {
		h.clients = newLRU[*registry.Client](maxClients)
		h.open = h.openPooled
	}
	switch {
	case o.labels != nil:
		h.labels = cachedLabeler(o.labels, o.cacheSize, o.failure, o.now)
	case !o.noLabels:
		h.labels = cachedLabeler(RegistryLabeler(h.openCached), o.cacheSize, o.failure, o.now)
	}
	return h, nil
}

func checkImpl(impl Implementation) error {
	switch impl {
	case ImplRefimage, ImplRegistryImage:
		return nil
	}
	return fmt.Errorf("implementation %q is neither %q (hook.ImplRefimage) nor %q (hook.ImplRegistryImage)", impl, ImplRefimage, ImplRegistryImage)
}

// joinedErrors is errors.Join on one line ("; " between), so that a log
// line or refimage resolve's stderr line reads as a list.
type joinedErrors []error

func joined(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return joinedErrors(errs)
}

func (e joinedErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e joinedErrors) Unwrap() []error { return e }

func emptyImage(image string) error {
	if image == "" {
		return errors.New("an implementation read from the image's label (hook.ImplUnknown) needs the image")
	}
	return nil
}

func emptyName(n string) error {
	if n == "" {
		return errors.New("the name is empty")
	}
	return nil
}
