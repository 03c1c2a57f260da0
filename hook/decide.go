package hook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Decision is the hook's answer for one get step, with its reason in words
// and, as data, the rule that matched and what to strip before a pod runs.
type Decision struct {
	// Skip is true when the step needs no pod: Resolve computes what in
	// would have written.
	Skip bool `json:"skip"`
	// Eligible is true when the type produces a registry image, whatever
	// the step asks for: its check can run in process (Check).
	Eligible bool `json:"eligible"`
	// Rule is the eligibility rule that matched (RuleNone when none did).
	Rule Rule `json:"rule,omitempty"`
	// In is whose in a pod of this type runs, when the hook knows it.
	In     Implementation `json:"in,omitempty"`
	Reason string         `json:"reason"`
	// StripParams and StripSource are the keys to remove from the step's
	// params and source before a pod runs the stock registry-image
	// resource, which rejects them (PodParams and PodSource do it).
	StripParams []string `json:"strip_params,omitempty"`
	StripSource []string `json:"strip_source,omitempty"`
	// Source, Params and Version are decoded and validated when Skip (and
	// Source and Params when Eligible and they decode, for ResolveFetched);
	// they hold credentials and do not go into JSON.
	Source  resource.Source    `json:"-"`
	Params  resource.GetParams `json:"-"`
	Version resource.Version   `json:"-"`
}

// String is the decision without its source, params and version, which
// hold credentials: a runtime that logs a Decision with %v, %+v or %#v
// prints no password.
func (d Decision) String() string {
	return fmt.Sprintf("hook.Decision{Skip:%t Eligible:%t Rule:%q In:%q Reason:%q StripParams:%q StripSource:%q}",
		d.Skip, d.Eligible, d.Rule, d.In, d.Reason, d.StripParams, d.StripSource)
}

// GoString is String, for %#v.
func (d Decision) GoString() string { return d.String() }

// PodParams returns params without StripParams, for the pod's in; params
// is not changed.
func (d Decision) PodParams(params map[string]any) map[string]any {
	return without(params, d.StripParams)
}

// PodSource returns source without StripSource, for the pod's in.
func (d Decision) PodSource(source map[string]any) map[string]any {
	return without(source, d.StripSource)
}

