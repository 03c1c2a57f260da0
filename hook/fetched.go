package hook

import (
	"context"
	"errors"
	"fmt"

	"github.com/refimage/refimage/registry"
)

// ResolveFetched is Resolve for a get that ran its pod (fetch_artifact:
// true, or a format): from the decision Decide returned for the step and
// the version its pod emitted (the runtime's map, as the pod printed it),
// it returns the same pinned reference, pull credentials, files and
// metadata a skipped get of that version yields, so that a later task's
// image: is pulled by digest either way. The decision must be Eligible: a
// type that produces no image has no reference to pin.
func (h *Hook) ResolveFetched(ctx context.Context, d Decision, emitted map[string]string) (_ *Resolution, err error) {
	defer func() { err = registry.Redact(err) }()
	if !d.Eligible {
		return nil, fmt.Errorf("resolve the fetched version: %w (%s)", ErrNotEligible, d.Reason)
	}
	if d.Source.Repository == "" {
		return nil, errors.New("resolve the fetched version: the decision carries no source (the step's source could not be read): pass the Decision that Decide returned")
	}
	v, err := parseVersion(emitted)
	if err != nil {
		return nil, fmt.Errorf("resolve the fetched version: %w", err)
	}
	d.Skip, d.Version = true, v
	return h.Resolve(ctx, d)
}

// MetadataField is the shape of a runtime's metadata field (Concourse's
// atc.MetadataField), for Metadata.
type MetadataField interface {
	~struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
}

// Metadata returns r's metadata as the runtime's own field type (for
// Concourse and JetBridge, hook.Metadata[atc.MetadataField](r)), in
// order: no loop, no JSON round trip. A nil r (a get the hook did not
// answer) has none.
func Metadata[T MetadataField](r *Resolution) []T {
	if r == nil {
		return nil
	}
	out := make([]T, len(r.Metadata))
	for i, f := range r.Metadata {
		out[i] = T(f)
	}
	return out
}
