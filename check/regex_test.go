package check_test

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("check with tag_regex", func() {
	for _, f := range flavours {
		It("emits every matching tag in the registry's order, against the "+f.Name+" registry", func() {
			reg := f.Start()
			repo := freshRepo(reg)
			digests := pushTags(reg, repo, imagetest.TagSet{"build-2": "b", "build-1": "a", "build-10": "c", "release": "d", "build-x": "a"})
			src := reg.Source(repo)
			src["tag_regex"] = `^build-\d+$`
			r := runCheck(map[string]any{"source": src})
			Expect(r.code).To(Equal(0), r.stderr)
			// Registries list tags in byte order.
			Expect(r.versions).To(Equal(versionsOf(digests, "build-1", "build-10", "build-2")))
		})
	}

	It("orders by image creation time with created_at_sort", func() {
		reg := flavours[0].Start()
		repo := freshRepo(reg)
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		tags := []imagetest.TagImage{}
		for i, tag := range []string{"a-newest", "b-oldest", "c-middle"} {
			created := map[int]time.Time{0: day.Add(48 * time.Hour), 1: day, 2: day.Add(24 * time.Hour)}[i]
			img, err := imagetest.Image(imagetest.Spec{Created: created, Labels: map[string]string{"tag": tag}, Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}})
			Expect(err).NotTo(HaveOccurred())
			tags = append(tags, imagetest.TagImage{Tag: tag, Image: img})
		}
		digests, err := imagetest.PushTags(repo, tags, reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		r := runCheck(map[string]any{"source": map[string]any{"repository": repo, "insecure": true, "tag_regex": ".", "created_at_sort": true}})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "b-oldest", "c-middle", "a-newest")))
	})

	It("emits [] when nothing matches", func() {
		reg := flavours[0].Start()
		repo := freshRepo(reg)
		pushTags(reg, repo, imagetest.TagSet{"main": "a"})
		r := runCheck(map[string]any{"source": map[string]any{"repository": repo, "insecure": true, "tag_regex": "^v"}})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(Equal("[]\n"))
	})
})
