package hook

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/resource"
)

// baseEligible applies rule 1 to a declared base type. A base type
// declared by image alone (ImplUnknown) has its implementation read from
// its image's label (refimage's image carries ProducesLabel, the stock
// resource's does not), but only when the step holds a field that would
// be stripped for the stock resource (control, see hasControl): a get with
// nothing to strip costs no request.
func (h *Hook) baseEligible(ctx context.Context, base string, b baseType, control bool) eligibility {
	e := eligibility{ok: true, rule: RuleBaseType, impl: b.impl, why: fmt.Sprintf("%s is a base type that produces images", base)}
	if b.impl != ImplUnknown || !control {
		return e
	}
	impl, err := h.imageImpl(ctx, b.image)
	if err != nil {
		e.why += fmt.Sprintf(" (whose in could not be told from the label of %s: %v; nothing is stripped for its pod)", b.image, err)
		return e
	}
	e.impl = impl
	return e
}

// hasControl says whether g holds refimage's own fields, which the stock
// resource rejects.
func hasControl(g Get) bool {
	p, s := stripKeys(ImplRegistryImage, g)
	return len(p)+len(s) > 0
}

// imageImpl reads whose in an image runs from its label, once per digest
// (an image given by tag is resolved once per type check interval).
func (h *Hook) imageImpl(ctx context.Context, image string) (Implementation, error) {
	if h.labels == nil {
		return ImplUnknown, fmt.Errorf("labels are not looked up (WithLabeler(nil))")
	}
	ref, err := resource.ParseReference(image)
	if err != nil {
		return ImplUnknown, fmt.Errorf("parse %q: %w", image, err)
	}
	src := resource.Source{Repository: ref.Context().String()}
	pinned, err := h.pinImageRef(ctx, src, ref)
	if err != nil {
		return ImplUnknown, err
	}
	labels, err := h.labels.Labels(ctx, src, pinned)
	if err != nil {
		return ImplUnknown, err
	}
	if labels[ProducesLabel] == ProducesRegistryImage {
		return ImplRefimage, nil
	}
	return ImplRegistryImage, nil
}

// pinImageRef is ref's digest: as given, or its tag's, looked up once per
// type check interval.
func (h *Hook) pinImageRef(ctx context.Context, src resource.Source, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	return h.typeImages.get(ctx, "ref\x00"+sourceKey(src)+"\x00"+ref.Name(), func(ctx context.Context) (name.Digest, error) {
		d, err := h.resolveTag(ctx, src, ref.Identifier())
		return ref.Context().Digest(d), err
	})
}

// checkStrip refuses to strip fetch_artifact for a base type declared as
// the stock resource whose image carries refimage's label: refimage's in
// would then write the reference only where the step asked for the bytes,
// and no one would notice. Only an image the runtime named is read (not
// DefaultBaseImage), and only when there is something to strip.
func (h *Hook) checkStrip(ctx context.Context, d Decision, g Get) error {
	if d.Rule != RuleBaseType || d.In != ImplRegistryImage || len(d.StripParams)+len(d.StripSource) == 0 {
		return nil
	}
	base := g.Type
	if base == "" {
		base = g.TypeImage.BaseType
	}
	b := h.baseTypes[base]
	if !b.explicit || b.image == "" {
		return nil
	}
	impl, err := h.imageImpl(ctx, b.image)
	if err != nil || impl != ImplRefimage {
		return nil
	}
	return fmt.Errorf("decide get %s: the base type %s is declared as the stock registry-image (hook.ImplRegistryImage), but its image %s carries the label %s=%s (refimage's): stripping fetch_artifact would make its in write the reference only where the step asks for the bytes; declare it with hook.ImplRefimage, or by image alone (hook.ImplUnknown)",
		stepName(g), base, b.image, ProducesLabel, ProducesRegistryImage)
}
