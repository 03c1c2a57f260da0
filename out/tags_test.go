package out_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

// tagCase is a put and the tags it must leave in the repository.
type tagCase struct {
	existing []string // tags on the registry before the put
	source   map[string]any
	params   map[string]any
	// tagsFile is written to tags.txt when not empty.
	tagsFile string

	primary string   // the version's tag
	pushed  []string // every tag the put pushes, in order
}

var _ = Describe("tags", func() {
	for _, fl := range []registrytest.Flavour{flavours[0], flavours[2]} {
		Context("on "+fl.Name, func() {
			DescribeTable("which tags a put pushes",
				func(c tagCase) {
					reg := fl.Start()
					dir := inputs()
					repo := freshRepo(reg)
					if len(c.existing) > 0 {
						var tis []imagetest.TagImage
						for _, t := range c.existing {
							tis = append(tis, imagetest.TagImage{Tag: t, Image: imagetest.DistinctImage(t)})
						}
						_, err := imagetest.PushTags(repo, tis, reg.RemoteOptions()...)
						Expect(err).NotTo(HaveOccurred())
					}
					img := randomImage()
					writeTarball(dir, "image.tar", img)
					if c.tagsFile != "" {
						Expect(os.WriteFile(filepath.Join(dir, "tags.txt"), []byte(c.tagsFile), 0o644)).To(Succeed())
					}
					src := reg.Source(repo)
					for k, v := range c.source {
						src[k] = v
					}
					params := map[string]any{"image": "image.tar"}
					for k, v := range c.params {
						params[k] = v
					}

					r := runOut(dir, map[string]any{"source": src, "params": params})

					Expect(r.code).To(Equal(0))
					Expect(r.resp.Version.Tag).To(Equal(c.primary))
					Expect(r.resp.Version.Digest).To(Equal(digestOf(img)))
					Expect(r.resp.Metadata).To(HaveLen(2))
					Expect(r.resp.Metadata[0].Name).To(Equal("repository"))
					Expect(r.resp.Metadata[0].Value).To(Equal(repo))
					Expect(r.resp.Metadata[1].Name).To(Equal("tags"))
					Expect(strings.Fields(r.resp.Metadata[1].Value)).To(Equal(c.pushed))
					for _, t := range c.pushed {
						Expect(remoteDigest(reg, repo+":"+t)).To(Equal(digestOf(img)), "tag %s", t)
					}
					Expect(remoteTags(reg, repo)).To(ConsistOf(union(c.existing, c.pushed)))
				},
				Entry("source.tag alone", tagCase{
					source: map[string]any{"tag": "stable"}, primary: "stable", pushed: []string{"stable"},
				}),
				Entry("source.tag given as a number keeps its text", tagCase{
					source: map[string]any{"tag": 1.10}, primary: "1.1", pushed: []string{"1.1"},
				}),
				Entry("version", tagCase{
					params: map[string]any{"version": "1.2.3"}, primary: "1.2.3", pushed: []string{"1.2.3"},
				}),
				Entry("version with a v and two parts is normalised as registry-image does", tagCase{
					params: map[string]any{"version": "v1.2"}, primary: "1.2.0", pushed: []string{"1.2.0"},
				}),
				Entry("a version that is not semver, without bump_aliases, is pushed as given", tagCase{
					params: map[string]any{"version": "build-42"}, primary: "build-42", pushed: []string{"build-42"},
				}),
				Entry("version with a variant", tagCase{
					source: map[string]any{"variant": "ubuntu"}, params: map[string]any{"version": "1.2.3"},
					primary: "1.2.3-ubuntu", pushed: []string{"1.2.3-ubuntu"},
				}),
				Entry("source.tag comes first, then the version", tagCase{
					source: map[string]any{"tag": "edge"}, params: map[string]any{"version": "1.2.3"},
					primary: "edge", pushed: []string{"edge", "1.2.3"},
				}),
				Entry("additional_tags, whitespace-separated", tagCase{
					source: map[string]any{"tag": "latest"}, params: map[string]any{"additional_tags": "tags.txt"},
					tagsFile: "abc123\n  main \tbuild-7\n", primary: "latest", pushed: []string{"latest", "abc123", "main", "build-7"},
				}),
				Entry("an empty additional_tags file adds no tag (a task may have none to give)", tagCase{
					source: map[string]any{"tag": "latest"}, params: map[string]any{"additional_tags": "tags.txt", "tag_prefix": "v"},
					tagsFile: "\n \n", primary: "latest", pushed: []string{"latest"},
				}),
				Entry("additional_tags alone: the first is the primary tag", tagCase{
					params: map[string]any{"additional_tags": "tags.txt"}, tagsFile: "one two",
					primary: "one", pushed: []string{"one", "two"},
				}),
				Entry("additional_tags with tag_prefix", tagCase{
					source: map[string]any{"tag": "latest"}, params: map[string]any{"additional_tags": "tags.txt", "tag_prefix": "sha-"},
					tagsFile: "abc def", primary: "latest", pushed: []string{"latest", "sha-abc", "sha-def"},
				}),
				Entry("a tag asked for twice is pushed once", tagCase{
					source: map[string]any{"tag": "latest"}, params: map[string]any{"version": "1.0.0", "bump_aliases": true},
					primary: "latest", pushed: []string{"latest", "1.0.0", "1.0", "1"},
				}),
				Entry("bump_aliases on an empty repository", tagCase{
					params:  map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary: "1.2.3", pushed: []string{"1.2.3", "1.2", "1", "latest"},
				}),
				Entry("bump_aliases when only older versions exist", tagCase{
					existing: []string{"1.2.2", "1.1.9", "0.9.0"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary:  "1.2.3", pushed: []string{"1.2.3", "1.2", "1", "latest"},
				}),
				Entry("bump_aliases moves nothing when a newer patch exists", tagCase{
					existing: []string{"1.2.4"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary:  "1.2.3", pushed: []string{"1.2.3"},
				}),
				Entry("bump_aliases keeps MAJOR when a newer minor exists", tagCase{
					existing: []string{"1.3.0"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary:  "1.2.3", pushed: []string{"1.2.3", "1.2"},
				}),
				Entry("bump_aliases keeps latest when a newer major exists", tagCase{
					existing: []string{"2.0.0"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary:  "1.2.3", pushed: []string{"1.2.3", "1.2", "1"},
				}),
				Entry("pre-release tags on the registry never block aliases", tagCase{
					existing: []string{"2.0.0-rc.1", "1.3.0-beta"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary:  "1.2.3", pushed: []string{"1.2.3", "1.2", "1", "latest"},
				}),
				Entry("tags that are not full versions never block aliases", tagCase{
					existing: []string{"20240101", "99", "nightly"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary:  "1.2.3", pushed: []string{"1.2.3", "1.2", "1", "latest"},
				}),
				Entry("a pre-release version never bumps aliases", tagCase{
					params:  map[string]any{"version": "1.2.3-rc.1", "bump_aliases": true},
					primary: "1.2.3-rc.1", pushed: []string{"1.2.3-rc.1"},
				}),
				Entry("variant aliases on an empty repository", tagCase{
					source: map[string]any{"variant": "lts"}, params: map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary: "1.2.3-lts", pushed: []string{"1.2.3-lts", "1.2-lts", "1-lts", "lts"},
				}),
				Entry("variant aliases ignore newer versions of other variants", tagCase{
					existing: []string{"1.3.0", "2.0.0-slim"},
					source:   map[string]any{"variant": "lts"}, params: map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary: "1.2.3-lts", pushed: []string{"1.2.3-lts", "1.2-lts", "1-lts", "lts"},
				}),
				Entry("variant aliases keep the variant's latest when its newer major exists", tagCase{
					existing: []string{"2.0.0-lts"},
					source:   map[string]any{"variant": "lts"}, params: map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary: "1.2.3-lts", pushed: []string{"1.2.3-lts", "1.2-lts", "1-lts"},
				}),
				Entry("variant aliases move nothing when the variant has a newer patch", tagCase{
					existing: []string{"1.2.4-lts"},
					source:   map[string]any{"variant": "lts"}, params: map[string]any{"version": "1.2.3", "bump_aliases": true},
					primary: "1.2.3-lts", pushed: []string{"1.2.3-lts"},
				}),
				Entry("every option at once", tagCase{
					existing: []string{"1.2.2"},
					source:   map[string]any{"tag": "edge"},
					params:   map[string]any{"version": "1.2.3", "bump_aliases": true, "additional_tags": "tags.txt", "tag_prefix": "git-"},
					tagsFile: "abc", primary: "edge", pushed: []string{"edge", "1.2.3", "1.2", "1", "latest", "git-abc"},
				}),
			)
		})
	}

	Context("bad tag input", func() {
		var (
			reg *registrytest.Registry
			dir string
			src map[string]any
		)
		BeforeEach(func() {
			reg = registrytest.NewInProcess()
			DeferCleanup(reg.Close)
			dir = inputs()
			src = reg.Source(freshRepo(reg))
			writeTarball(dir, "image.tar", randomImage())
		})

		DescribeTable("fails before pushing anything",
			func(source, params map[string]any, tagsFile string, parts ...string) {
				for k, v := range source {
					src[k] = v
				}
				p := map[string]any{"image": "image.tar"}
				for k, v := range params {
					p[k] = v
				}
				if tagsFile != "" {
					Expect(os.WriteFile(filepath.Join(dir, "tags.txt"), []byte(tagsFile), 0o644)).To(Succeed())
				}
				expectFailure(runOut(dir, map[string]any{"source": src, "params": p}), parts...)
				expectNoRepository(reg, src["repository"].(string))
			},
			Entry("no tag from any option", nil, nil, "",
				"no tag to push: set tag in source or version in params"),
			Entry("a version that is not semver with bump_aliases", nil, map[string]any{"version": "build-42", "bump_aliases": true}, "",
				`"build-42" is not a semantic version, which bump_aliases needs`),
			Entry("an invalid additional tag, after valid ones", map[string]any{"tag": "latest"}, map[string]any{"additional_tags": "tags.txt"}, "ok fine bad:tag",
				`invalid tag "bad:tag"`),
			Entry("a tag_prefix that makes tags invalid", map[string]any{"tag": "latest"}, map[string]any{"additional_tags": "tags.txt", "tag_prefix": "-"}, "abc",
				`invalid tag "-abc"`),
			Entry("a version whose build metadata cannot be a tag", nil, map[string]any{"version": "1.2.3+build.5"}, "",
				`invalid tag "1.2.3+build.5"`),
			Entry("a variant that makes the tag invalid", map[string]any{"variant": "a/b"}, map[string]any{"version": "1.2.3"}, "",
				`invalid tag "1.2.3-a/b"`),
			Entry("a variant whose alias cannot be a tag", map[string]any{"variant": "-x"}, map[string]any{"version": "1.2.3", "bump_aliases": true}, "",
				`alias of params.version with source.variant "-x": invalid tag "-x"`),
			Entry("tag_prefix without additional_tags", map[string]any{"tag": "latest"}, map[string]any{"tag_prefix": "v"}, "",
				"invalid params.tag_prefix", "set additional_tags too"),
			Entry("a missing additional_tags file", map[string]any{"tag": "latest"}, map[string]any{"additional_tags": "nope.txt"}, "",
				`read params.additional_tags "nope.txt"`, "no such file"),
			Entry("an empty additional_tags file and no other tag", nil, map[string]any{"additional_tags": "tags.txt"}, " \n ",
				"no tag to push"),
			Entry("an invalid source.tag", map[string]any{"tag": "a b"}, nil, "",
				"invalid source.tag"),
		)
	})
})

// union is a then the elements of b not in a.
func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, t := range b {
		found := false
		for _, u := range a {
			found = found || u == t
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}
