package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/resource"
)

// maxTypeDepth bounds how deep custom types built on custom types are
// followed; Concourse plans are trees, so this only guards odd input.
const maxTypeDepth = 16

// eligibility is whether a type produces registry images, by which rule,
// and why in words.
type eligibility struct {
	ok   bool
	rule Rule
	impl Implementation
	why  string
}

// eligible applies the rules to a type as the plan carries it.
func (h *Hook) eligible(ctx context.Context, typeName string, ti TypeImage, resourceProduces string, depth int, control bool) eligibility {
	if resourceProduces == ProducesRegistryImage {
		return eligibility{ok: true, rule: RuleProduces, why: "the resource declares produces: registry-image"}
	}
	if ti.GetPlan == nil && ti.ImageRef == "" {
		base := typeName
		if base == "" {
			base = ti.BaseType
		}
		if b, ok := h.baseTypes[base]; ok {
			return h.baseEligible(ctx, base, b, control)
		}
		return eligibility{why: fmt.Sprintf("%s is a base type that produces no image", base)}
	}
	label := fmt.Sprintf("resource_types[%s]", typeName)
	if e := ti.entry; e != nil && e.Produces == ProducesRegistryImage {
		return eligibility{ok: true, rule: RuleProduces, why: label + " declares produces: registry-image"}
	} else if e != nil && e.Produces != "" {
		return eligibility{why: fmt.Sprintf("%s declares produces: %s, not registry-image", label, e.Produces)}
	}
	if depth >= maxTypeDepth {
		return eligibility{why: fmt.Sprintf("%s is built on more than %d custom types", label, maxTypeDepth)}
	}
	if ti.ImageRef != "" {
		return h.imageRefEligible(ctx, label, ti, control)
	}
	return h.imageGetEligible(ctx, label, ti.GetPlan, depth, control)
}

// listed looks a type image's repository up on the runtime's list.
func (h *Hook) listed(ctx context.Context, label, repository string, control bool) (eligibility, bool) {
	repo, err := resource.NewRepository(repository)
	if err != nil {
		return eligibility{}, false
	}
	t, ok := h.imageTypes[repo.Name()]
	if !ok {
		return eligibility{}, false
	}
	listed := "is on the runtime's list of image types"
	if t.baseType != "" {
		listed = fmt.Sprintf("is the image of the base type %s", t.baseType)
	}
	e := eligibility{ok: true, rule: RuleImageList, impl: t.impl,
		why: fmt.Sprintf("the image of %s (%s) %s", label, repository, listed)}
	if t.impl == ImplUnknown && t.baseType != "" {
		e.impl = h.baseEligible(ctx, t.baseType, h.baseTypes[t.baseType], control).impl
	}
	return e, true
}

// imageRefEligible reads the label of a type given as an image, with the
// source the plan gives for it (credentials, ca_certs, insecure), or
// anonymously.
func (h *Hook) imageRefEligible(ctx context.Context, label string, ti TypeImage, control bool) eligibility {
	ref, err := resource.ParseReference(ti.ImageRef)
	if err != nil {
		return eligibility{why: fmt.Sprintf("the image of %s, %q, is not an image reference: %v", label, ti.ImageRef, err)}
	}
	if e, ok := h.listed(ctx, label, ref.Context().String(), control); ok {
		return e
	}
	if h.labels == nil {
		return eligibility{why: fmt.Sprintf("the image of %s is not on the runtime's list, and its %s label is not looked up", label, ProducesLabel)}
	}
	src := resource.Source{Repository: ref.Context().String()}
	if len(ti.Source) > 0 {
		values := maps.Clone(ti.Source)
		values["repository"] = src.Repository
		if src, err = decodeSource(values); err != nil {
			return eligibility{why: fmt.Sprintf("the image of %s could not be inspected: its source cannot be read: %v", label, err)}
		}
	}
	pinned, err := h.pinImageRef(ctx, src, ref)
	if err != nil {
		return eligibility{why: fmt.Sprintf("the image of %s could not be resolved: %v", label, err)}
	}
	return h.labelled(ctx, label, src, pinned)
}

