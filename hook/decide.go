package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/refimage/refimage/resource"
)

// Decision is the hook's answer for one get step (or one custom type's
// image), with its reason in words.
type Decision struct {
	// Skip is true when the step needs no pod: Resolve computes what in
	// would have written.
	Skip bool `json:"skip"`
	// Eligible is true when the type produces a registry image, whatever
	// fetch_artifact says: its check can run in process (Check).
	Eligible bool   `json:"eligible"`
	Reason   string `json:"reason"`
	// Source (type defaults merged under the evaluated source) and Params
	// are decoded and validated when Eligible.
	Source resource.Source    `json:"-"`
	Params resource.GetParams `json:"-"`
}

// ErrUnevaluated is wrapped by the error for a source that still holds a
// ((var)): the runtime must pass the credential-evaluated source.
var ErrUnevaluated = errors.New("unevaluated ((var))")

// UnevaluatedError names the field that still holds a ((var)).
type UnevaluatedError struct {
	Field string // "source.password"
	Var   string // "((registry-password))"
}

func (e *UnevaluatedError) Error() string {
	return fmt.Sprintf("read %s: %s is %v: the runtime must pass the credential-evaluated value", e.Field, e.Var, ErrUnevaluated)
}

// Is makes errors.Is(err, ErrUnevaluated) true.
func (e *UnevaluatedError) Is(target error) bool { return target == ErrUnevaluated }

