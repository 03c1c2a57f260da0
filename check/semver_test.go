package check_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

// semverCase is a repository's tags (tag → image key), extra source fields,
// an optional cursor tag, and the tags check must print, in order.
type semverCase struct {
	tags   imagetest.TagSet
	source map[string]any
	cursor string
	want   []string
}

var _ = Describe("check with semver discovery", func() {
	run := func(reg *registrytest.Registry, c semverCase) {
		repo := freshRepo(reg)
		digests := pushTags(reg, repo, c.tags)
		src := reg.Source(repo)
		for k, v := range c.source {
			src[k] = v
		}
		req := map[string]any{"source": src}
		if c.cursor != "" {
			req["version"] = resource.Version{Tag: c.cursor, Digest: digests[c.cursor]}
		}
		r := runCheck(req)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, c.want...)))

		again := runCheck(req)
		Expect(again.stdout).To(Equal(r.stdout), "check must print the same bytes twice")
	}

	cases := []TableEntry{
		Entry("sorts versions oldest first, latest already a version",
			semverCase{tags: imagetest.TagSet{"2.0.0": "c", "1.0.0": "a", "1.10.0": "b", "1.9.0": "d", "latest": "c"},
				want: []string{"1.0.0", "1.9.0", "1.10.0", "2.0.0"}}),
		Entry("appends latest when it is not a version",
			semverCase{tags: imagetest.TagSet{"1.0.0": "a", "latest": "z"}, want: []string{"1.0.0", "latest"}}),
		Entry("collapses aliases to the most specific tag",
			semverCase{tags: imagetest.TagSet{"1": "a", "1.2": "a", "1.2.3": "a", "v1.2.4": "b", "1.3": "c"},
				want: []string{"1.2.3", "v1.2.4", "1.3"}}),
		Entry("ignores tags that are not semver",
			semverCase{tags: imagetest.TagSet{"sha-abc": "x", "main": "y", "1.0.0": "a"}, want: []string{"1.0.0"}}),
		Entry("skips pre-releases by default",
			semverCase{tags: imagetest.TagSet{"1.0.0": "a", "1.1.0-rc.1": "b"}, want: []string{"1.0.0"}}),
		Entry("includes alpha, beta and rc with pre_releases",
			semverCase{tags: imagetest.TagSet{"1.0.0": "a", "1.1.0-alpha.1": "b", "1.1.0-beta.1": "c", "1.1.0-rc.1": "d", "1.1.0-dev.1": "e"},
				source: map[string]any{"pre_releases": true}, want: []string{"1.0.0", "1.1.0-alpha.1", "1.1.0-beta.1", "1.1.0-rc.1"}}),
		Entry("adds pre_release_prefixes",
			semverCase{tags: imagetest.TagSet{"1.1.0-dev.1": "e", "1.1.0-rc.1": "d"},
				source: map[string]any{"pre_releases": true, "pre_release_prefixes": []string{"dev"}}, want: []string{"1.1.0-dev.1", "1.1.0-rc.1"}}),
		Entry("treats a dash in a pre-release as another variant",
			semverCase{tags: imagetest.TagSet{"1.1.0-rc.1-alpine": "x", "1.1.0-rc.1": "d"},
				source: map[string]any{"pre_releases": true}, want: []string{"1.1.0-rc.1"}}),
		Entry("prefers a release to a pre-release of the same digest",
			semverCase{tags: imagetest.TagSet{"1.0.0-rc.1": "a", "1.0.0": "a"}, source: map[string]any{"pre_releases": true}, want: []string{"1.0.0"}}),
		Entry("keeps only the variant's tags, and the bare variant tag",
			semverCase{tags: imagetest.TagSet{"1.0.0": "a", "1.0.0-alpine": "b", "1.1.0-alpine": "c", "alpine": "d", "latest": "a"},
				source: map[string]any{"variant": "alpine"}, want: []string{"1.0.0-alpine", "1.1.0-alpine", "alpine"}}),
		Entry("applies semver_constraint, and then never appends latest",
			semverCase{tags: imagetest.TagSet{"1.0.0": "a", "1.5.0": "b", "2.0.0": "c", "latest": "z"},
				source: map[string]any{"semver_constraint": "~1"}, want: []string{"1.0.0", "1.5.0"}}),
		Entry("with a cursor, emits it and what is newer",
			semverCase{tags: imagetest.TagSet{"1.0.0": "a", "1.1.0": "b", "2.0.0": "c"}, cursor: "1.1.0", want: []string{"1.1.0", "2.0.0"}}),
		Entry("breaks ties of equal precedence by tag",
			semverCase{tags: imagetest.TagSet{"v1.2.3": "b", "1.2.3": "a", "1.2.4": "c"},
				want: []string{"1.2.3", "v1.2.3", "1.2.4"}}),
		Entry("emits [] for a repository with no version",
			semverCase{tags: imagetest.TagSet{"main": "a"}, want: []string{}}),
	}

	DescribeTable("against the in-process registry",
		func(c semverCase) { run(flavours[0].Start(), c) }, cases)
	DescribeTable("against the real registry with TLS and basic auth",
		func(c semverCase) { run(shared.TLS, c) }, cases)

	It("starts over from every version when the cursor's tag has moved", func() {
		reg := flavours[0].Start()
		repo := freshRepo(reg)
		digests := pushTags(reg, repo, imagetest.TagSet{"1.0.0": "a", "1.1.0": "b", "2.0.0": "c"})
		moved := resource.Version{Tag: "1.1.0", Digest: digests["1.0.0"]}
		r := runCheck(map[string]any{"source": map[string]any{"repository": repo, "insecure": true}, "version": moved})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "1.0.0", "1.1.0", "2.0.0")))
	})

	It("looks up no tag older than a cursor that still holds", func() {
		set := imagetest.TagSet{"1.0.0": "a", "1.0": "a", "1.1.0": "b", "1.1": "b", "2.0.0": "c", "latest": "c"}
		proxy, digests := proxied("check/cursor", set)
		repo := proxy.Repo("check/cursor")
		r := runCheck(map[string]any{"source": map[string]any{"repository": repo, "insecure": true},
			"version": resource.Version{Tag: "1.1.0", Digest: digests["1.1.0"]}})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "1.1.0", "2.0.0")))
		// 1.1.0 (the cursor), 2.0.0 and latest: never 1.0.0, 1.0 or 1.1.
		Expect(proxy.Counts().ManifestHEAD).To(Equal(3))
		Expect(proxy.Counts().ManifestGET).To(Equal(0))
	})
})
