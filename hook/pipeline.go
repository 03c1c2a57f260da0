package hook

import "github.com/refimage/refimage/resource"

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
)

// ResourceType is one entry of a pipeline's resource_types, as written.
type ResourceType struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"`
	Source   map[string]any `json:"source,omitempty"`
	Defaults map[string]any `json:"defaults,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	Produces string         `json:"produces,omitempty"`
	// Privileged, CheckEvery and Tags are Concourse's own fields of a
	// resource_types entry: accepted so that a runtime can pass its
	// declarations as they are, and not used.
	Privileged bool     `json:"privileged,omitempty"`
	CheckEvery string   `json:"check_every,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	// Version is the type's image version the runtime checked, if any.
	// Without one the hook checks the type's source in process when it
	// needs the image (to read its labels).
	Version *resource.Version `json:"version,omitempty"`
}

// Resource is a pipeline resource, as written (source unevaluated).
type Resource struct {
	Name     string         `json:"name,omitempty"`
	Type     string         `json:"type"`
	Source   map[string]any `json:"source,omitempty"`
	Produces string         `json:"produces,omitempty"`
}

// GetStep is what a runtime knows when it is about to run a get step.
type GetStep struct {
	// Resource carries the step's resource type name (Resource.Type).
	Resource      Resource
	ResourceTypes []ResourceType
	// Params are the get step's params.
	Params map[string]any
	// EvaluatedSource is the resource's source after credential
	// evaluation; the type's defaults are merged under it by the hook, as
	// Concourse merges them. Nil means Resource.Source (which then must
	// hold no ((var))).
	EvaluatedSource map[string]any
}

func findType(types []ResourceType, name string) *ResourceType {
	for i := range types {
		if types[i].Name == name {
			return &types[i]
		}
	}
	return nil
}