func (h *Hook) imageGetEligible(ctx context.Context, label string, g *Get, depth int, control bool) eligibility {
	repository, _ := g.Source["repository"].(string)
	if e, ok := h.listed(ctx, label, repository, control); ok {
		return e
	}
	if h.labels == nil {
		return eligibility{why: fmt.Sprintf("%s declares no produces, and its image's %s label is not looked up", label, ProducesLabel)}
	}
	fetched := h.eligible(ctx, g.Type, g.TypeImage, g.produces, depth+1, false)
	if !fetched.ok {
		return eligibility{why: fmt.Sprintf("%s declares no produces, and its image cannot be inspected without a pod (it is fetched with %s, and %s)", label, g.Type, fetched.why)}
	}
	src, err := decodeSource(g.Source)
	if err != nil {
		return eligibility{why: fmt.Sprintf("%s declares no produces, and its image cannot be inspected: %v", label, err)}
	}
	pinned, err := h.pinTypeImage(ctx, src, g.Version)
	if err != nil {
		return eligibility{why: fmt.Sprintf("%s declares no produces, and its image's labels could not be read: %v", label, err)}
	}
	return h.labelled(ctx, label, src, pinned)
}

// labelled applies the label rule to a pinned type image.
func (h *Hook) labelled(ctx context.Context, label string, src resource.Source, pinned name.Digest) eligibility {
	labels, err := h.labels.Labels(ctx, src, pinned)
	if err != nil {
		return eligibility{why: fmt.Sprintf("%s declares no produces, and the labels of %s could not be read: %v", label, pinned, err)}
	}
	if v := labels[ProducesLabel]; v != ProducesRegistryImage {
		return eligibility{why: fmt.Sprintf("%s declares no produces, and its image %s has no label %s=%s", label, pinned.DigestStr(), ProducesLabel, ProducesRegistryImage)}
	}
	return eligibility{ok: true, rule: RuleLabel, impl: ImplRefimage,
		why: fmt.Sprintf("the image of %s (%s) carries the label %s=%s", label, pinned.DigestStr(), ProducesLabel, ProducesRegistryImage)}
}

// pinTypeImage pins a custom type's image: the version the runtime
// checked; else the tag's digest, or the latest version of an in-process
// check, each looked up once per type and interval.
func (h *Hook) pinTypeImage(ctx context.Context, src resource.Source, version map[string]string) (name.Digest, error) {
	v, err := parseVersion(version)
	if err != nil {
		return name.Digest{}, err
	}
	reg, err := h.openCached(ctx, src)
	if err != nil {
		return name.Digest{}, err
	}
	repo, err := repositoryOf(reg, src)
	if err != nil {
		return name.Digest{}, err
	}
	if v.Digest != "" {
		return repo.Digest(v.Digest), nil
	}
	key := sourceKey(src)
	if v.Tag != "" {
		return h.typeImages.get(ctx, "tag\x00"+key+"\x00"+v.Tag, func(ctx context.Context) (name.Digest, error) {
			d, err := h.resolveTag(ctx, src, v.Tag)
			return repo.Digest(d), err
		})
	}
	return h.typeImages.get(ctx, "check\x00"+key, func(ctx context.Context) (name.Digest, error) {
		versions, _, err := h.Check(ctx, Decision{Eligible: true, Source: src}, nil)
		if err != nil {
			return name.Digest{}, err
		}
		if len(versions) == 0 {
			return name.Digest{}, fmt.Errorf("check %s: no version found", src.Repository)
		}
		return repo.Digest(versions[len(versions)-1].Digest), nil
	})
}

// sourceKey identifies a source in memory without holding its secrets.
func sourceKey(src resource.Source) string {
	b, _ := json.Marshal(src)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// parseVersion reads a plan's version as registry-image's: tag and digest,
// nothing else. A digest that is not one is a FieldError.
func parseVersion(v map[string]string) (resource.Version, error) {
	var out resource.Version
	for k, val := range v {
		switch k {
		case "tag":
			out.Tag = val
		case "digest":
			out.Digest = val
		default:
			return out, &shapeError{fmt.Errorf("version has the field %q, which a registry-image version does not", k)}
		}
	}
	if out.Digest != "" && !validDigest(out.Digest) {
		return out, &resource.FieldError{Field: "version.digest", Msg: fmt.Sprintf("%q is not a digest: it must look like sha256:<64 hex digits>", out.Digest)}
	}
	return out, nil
}

func validDigest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}