func without(m map[string]any, keys []string) map[string]any {
	if len(keys) == 0 {
		return m
	}
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// ErrUnevaluated is wrapped by the error for a value that still holds a
// ((var)): the runtime must pass the credential-evaluated source.
var ErrUnevaluated = errors.New("unevaluated ((var))")

// UnevaluatedError names the field that still holds a ((var)).
type UnevaluatedError struct {
	Field string // "source.repository"
	Var   string // "((registry))"
}

func (e *UnevaluatedError) Error() string {
	return fmt.Sprintf("read %s: %s is %v: the runtime must pass the credential-evaluated value", e.Field, e.Var, ErrUnevaluated)
}

// Is makes errors.Is(err, ErrUnevaluated) true.
func (e *UnevaluatedError) Is(target error) bool { return target == ErrUnevaluated }

// Decide says whether a get step can skip its pod. It never fails a step
// it would not skip: a type that produces no image, params or source
// fields it does not know, skip_download on any type all get "run a pod"
// with the reason. It returns an error only where it would skip and cannot
// do so safely: a ((var)) left in the source or params, a malformed digest,
// a fetch_artifact that is not a bool on an eligible get, fetch_artifact:
// false together with a format.
func (h *Hook) Decide(ctx context.Context, g Get) (dec Decision, err error) {
	// A reason or error that quotes a registry's answer keeps a URL's
	// scheme, host and path only: its query may carry a token.
	defer func() { dec.Reason, err = registry.RedactURLs(dec.Reason), registry.Redact(err) }()
	d, err := h.classify(ctx, g)
	if err != nil || !d.Eligible {
		return d, err
	}
	src, srcErr := decodeSource(g.Source)
	params, paramsErr := decodeParams(g.Params)
	if !d.Skip {
		// Kept for ResolveFetched, when they decode.
		if srcErr == nil {
			d.Source = src
		}
		if paramsErr == nil {
			d.Params = params
		}
		return d, nil
	}
	version, versionErr := parseVersion(g.Version)
	checks := []struct {
		what string
		err  error
	}{{"source", srcErr}, {"params", paramsErr}, {"version", versionErr}}
	// What the resource cannot read at all (an unknown field, a value of
	// the wrong JSON type, a version of another shape) is the pod's
	// business, whatever else the step holds; only then is a ((var)) or a
	// malformed digest an error; any other failure is a pod too.
	for pass := range 3 {
		for _, c := range checks {
			var unevaluated *UnevaluatedError
			var fieldErr *resource.FieldError
			switch {
			case c.err == nil:
			case pass == 0 && errors.Is(c.err, errShape), pass == 2:
				return h.podInstead(d, g, fmt.Sprintf("refimage cannot resolve the %s in process (%v); the pod's in decides", c.what, c.err)), nil
			case pass == 1 && (errors.As(c.err, &unevaluated) || c.what == "version" && errors.As(c.err, &fieldErr)):
				return Decision{}, c.err
			}
		}
	}
	d.Source, d.Params, d.Version = src, params, version
	if src.Verify != nil {
		d.Reason += "; Resolve hands the digest over only if its cosign signature verifies with source.verify.public_keys"
	}
	return d, nil
}

// podInstead turns a skip into a pod, with the reason.
func (h *Hook) podInstead(d Decision, g Get, why string) Decision {
	d.Skip, d.Reason = false, "run a pod: "+why
	d.StripParams, d.StripSource = stripKeys(d.In, g)
	return d
}

// classify is Decide without decoding the source, params or version: the
// same answer and reason, for a static view of a pipeline whose sources
// still hold ((vars)) (refimage explain).
func (h *Hook) classify(ctx context.Context, g Get) (Decision, error) {
	e := h.eligible(ctx, g.Type, g.TypeImage, g.produces, 0, hasControl(g))
	if !e.ok {
		return Decision{Reason: "run a pod: " + e.why}, nil
	}
	d := Decision{Eligible: true, Rule: e.rule, In: e.impl}
	d.StripParams, d.StripSource = stripKeys(e.impl, g)
	ask, err := readAsk(g)
	if err != nil {
		return Decision{}, err
	}
	if ask.unreadable != "" {
		d.Reason = "run a pod: " + ask.unreadable
		return d, nil
	}
	if ask.unset() {
		if h.policy == SkipOnRequest {
			d.Reason = fmt.Sprintf("run a pod: %s, but fetch_artifact is not set and the runtime skips only gets that ask (skip_download: true or fetch_artifact: false)", e.why)
			return d, nil
		}
		d.Skip, d.Reason = true, fmt.Sprintf("no pod: %s and fetch_artifact is not set", e.why)
		d.StripParams, d.StripSource = nil, nil
		return d, nil
	}
	mode, modeWhy, err := chooseMode(ask.params, resource.Source{FetchArtifact: ask.source})
	if err != nil {
		return Decision{}, fmt.Errorf("decide get %s: %w", stepName(g), err)
	}
	if g.SkipDownload && !ask.paramSkip {
		modeWhy = strings.Replace(modeWhy, "params.skip_download", "the step's skip_download", 1)
	}
	if g.fetchFromDefaults {
		modeWhy = strings.Replace(modeWhy, "source.fetch_artifact", "defaults.fetch_artifact (the type's)", 1)
	}
	if mode == resource.FullDownload {
		d.Reason = fmt.Sprintf("run a pod: %s, so the step downloads the image's bytes (%s)", modeWhy, e.why)
		if err := h.checkStrip(ctx, d, g); err != nil {
			return Decision{}, err
		}
		return d, nil
	}
	d.Skip, d.Reason = true, fmt.Sprintf("no pod: %s and %s", e.why, modeWhy)
	d.StripParams, d.StripSource = nil, nil
	return d, nil
}

// ask is what a get step asks for: the settings in's mode depends on.
type ask struct {
	params    resource.GetParams
	source    *bool
	paramSkip bool
	// unreadable says why a setting the pod's in reads could not be read
	// here (skip_download or format of the wrong JSON type).
	unreadable string
}

func (a ask) unset() bool {
	return a.params.FetchArtifact == nil && !a.params.SkipDownload && a.params.Format == "" && a.source == nil
}

// readAsk reads fetch_artifact (params, then source: the type's defaults
// are merged into the source), skip_download and format. A fetch_artifact
// that is not a bool is an error: the type is eligible and only a bool
// says what the step wants.
func readAsk(g Get) (ask, error) {
	var a ask
	var err error
	if a.params.FetchArtifact, err = boolParam(g.Params, ControlParamFetchArtifact, "params"); err != nil {
		return a, err
	}
	where := "source"
	if g.fetchFromDefaults {
		where = "defaults"
	}
	if a.source, err = boolParam(g.Source, ControlParamFetchArtifact, where); err != nil {
		return a, err
	}
	skip, err := boolParam(g.Params, "skip_download", "params")
	if err != nil {
		a.unreadable = fmt.Sprintf("%v; the pod's in decides", err)
		return a, nil
	}
	a.paramSkip = skip != nil && *skip
	a.params.SkipDownload = a.paramSkip || g.SkipDownload
	if raw, ok := g.Params["format"]; ok && raw != nil {
		f, isString := raw.(string)
		if !isString {
			a.unreadable = fmt.Sprintf("params.format is %s, not a string; the pod's in decides", describe(raw))
			return a, nil
		}
		a.params.Format = f
	}
	return a, nil
}

// chooseMode is in's precedence, from the same function (resource.ChooseMode),
// for a Kubernetes pod.
func chooseMode(p resource.GetParams, s resource.Source) (resource.Mode, string, error) {
	return resource.ChooseMode(p, s, true)
}

// stripKeys lists the control fields the stock registry-image resource
// would reject (fetch_artifact, fetch_metadata), present in the step's
// params and source.
func stripKeys(impl Implementation, g Get) (params, source []string) {
	if impl != ImplRegistryImage {
		return nil, nil
	}
	for _, k := range []string{ControlParamFetchArtifact, ControlParamFetchMetadata} {
		if _, ok := g.Params[k]; ok {
			params = append(params, k)
		}
		if _, ok := g.Source[k]; ok {
			source = append(source, k)
		}
	}
	return params, source
}

func stepName(g Get) string {
	if g.Name != "" {
		return g.Name
	}
	return "of type " + g.Type
}
