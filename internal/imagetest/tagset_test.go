package imagetest_test

import (
	"github.com/Masterminds/semver/v3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Tag sets", func() {
	It("gives exactly n distinct tags, the same each time", func() {
		tags := imagetest.SemverTags(300)
		Expect(tags).To(HaveLen(300))
		Expect(tags).To(Equal(imagetest.SemverTags(300)))
		Expect(imagetest.SemverTags(10)).To(Equal(tags[:10]))
		seen := map[string]bool{}
		for _, t := range tags {
			Expect(seen).NotTo(HaveKey(t))
			seen[t] = true
		}
	})

	It("mixes releases, variants, aliases, prereleases and non-semver tags", func() {
		set := imagetest.SemverTagSet(300)
		Expect(set).To(HaveLen(300))
		Expect(set).To(HaveKey("1.0.0"))
		Expect(set).To(HaveKey("1.0.0-alpine"))
		Expect(set).To(HaveKey("1.0.0-beta.1"))
		Expect(set).To(HaveKey("1.1.0-rc.2"))
		Expect(set).To(HaveKey("latest"))

		var strict, nonSemver int
		for tag := range set {
			if _, err := semver.StrictNewVersion(tag); err == nil {
				strict++
			}
			if _, err := semver.NewVersion(tag); err != nil {
				nonSemver++
			}
		}
		Expect(strict).To(BeNumerically(">", 100))
		Expect(nonSemver).To(BeNumerically(">", 5))
	})

	It("points moving aliases at the newest matching release", func() {
		set := imagetest.SemverTagSet(300)
		Expect(set["1.0"]).To(Equal("1.0.3"))
		Expect(set["1.0-alpine"]).To(Equal("1.0.3-alpine"))
		Expect(set["1"]).To(Equal("1.5.3"))
		Expect(set["1.0.2"]).To(Equal("1.0.2"))

		highest := semver.MustParse("0.0.0")
		for tag, key := range set {
			if v, err := semver.StrictNewVersion(tag); err == nil && v.Prerelease() == "" && key == tag && v.GreaterThan(highest) {
				highest = v
			}
		}
		Expect(set["latest"]).To(Equal(highest.String()))
	})

	It("builds one distinct image per key", func() {
		Expect(imagetest.DistinctImage("a").Digest()).To(Equal(must(imagetest.DistinctImage("a").Digest())))
		Expect(imagetest.DistinctImage("a").Digest()).NotTo(Equal(must(imagetest.DistinctImage("b").Digest())))

		images := imagetest.TagSet{"b": "k1", "a": "k1", "c": "k2"}.TagImages()
		Expect(images).To(HaveLen(3))
		Expect(images[0].Tag).To(Equal("a"))
		Expect(images[0].Image).To(BeIdenticalTo(images[1].Image))
		Expect(images[2].Image.Digest()).NotTo(Equal(must(images[0].Image.Digest())))
	})
})