// Decide says whether a get step can skip its pod. Its errors are
// configuration mistakes the pipeline author must fix: a fetch_artifact or
// skip_download that is not a bool, skip_download on a type that produces
// no image, a leftover ((var)), an invalid source.
func (h *Hook) Decide(ctx context.Context, step GetStep) (Decision, error) {
	d, err := h.Classify(ctx, step)
	if err != nil || !d.Eligible {
		return d, err
	}
	var defaults map[string]any
	if entry := findType(step.ResourceTypes, step.Resource.Type); entry != nil {
		defaults = entry.Defaults
	}
	evaluated := step.EvaluatedSource
	if evaluated == nil {
		evaluated = step.Resource.Source
	}
	if d.Source, err = decodeSource(mergeSource(defaults, evaluated)); err != nil {
		return Decision{}, err
	}
	if d.Params, err = decodeParams(step.Params); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// Classify is Decide without decoding the source: the same answer and
// reason, for a static view of a pipeline whose sources still hold
// ((vars)) (refimage explain). Only fetch_artifact and skip_download are
// read; Source and Params stay empty.
func (h *Hook) Classify(ctx context.Context, step GetStep) (Decision, error) {
	typeName := step.Resource.Type
	var defaults map[string]any
	if entry := findType(step.ResourceTypes, typeName); entry != nil {
		defaults = entry.Defaults
	}
	source := step.EvaluatedSource
	if source == nil {
		source = step.Resource.Source
	}
	// Every layer is read, so that a malformed value is an error even where
	// a higher layer decides.
	stepFetch, err := boolParam(step.Params, ControlParamFetchArtifact, "params")
	if err != nil {
		return Decision{}, err
	}
	_, srcWhere, err := FetchArtifact(nil, source, defaults)
	if err != nil {
		return Decision{}, err
	}
	// A malformed default is an error even where the source decides.
	if _, err := boolParam(defaults, ControlParamFetchArtifact, "defaults"); err != nil {
		return Decision{}, err
	}
	srcFetch, _ := boolParam(source, ControlParamFetchArtifact, "source")
	if srcFetch == nil {
		srcFetch, _ = boolParam(defaults, ControlParamFetchArtifact, "defaults")
	}
	skipDownload, err := boolParam(step.Params, "skip_download", "params")
	if err != nil {
		return Decision{}, err
	}
	produces, why := h.producesImage(ctx, step.ResourceTypes, typeName, step.Resource.Produces, map[string]bool{})
	if !produces {
		if skipDownload != nil && *skipDownload {
			return Decision{}, fmt.Errorf("decide get of type %s: params.skip_download is true, but %s; skip_download is registry-image's and has no meaning here: remove it", typeName, why)
		}
		return Decision{Reason: "run a pod: " + why}, nil
	}
	d := Decision{Eligible: true}
	if stepFetch == nil && srcFetch == nil && (skipDownload == nil || !*skipDownload) {
		d.Skip, d.Reason = true, fmt.Sprintf("no pod: %s and fetch_artifact is not set", why)
		return d, nil
	}
	// The same precedence as in's, from the same function.
	mode, modeWhy, err := resource.ChooseMode(
		resource.GetParams{FetchArtifact: stepFetch, SkipDownload: skipDownload != nil && *skipDownload},
		resource.Source{FetchArtifact: srcFetch}, true)
	if err != nil {
		return Decision{}, err
	}
	if srcWhere == "defaults."+ControlParamFetchArtifact {
		modeWhy = strings.Replace(modeWhy, "source.fetch_artifact", "defaults.fetch_artifact (the type's)", 1)
	}
	if mode == resource.FullDownload {
		d.Reason = fmt.Sprintf("run a pod: %s, so the step downloads the image's bytes (%s)", modeWhy, why)
		return d, nil
	}
	d.Skip, d.Reason = true, fmt.Sprintf("no pod: %s and %s", why, modeWhy)
	return d, nil
}

// DecideTypeImage says whether the image of the custom type typeName can be
// resolved with no check or get pod: when the type it is fetched with (its
// entry's type:) produces a registry image. Whether typeName's own
// resources are eligible is Decide's question, not this one.
func (h *Hook) DecideTypeImage(ctx context.Context, types []ResourceType, typeName string) (Decision, error) {
	entry := findType(types, typeName)
	if entry == nil {
		return Decision{}, fmt.Errorf("decide image of type %s: no resource_types entry has that name; base types' images are the runtime's own", typeName)
	}
	return h.decideTypeImage(ctx, types, entry, map[string]bool{typeName: true})
}

func (h *Hook) decideTypeImage(ctx context.Context, types []ResourceType, entry *ResourceType, seen map[string]bool) (Decision, error) {
	fetch, where, err := FetchArtifact(entry.Params, nil, nil)
	if err != nil {
		return Decision{}, fmt.Errorf("decide image of type %s: %w", entry.Name, err)
	}
	produces, why := h.producesImage(ctx, types, entry.Type, "", seen)
	if !produces {
		return Decision{Reason: fmt.Sprintf("run a pod: type %s is fetched with %s, and %s", entry.Name, entry.Type, why)}, nil
	}
	d := Decision{Eligible: true}
	if d.Source, err = decodeSource(entry.Source); err != nil {
		return Decision{}, fmt.Errorf("decide image of type %s: %w", entry.Name, err)
	}
	if d.Params, err = decodeParams(entry.Params); err != nil {
		return Decision{}, fmt.Errorf("decide image of type %s: %w", entry.Name, err)
	}
	if fetch != nil && *fetch {
		d.Reason = fmt.Sprintf("run a pod: resource_types[%s].%s is true", entry.Name, where)
		return d, nil
	}
	d.Skip, d.Reason = true, fmt.Sprintf("no pod: type %s is fetched with %s, and %s", entry.Name, entry.Type, why)
	return d, nil
}

// producesImage applies the three eligibility rules to typeName; why says
// which rule held, or why none did.
func (h *Hook) producesImage(ctx context.Context, types []ResourceType, typeName, resourceProduces string, seen map[string]bool) (bool, string) {
	if resourceProduces == ProducesRegistryImage {
		return true, "the resource declares produces: registry-image"
	}
	entry := findType(types, typeName)
	switch {
	case entry == nil && typeName == BaseType:
		return true, "registry-image is the base type that produces images"
	case entry == nil:
		return false, fmt.Sprintf("%s is a base type that produces no image", typeName)
	case entry.Produces == ProducesRegistryImage:
		return true, fmt.Sprintf("resource_types[%s] declares produces: registry-image", typeName)
	case entry.Produces != "":
		return false, fmt.Sprintf("resource_types[%s] declares produces: %s, not registry-image", typeName, entry.Produces)
	case seen[typeName]:
		return false, fmt.Sprintf("resource_types[%s] is fetched with itself (a cycle)", typeName)
	case h.labels == nil:
		return false, fmt.Sprintf("resource_types[%s] declares no produces, and its image's %s label is not looked up", typeName, ProducesLabel)
	}
	seen[typeName] = true
	img, err := h.decideTypeImage(ctx, types, entry, seen)
	switch {
	case err != nil:
		return false, fmt.Sprintf("resource_types[%s] declares no produces, and its image cannot be inspected: %v", typeName, err)
	case !img.Eligible:
		return false, fmt.Sprintf("resource_types[%s] declares no produces, and its image cannot be inspected without a pod (%s)", typeName, strings.TrimPrefix(img.Reason, "run a pod: "))
	}
	pinned, err := h.typeImageDigest(ctx, entry, img)
	if err != nil {
		return false, fmt.Sprintf("resource_types[%s] declares no produces, and its image's labels could not be read: %v", typeName, err)
	}
	labels, err := h.labels.Labels(ctx, img.Source, pinned)
	if err != nil {
		return false, fmt.Sprintf("resource_types[%s] declares no produces, and the labels of %s could not be read: %v", typeName, pinned, err)
	}
	if v := labels[ProducesLabel]; v != ProducesRegistryImage {
		return false, fmt.Sprintf("resource_types[%s] declares no produces, and its image %s has no label %s=%s", typeName, pinned.DigestStr(), ProducesLabel, ProducesRegistryImage)
	}
	return true, fmt.Sprintf("the image of resource_types[%s] (%s) carries the label %s=%s", typeName, pinned.DigestStr(), ProducesLabel, ProducesRegistryImage)
}
