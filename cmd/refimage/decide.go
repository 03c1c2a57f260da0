package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Decisions explain prints.
const (
	decisionSkip    = "skip pod"
	decisionPod     = "pod"
	decisionByLabel = "by label"
	decisionRunTime = "at run time"
	decisionError   = "error"
)

// decider answers explain's question for one get step with the runtime
// hook's own decision. With labels, the hook looks custom types' image
// labels up in their registries, as a runtime does. Without, it reads no
// image: a get that only the label can make skip its pod is "by label",
// found by asking a second hook that assumes every type image carries the
// label (and reaches no registry).
type decider struct {
	hook, assumeLabelled *hook.Hook
	typesLabelled        []hook.ResourceType
}

// placeholderDigest stands for a type image's digest when nothing is looked
// up; it is never printed.
const placeholderDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

var errNotLookedUp = errors.New("labels are not looked up without --labels")

func newDecider(types []hook.ResourceType, labels bool) *decider {
	if labels {
		return &decider{hook: newHook()}
	}
	labelled := hook.LabelerFunc(func(context.Context, resource.Source, name.Digest) (map[string]string, error) {
		return map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage}, nil
	})
	refuse := func(context.Context, resource.Source) (registry.Registry, error) { return nil, errNotLookedUp }
	pinned := make([]hook.ResourceType, len(types))
	for i, t := range types {
		if t.Version == nil || t.Version.Digest == "" {
			t.Version = &resource.Version{Digest: placeholderDigest}
		}
		t.Source = withoutVars(t.Source)
		pinned[i] = t
	}
	return &decider{
		hook:           newHook(hook.WithLabeler(nil)),
		assumeLabelled: newHook(hook.WithLabeler(labelled), hook.WithOpen(refuse)),
		typesLabelled:  pinned,
	}
}

// newHook is hook.New for options that cannot be invalid (no base type,
// image type or policy is given).
func newHook(opts ...hook.Option) *hook.Hook {
	h, _ := hook.New(opts...)
	return h
}

// decide returns the decision and its reason for step.
func (d *decider) decide(ctx context.Context, step hook.GetStep) (decision, reason string) {
	got, err := d.hook.Classify(ctx, step)
	var unevaluated *hook.UnevaluatedError
	switch {
	case errors.As(err, &unevaluated):
		return decisionRunTime, fmt.Sprintf("%s is %s, known only once credentials are evaluated", unevaluated.Field, unevaluated.Var)
	case err != nil:
		return decisionError, err.Error()
	case got.Skip:
		return decisionSkip, strings.TrimPrefix(got.Reason, "no pod: ")
	}
	if d.assumeLabelled == nil {
		return decisionPod, strings.TrimPrefix(got.Reason, "run a pod: ")
	}
	step.ResourceTypes = d.typesLabelled
	ifLabelled, err := d.assumeLabelled.Classify(ctx, step)
	switch {
	case err != nil || !ifLabelled.Eligible:
		return decisionPod, strings.TrimPrefix(got.Reason, "run a pod: ")
	case ifLabelled.Skip:
		return decisionByLabel, fmt.Sprintf("skip pod if the image of resource_types[%s] carries the label %s=%s (refimage's image does), else pod; %v",
			step.Resource.Type, hook.ProducesLabel, hook.ProducesRegistryImage, errNotLookedUp)
	}
	// A pod whatever the label says (the step asks for the bytes): the
	// reason is the hook's, without the label it was told to assume.
	assumed := fmt.Sprintf("the image of resource_types[%s] (%s) carries the label %s=%s", step.Resource.Type, placeholderDigest, hook.ProducesLabel, hook.ProducesRegistryImage)
	why := strings.Replace(ifLabelled.Reason, assumed, "whatever the label of the image of resource_types["+step.Resource.Type+"] says", 1)
	if strings.Contains(why, placeholderDigest) {
		why = got.Reason
	}
	return decisionPod, strings.TrimPrefix(why, "run a pod: ")
}

// withoutVars replaces the ((vars)) of a type's source with placeholders:
// whatever they hold, only the image's label decides, and no request is
// made with them.
func withoutVars(src map[string]any) map[string]any {
	out := make(map[string]any, len(src))
	for k, v := range src {
		if s, ok := v.(string); ok && strings.Contains(s, "((") {
			v = "placeholder"
			if k == "repository" {
				v = "registry.invalid/placeholder"
			}
		}
		out[k] = v
	}
	return out
}
