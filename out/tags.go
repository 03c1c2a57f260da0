package out

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/refimage/refimage/resource"
)

// tagPlan is what the request asks to push before the registry is asked
// anything: the tags known from the params alone, and the version whose
// aliases depend on the tags already in the repository.
type tagPlan struct {
	tags []string
	// bump is the parsed version when aliases are to be considered; nil when
	// bump_aliases is off or the version is a pre-release.
	bump    *semver.Version
	variant string
	// aliasAt is where aliases go in tags: after the version's tag and
	// before the additional tags, as registry-image orders them.
	aliasAt int
}

// withAliases returns the plan's tags with aliases in their place, each tag
// once.
func (p tagPlan) withAliases(aliases []string) []string {
	tags := append([]string{}, p.tags[:p.aliasAt]...)
	tags = append(tags, aliases...)
	return dedupe(append(tags, p.tags[p.aliasAt:]...))
}

// planTags computes and validates the tags that need no registry: source.tag,
// params.version (with -variant), and the additional tags file read from
// srcDir with tag_prefix. Every tag is checked here, before anything is
// pushed.
func planTags(req resource.OutRequest, srcDir string) (tagPlan, []string, error) {
	p := req.Params
	plan := tagPlan{variant: req.Source.Variant}
	var warnings []string
	if req.Source.Tag != "" {
		plan.tags = append(plan.tags, string(req.Source.Tag))
	}
	if p.Version != "" {
		tag, ver, err := versionTag(p.Version, req.Source.Variant, p.BumpAliases)
		if err != nil {
			return tagPlan{}, nil, err
		}
		plan.tags = append(plan.tags, tag)
		plan.aliasAt = len(plan.tags)
		if p.BumpAliases && ver != nil && ver.Prerelease() == "" {
			plan.bump = ver
		}
	} else if p.BumpAliases {
		warnings = append(warnings, "params.bump_aliases has no effect without params.version")
	}
	if p.AdditionalTags != "" {
		extra, err := readAdditionalTags(srcDir, p.AdditionalTags)
		if err != nil {
			return tagPlan{}, nil, err
		}
		if len(extra) == 0 {
			warnings = append(warnings, fmt.Sprintf("params.additional_tags: %q holds no tag", p.AdditionalTags))
		}
		for _, t := range extra {
			plan.tags = append(plan.tags, p.TagPrefix+t)
		}
	}
	if len(plan.tags) == 0 {
		return tagPlan{}, nil, fmt.Errorf("no tag to push: set tag in source or version in params (or give additional_tags)")
	}
	for _, t := range plan.tags {
		if err := validTag(t); err != nil {
			return tagPlan{}, nil, err
		}
	}
	return plan, warnings, nil
}

// versionTag turns params.version into its tag. A semver version is written
// as registry-image writes it (normalised: "v1.2" becomes "1.2.0"); any
// other valid tag is pushed as given unless aliases were asked for, which
// need a semver version.
func versionTag(version, variant string, bump bool) (string, *semver.Version, error) {
	ver, err := semver.NewVersion(version)
	if err != nil {
		if bump {
			return "", nil, fmt.Errorf("invalid params.version: %q is not a semantic version, which bump_aliases needs: give MAJOR.MINOR.PATCH, or remove bump_aliases", version)
		}
		ver = nil
	}
	tag := version
	if ver != nil {
		tag = ver.String()
	}
	if variant != "" {
		tag += "-" + variant
	}
	return tag, ver, nil
}

func readAdditionalTags(srcDir, file string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(srcDir, file))
	if err != nil {
		return nil, fmt.Errorf("read params.additional_tags %q: %w", file, pathCause(err))
	}
	return strings.Fields(string(data)), nil
}

// tagPattern is the distribution spec's tag grammar.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

func validTag(t string) error {
	if !tagPattern.MatchString(t) {
		return fmt.Errorf("invalid tag %q: a tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'", t)
	}
	return nil
}

func dedupe(tags []string) []string {
	seen := map[string]bool{}
	out := tags[:0:0]
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// aliases returns the alias tags to move for ver, newest-of-its-line as
// judged against existing (the repository's tags): latest (or the bare
// variant), MAJOR and MAJOR.MINOR (with -variant). Only tags that are full
// release versions of the same variant count; pre-releases, other variants
// and tags that are not versions never block an alias.
func aliases(ver *semver.Version, variant string, existing []string) []string {
	bumpLatest, bumpMajor, bumpMinor := true, true, true
	for _, tag := range existing {
		other, ok := releaseOf(tag, variant)
		if !ok {
			continue
		}
		if other.GreaterThan(ver) {
			bumpLatest = false
		}
		if other.Major() == ver.Major() && other.Minor() > ver.Minor() {
			bumpMajor = false
		}
		if other.Major() == ver.Major() && other.Minor() == ver.Minor() && other.Patch() > ver.Patch() {
			bumpMajor, bumpMinor = false, false
		}
	}
	suffix := ""
	latest := "latest"
	if variant != "" {
		suffix = "-" + variant
		latest = variant
	}
	var out []string
	if bumpMinor {
		out = append(out, fmt.Sprintf("%d.%d%s", ver.Major(), ver.Minor(), suffix))
	}
	if bumpMajor {
		out = append(out, fmt.Sprintf("%d%s", ver.Major(), suffix))
	}
	if bumpLatest {
		out = append(out, latest)
	}
	return out
}

// fullVersion is MAJOR.MINOR.PATCH with an optional v and pre-release: a
// date tag such as 20240101 or an alias such as 2 is not a release.
var fullVersion = regexp.MustCompile(`^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// releaseOf parses tag as a release of variant: "1.2.3" without a variant,
// "1.2.3-lts" for variant lts.
func releaseOf(tag, variant string) (*semver.Version, bool) {
	if variant != "" {
		var ok bool
		if tag, ok = strings.CutSuffix(tag, "-"+variant); !ok {
			return nil, false
		}
	}
	if !fullVersion.MatchString(tag) {
		return nil, false
	}
	v, err := semver.NewVersion(tag)
	if err != nil || v.Prerelease() != "" {
		return nil, false
	}
	return v, true
}
