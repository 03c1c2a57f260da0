package hook

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Get is what a Concourse 7+ runtime holds at a get step (atc.GetPlan),
// after credential evaluation. Its JSON mirrors the plan's, so a runtime not
// written in Go can pass a plan as it is (see refimage resolve).
type Get struct {
	// Name is the step's name, used in messages only.
	Name string `json:"name,omitempty"`
	// Type is the resource's type name, as the plan carries it.
	Type string `json:"type"`
	// Source and Params are credential-evaluated, with the type's defaults
	// already merged into Source (Concourse does that when it plans).
	Source map[string]any `json:"source,omitempty"`
	Params map[string]any `json:"params,omitempty"`
	// Version is the version the scheduler chose (passed:, a pinned
	// version, or the latest check). Nil or empty for an image get whose
	// version has not been checked.
	Version map[string]string `json:"version,omitempty"`
	// SkipDownload is the get step's own skip_download: a pipeline's
	// `get: x, skip_download: true` on JetBridge, which also sets it on the
	// get of a registry-image type's image. For a type that produces images
	// it counts as params.skip_download: true (reference only, no pod,
	// unless fetch_artifact says otherwise); any other type runs a pod.
	SkipDownload bool `json:"skip_download,omitempty"`
	// TypeImage is how the plan says the type's image is obtained.
	TypeImage TypeImage `json:"image"`
	// Resource, Tags, Timeout and VersionFrom are the plan's fields,
	// accepted so that a plan decodes as it is, and not used. (A plan with
	// version_from has no version yet: pass the version it resolves to,
	// Evaluated.Version and Evaluated.TypeImageVersion with GetFromPlan.)
	Resource    string   `json:"resource,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	VersionFrom *string  `json:"version_from,omitempty"`

	// produces is the resource's produces: declaration, and
	// fetchFromDefaults says source.fetch_artifact came from the type's
	// defaults: what only the pipeline form (refimage explain) knows.
	produces          string
	fetchFromDefaults bool
}

// TypeImage is the type of a get as a plan carries it (atc.TypeImage): a
// base type, an image given directly, or the get of a custom type's image.
type TypeImage struct {
	// BaseType is the base type at the bottom of the chain. When neither
	// ImageRef nor GetPlan is set, the step's type is this base type.
	BaseType string `json:"base_type,omitempty"`
	// ImageRef is a type given directly as an image ("repo@sha256:…" or
	// "repo:tag"; JetBridge's image: on a resource type).
	ImageRef string `json:"image_ref,omitempty"`
	// Source is how to reach ImageRef, when the runtime knows it: a
	// registry-image source without repository (username and password,
	// ca_certs, insecure, registry_mirror), evaluated. Without it the hook
	// reads ImageRef's label anonymously, trusting the system's CAs: a
	// private image's label cannot be read, and its gets run a pod (with
	// the reason) unless the image is on the runtime's list
	// (WithImageType). Not a field of Concourse's plans.
	Source map[string]any `json:"-"`
	// GetPlan is the get of a custom type's image: the type it is fetched
	// with, its source and params, its checked version (if any), and its
	// own TypeImage.
	GetPlan *Get `json:"-"`
	// Privileged is the plan's field; the hook does not use it.
	Privileged bool `json:"privileged,omitempty"`

	// entry is the pipeline form's resource_types entry for the type
	// (refimage explain): its produces: declaration and name.
	entry *ResourceType
}

// planJSON is TypeImage on the wire: get_plan and check_plan are Plans,
// {"id": …, "get": {…}} and {"id": …, "check": {…}}, as Concourse writes
// them; check_plan is accepted and not used. source is refimage's (for
// image_ref), not Concourse's.
type planJSON struct {
	BaseType   string          `json:"base_type,omitempty"`
	ImageRef   string          `json:"image_ref,omitempty"`
	Source     map[string]any  `json:"source,omitempty"`
	GetPlan    *wrappedGet     `json:"get_plan,omitempty"`
	CheckPlan  json.RawMessage `json:"check_plan,omitempty"`
	Privileged bool            `json:"privileged,omitempty"`
}

type wrappedGet struct {
	ID       string `json:"id,omitempty"`
	Attempts []int  `json:"attempts,omitempty"`
	Get      *Get   `json:"get"`
}

// MarshalJSON writes the plan's form.
func (t TypeImage) MarshalJSON() ([]byte, error) {
	p := planJSON{BaseType: t.BaseType, ImageRef: t.ImageRef, Source: t.Source, Privileged: t.Privileged}
	if t.GetPlan != nil {
		p.GetPlan = &wrappedGet{Get: t.GetPlan}
	}
	return json.Marshal(p)
}

// UnmarshalJSON reads the plan's form; unknown fields are an error.
func (t *TypeImage) UnmarshalJSON(b []byte) error {
	var p planJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("read image: %w", err)
	}
	*t = TypeImage{BaseType: p.BaseType, ImageRef: p.ImageRef, Source: p.Source, Privileged: p.Privileged}
	if p.GetPlan != nil {
		if p.GetPlan.Get == nil {
			return fmt.Errorf("read image.get_plan: it has no get")
		}
		t.GetPlan = p.GetPlan.Get
	}
	return nil
}

// Rule names the eligibility rule that matched (DESIGN.md, "The runtime
// hook"); RuleNone when the type produces no registry image.
type Rule string

// The eligibility rules.
const (
	RuleNone Rule = ""
	// RuleBaseType: the type is a base type the runtime declared
	// (registry-image by default).
	RuleBaseType Rule = "base-type"
	// RuleLabel: the type's image carries ProducesLabel=registry-image.
	RuleLabel Rule = "label"
	// RuleImageList: the type's image is on the runtime's list (WithImageType,
	// or the image of a declared base type).
	RuleImageList Rule = "image-list"
	// RuleProduces: produces: registry-image on the type's entry or the
	// resource; pipeline form only.
	RuleProduces Rule = "produces"
)

// Implementation says whose in a type's pod runs, so that the runtime knows
// which params and source fields it accepts.
type Implementation string

// The implementations the hook knows.
const (
	// ImplUnknown: not known; the hook strips nothing.
	ImplUnknown Implementation = ""
	// ImplRefimage: refimage's own in, which knows fetch_artifact.
	ImplRefimage Implementation = "refimage"
	// ImplRegistryImage: the stock registry-image resource, whose in and
	// check reject fetch_artifact: Decision.StripParams and StripSource say
	// what to remove before its pod runs.
	ImplRegistryImage Implementation = "registry-image"
)

// Policy chooses which eligible gets skip their pod.
type Policy int

// The policies.
const (
	// SkipByDefault skips every eligible get unless it asks for the bytes
	// (fetch_artifact: true, or a format). refimage's default.
	SkipByDefault Policy = iota
	// SkipOnRequest skips only gets that ask: skip_download: true, or
	// fetch_artifact: false. For runtimes that must keep today's behaviour.
	SkipOnRequest
)

func (p Policy) String() string {
	if p == SkipOnRequest {
		return "skip-on-request"
	}
	return "skip-by-default"
}
