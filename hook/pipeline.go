package hook

import (
	"context"

	"github.com/refimage/refimage/resource"
)

// Names this package gives meaning to.
const (
	// BaseType is the base resource type whose gets produce an image.
	BaseType = "registry-image"
	// ProducesRegistryImage is the value of produces (and of the label
	// below) that marks a type whose get yields a registry image.
	ProducesRegistryImage = "registry-image"
	// ProducesLabel is the OCI image label refimage's own image carries
	// (with the value ProducesRegistryImage), so that a custom type running
	// refimage is recognised without a produces declaration. It is
	// reverse-DNS in the project's namespace (github.com/refimage).
	ProducesLabel = "io.github.refimage.produces"
	// ControlParamFetchArtifact is refimage's own get param.
	ControlParamFetchArtifact = "fetch_artifact"
	// ControlParamFetchMetadata is refimage's other get param: reference
	// mode also writes labels.json and metadata.json.
	ControlParamFetchMetadata = "fetch_metadata"
)

// ResourceType is one entry of a pipeline's resource_types, as written:
// the pipeline form, which only refimage explain uses. A runtime holds a
// plan instead (Get).
type ResourceType struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"`
	Source   map[string]any `json:"source,omitempty"`
	Defaults map[string]any `json:"defaults,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	// Image is a type given directly as an image (JetBridge's image:).
	Image string `json:"image,omitempty"`
	// Produces is rule 4, only on runtimes whose pipeline schema has it.
	Produces string `json:"produces,omitempty"`
	// Privileged, CheckEvery and Tags are Concourse's own fields of a
	// resource_types entry: accepted, and not used.
	Privileged bool     `json:"privileged,omitempty"`
	CheckEvery string   `json:"check_every,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	// Version is the type's image version the runtime checked, if any.
	Version *resource.Version `json:"version,omitempty"`
}

// Resource is a pipeline resource, as written (source unevaluated).
type Resource struct {
	Name     string         `json:"name,omitempty"`
	Type     string         `json:"type"`
	Source   map[string]any `json:"source,omitempty"`
	Produces string         `json:"produces,omitempty"`
}

// GetStep is a get step of a pipeline file, with the pipeline's
// resource_types: the pipeline form.
type GetStep struct {
	Resource      Resource
	ResourceTypes []ResourceType
	// Params are the get step's params.
	Params map[string]any
	// EvaluatedSource is the resource's source after credential
	// evaluation; nil means Resource.Source.
	EvaluatedSource map[string]any
}

// Plan is the get plan Concourse would make of the step: the type's
// defaults merged under the source, and the type as an image plan, each
// resource_types entry resolved past itself (so that an entry
// name: registry-image, type: registry-image overrides the base type and
// is fetched with it).
func (s GetStep) Plan() Get {
	source := s.EvaluatedSource
	if source == nil {
		source = s.Resource.Source
	}
	fromDefaults := false
	if entry := findType(s.ResourceTypes, s.Resource.Type); entry != nil {
		_, inSource := source[ControlParamFetchArtifact]
		_, inDefaults := entry.Defaults[ControlParamFetchArtifact]
		fromDefaults = inDefaults && !inSource
		source = mergeSource(entry.Defaults, source)
	}
	return Get{Name: s.Resource.Name, Type: s.Resource.Type, Source: source, Params: s.Params,
		TypeImage: imageForType(s.ResourceTypes, s.Resource.Type), produces: s.Resource.Produces, fetchFromDefaults: fromDefaults}
}

// imageForType is Concourse's ImageForType over the pipeline form.
func imageForType(types []ResourceType, typeName string) TypeImage {
	entry := findType(types, typeName)
	if entry == nil {
		return TypeImage{BaseType: typeName}
	}
	if entry.Image != "" {
		return TypeImage{ImageRef: entry.Image, entry: entry}
	}
	rest := make([]ResourceType, 0, len(types))
	for _, t := range types {
		if t.Name != typeName {
			rest = append(rest, t)
		}
	}
	inner := imageForType(rest, entry.Type)
	var version map[string]string
	if v := entry.Version; v != nil {
		version = map[string]string{}
		if v.Tag != "" {
			version["tag"] = v.Tag
		}
		if v.Digest != "" {
			version["digest"] = v.Digest
		}
	}
	source := entry.Source
	if e := findType(rest, entry.Type); e != nil {
		source = mergeSource(e.Defaults, source)
	}
	return TypeImage{BaseType: inner.BaseType, entry: entry, GetPlan: &Get{Name: entry.Name, Type: entry.Type,
		Source: source, Params: entry.Params, Version: version, TypeImage: inner}}
}

// Classify is Decide over the pipeline form without decoding the source:
// the same answer and reason, for a static view of a pipeline whose
// sources still hold ((vars)) (refimage explain). Only fetch_artifact,
// skip_download and format are read; Source and Params stay empty.
func (h *Hook) Classify(ctx context.Context, step GetStep) (Decision, error) {
	return h.classify(ctx, step.Plan())
}

func findType(types []ResourceType, name string) *ResourceType {
	for i := range types {
		if types[i].Name == name {
			return &types[i]
		}
	}
	return nil
}
