package hook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
)

// Evaluated is what a runtime knows at a get step and its plan does not
// say: the step's evaluated source and params and the version it chose,
// the version it fetched the type's image at, and how it evaluates
// ((vars)).
type Evaluated struct {
	// Source, Params and Version are the step's, credential-evaluated and
	// chosen (a plan with version_from carries no version of its own); nil
	// keeps the plan's own.
	Source  map[string]any
	Params  map[string]any
	Version map[string]string
	// TypeImageVersion is the version at which the runtime fetched the
	// type's image (JetBridge: the version of the image's resource cache,
	// FetchImage's second result). A type image's plan has version_from,
	// never a version; without this the hook checks the type's image in
	// process (once per interval) to learn it.
	TypeImageVersion map[string]string
	// Evaluate evaluates the ((vars)) of a type image's source, as the
	// runtime does when it runs that get (JetBridge:
	// creds.NewSource(state, source).Evaluate()). It is applied to every
	// type image's source in the chain, and to TypeImage.Source. Without it, a source that holds a
	// ((var)) cannot be read, and the answer is a pod unless the image is
	// on the runtime's list.
	Evaluate func(source map[string]any) (map[string]any, error)
}

// GetFromPlan makes a Get of a runtime's get plan: any value whose JSON is
// Concourse's atc.GetPlan (JetBridge's and Concourse 7's plans are), with
// what the plan does not say taken from e. This is the documented way for
// a Go runtime to call Decide: it reads version_from plans and type image
// sources holding ((vars)) as the runtime resolved them.
func GetFromPlan(plan any, e Evaluated) (Get, error) {
	b, err := json.Marshal(plan)
	if err != nil {
		return Get{}, fmt.Errorf("read the get plan: %w", err)
	}
	var g Get
	if err := json.Unmarshal(b, &g); err != nil {
		return Get{}, fmt.Errorf("read the get plan: %w", err)
	}
	if e.Source != nil {
		g.Source = e.Source
	}
	if e.Params != nil {
		g.Params = e.Params
	}
	if e.Version != nil {
		g.Version = e.Version
	}
	if img := g.TypeImage.GetPlan; img != nil && e.TypeImageVersion != nil {
		img.Version = maps.Clone(e.TypeImageVersion)
	}
	if e.Evaluate == nil {
		return g, nil
	}
	// An evaluation that fails leaves the source as it is: the runtime fails
	// that get itself when it runs it, and the hook reads what it can (a
	// pod, with the reason).
	evaluate := func(src map[string]any) map[string]any {
		if src == nil {
			return nil
		}
		if out, err := e.Evaluate(src); err == nil {
			return out
		}
		return src
	}
	for ti := &g.TypeImage; ; ti = &ti.GetPlan.TypeImage {
		ti.Source = evaluate(ti.Source)
		if ti.GetPlan == nil {
			return g, nil
		}
		ti.GetPlan.Source = evaluate(ti.GetPlan.Source)
	}
}

// DecidePlan is GetFromPlan and Decide in one call: the documented recipe
// for a Go runtime at a get step. A nil Hook (a runtime that runs without
// one) decides that every get runs its pod, with no error.
func (h *Hook) DecidePlan(ctx context.Context, plan any, e Evaluated) (Decision, error) {
	if h == nil {
		return Decision{Reason: "run a pod: the runtime has no hook"}, nil
	}
	g, err := GetFromPlan(plan, e)
	if err != nil {
		return Decision{}, err
	}
	return h.Decide(ctx, g)
}
