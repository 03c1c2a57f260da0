package check

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/refimage/refimage/resource"
)

// semverFilter decides which tags semver discovery considers, with
// registry-image's rules.
type semverFilter struct {
	variant     string
	bare        string // "latest", or the variant itself
	constraint  *semver.Constraints
	preReleases bool
	prefixes    []string // extra pre-release prefixes
}

func newSemverFilter(src resource.Source) (*semverFilter, error) {
	f := &semverFilter{variant: src.Variant, bare: "latest", preReleases: src.PreReleases, prefixes: src.PreReleasePrefixes}
	if src.Variant != "" {
		f.bare = src.Variant
	}
	if src.SemverConstraint != "" {
		c, err := semver.NewConstraint(src.SemverConstraint)
		if err != nil {
			return nil, fmt.Errorf("parse semver_constraint %q: %w", src.SemverConstraint, err)
		}
		f.constraint = c
	}
	return f, nil
}

// version parses tag; ok is false for a tag semver discovery ignores. The
// bare tag is accepted with a nil version.
func (f *semverFilter) version(tag string) (v *semver.Version, ok bool) {
	if tag == f.bare {
		return nil, true
	}
	text := tag
	if f.variant != "" {
		if !strings.HasSuffix(tag, "-"+f.variant) {
			return nil, false
		}
		text = strings.TrimSuffix(tag, "-"+f.variant)
	}
	v, err := semver.NewVersion(text)
	if err != nil {
		return nil, false
	}
	if f.constraint != nil && !f.constraint.Check(v) {
		return nil, false
	}
	if pre := v.Prerelease(); pre != "" && !f.acceptsPreRelease(pre) {
		return nil, false
	}
	return v, true
}

func (f *semverFilter) acceptsPreRelease(pre string) bool {
	if !f.preReleases {
		return false
	}
	// Without custom prefixes, a dash marks another variant (1.0.0-rc.1-alpine).
	if len(f.prefixes) == 0 && strings.Contains(pre, "-") {
		return false
	}
	for _, prefix := range append([]string{"alpha", "beta", "rc"}, f.prefixes...) {
		if strings.HasPrefix(pre, prefix) {
			return true
		}
	}
	return false
}

// semverTag is one candidate of semver discovery.
type semverTag struct {
	tag     string
	version *semver.Version // nil for the bare tag
}

// checkSemver lists the repository's semver tags, collapses aliases of one
// digest to the most specific tag, and returns them oldest first, followed
// by the bare tag ("latest" or the variant) when it points elsewhere and no
// constraint is set. With a cursor whose tag still points to its digest,
// only versions at least as new are returned.
func checkSemver(ctx context.Context, l *lookup, src resource.Source, cursor *resource.Version) (resource.CheckResponse, error) {
	filter, err := newSemverFilter(src)
	if err != nil {
		return nil, err
	}
	tags, err := l.listTags()
	if err != nil {
		return nil, err
	}

	var candidates []semverTag
	for _, tag := range tags {
		if v, ok := filter.version(tag); ok {
			candidates = append(candidates, semverTag{tag, v})
		}
	}

	// The cursor is looked up first: if its tag still points where it did,
	// older versions need no lookup at all.
	var looked []tagDigest
	if cursor != nil {
		for i, c := range candidates {
			if c.tag != cursor.Tag {
				continue
			}
			first, err := l.digests(ctx, []string{c.tag})
			if err != nil {
				return nil, err
			}
			looked = first
			candidates = append(candidates[:i:i], candidates[i+1:]...)
			if first[0].found && first[0].digest == cursor.Digest && c.version != nil {
				candidates = newerThan(candidates, c.version)
			}
			break
		}
	}

	names := make([]string, len(candidates))
	for i, c := range candidates {
		names[i] = c.tag
	}
	rest, err := l.digests(ctx, names)
	if err != nil {
		return nil, err
	}
	return collapse(append(looked, rest...), filter), nil
}

// newerThan keeps the bare tag and the versions above floor; an alias equal
// to it (6.3 for 6.3.0) adds nothing.
func newerThan(candidates []semverTag, floor *semver.Version) []semverTag {
	var kept []semverTag
	for _, c := range candidates {
		if c.version == nil || c.version.GreaterThan(floor) {
			kept = append(kept, c)
		}
	}
	return kept
}

// collapse picks one tag per digest and orders the result. Among tags of one
// digest a release beats a pre-release, then more version components win
// (1.2.3 over 1.2), then the tag that sorts first byte-wise. Versions sort
// by semver precedence, ties (v1.2.3 and 1.2.3, or differing build
// metadata) by tag, byte-wise.
func collapse(results []tagDigest, filter *semverFilter) resource.CheckResponse {
	best := map[string]semverTag{}
	bareDigest := ""
	for _, r := range results {
		if !r.found {
			continue
		}
		v, _ := filter.version(r.tag)
		if v == nil {
			bareDigest = r.digest
			continue
		}
		cand := semverTag{r.tag, v}
		if cur, ok := best[r.digest]; !ok || moreSpecific(cand, cur) {
			best[r.digest] = cand
		}
	}

	versions := make(resource.CheckResponse, 0, len(best)+1)
	for digest, t := range best {
		versions = append(versions, resource.Version{Tag: t.tag, Digest: digest})
	}
	sort.Slice(versions, func(i, j int) bool {
		a, b := best[versions[i].Digest], best[versions[j].Digest]
		if c := a.version.Compare(b.version); c != 0 {
			return c < 0
		}
		return a.tag < b.tag
	})

	if _, isVersion := best[bareDigest]; bareDigest != "" && !isVersion && filter.constraint == nil {
		versions = append(versions, resource.Version{Tag: filter.bare, Digest: bareDigest})
	}
	return versions
}

func moreSpecific(a, b semverTag) bool {
	aRelease, bRelease := a.version.Prerelease() == "", b.version.Prerelease() == ""
	if aRelease != bRelease {
		return aRelease
	}
	aDots, bDots := strings.Count(a.version.Original(), "."), strings.Count(b.version.Original(), ".")
	if aDots != bDots {
		return aDots > bDots
	}
	return a.tag < b.tag
}
