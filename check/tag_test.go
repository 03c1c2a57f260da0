package check_test

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("check with a tag", func() {
	for _, f := range flavours {
		Context("against the "+f.Name+" registry", func() {
			It("emits the tag's digest, then follows it when it moves, keeping the old one first", func() {
				reg := f.Start()
				repo := freshRepo(reg)
				first := pushTags(reg, repo, imagetest.TagSet{"stable": "one"})
				src := reg.Source(repo)
				src["tag"] = "stable"

				r := runCheck(map[string]any{"source": src})
				Expect(r.code).To(Equal(0), r.stderr)
				Expect(r.versions).To(Equal(versionsOf(first, "stable")))

				moved := pushTags(reg, repo, imagetest.TagSet{"stable": "two"})
				Expect(moved["stable"]).NotTo(Equal(first["stable"]))
				r = runCheck(map[string]any{"source": src, "version": r.versions[0]})
				Expect(r.code).To(Equal(0), r.stderr)
				Expect(r.versions).To(Equal([]resource.Version{
					{Tag: "stable", Digest: first["stable"]},
					{Tag: "stable", Digest: moved["stable"]},
				}))
				if reg.Password != "" {
					Expect(r.stderr + r.stdout).NotTo(ContainSubstring(reg.Password))
				}
			})
		})
	}

	var reg string
	var digests map[string]string
	BeforeEach(func() {
		r := flavours[0].Start()
		reg = freshRepo(r)
		digests = pushTags(r, reg, imagetest.TagSet{"1.10": "a", "stable": "b"})
	})
	src := func(tag any) map[string]any {
		return map[string]any{"repository": reg, "insecure": true, "tag": tag}
	}

	It("emits [] for a tag that does not exist", func() {
		r := runCheck(map[string]any{"source": src("missing")})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(Equal("[]\n"))
	})

	It("drops a previous digest that no longer exists", func() {
		gone := resource.Version{Tag: "stable", Digest: "sha256:" + strings.Repeat("0", 64)}
		r := runCheck(map[string]any{"source": src("stable"), "version": gone})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "stable")))
	})

	It("ignores a previous version whose digest is not a digest", func() {
		r := runCheck(map[string]any{"source": src("stable"), "version": resource.Version{Tag: "stable", Digest: "garbage"}})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "stable")))
	})

	It("emits only the current digest when the previous one is the same", func() {
		current := versionsOf(digests, "stable")[0]
		r := runCheck(map[string]any{"source": src("stable"), "version": current})
		Expect(r.versions).To(Equal([]resource.Version{current}))
	})

	It("keeps the text of a tag written as a JSON number", func() {
		r := runCheckRaw([]byte(`{"source":{"repository":"` + reg + `","insecure":true,"tag":1.10}}`))
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "1.10")))
	})

	It("emits the index digest of a multi-arch tag", func() {
		r := flavours[0].Start()
		repo := freshRepo(r)
		idx, err := imagetest.MultiArch(imagetest.Spec{}, v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
		Expect(err).NotTo(HaveOccurred())
		want, err := imagetest.PushIndex(repo+":multi", idx, r.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		out := runCheck(map[string]any{"source": map[string]any{"repository": repo, "insecure": true, "tag": "multi"}})
		Expect(out.code).To(Equal(0), out.stderr)
		Expect(out.versions).To(Equal([]resource.Version{{Tag: "multi", Digest: want}}))
	})
})
