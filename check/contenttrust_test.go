package check_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("check with source.content_trust", func() {
	It("ignores it, as registry-image does outside put, saying so in one stderr line", func() {
		reg := flavours[0].Start()
		repo := freshRepo(reg)
		digests := pushTags(reg, repo, imagetest.TagSet{"1.0.0": "a"})
		src := reg.Source(repo)
		src["content_trust"] = map[string]any{"server": "https://notary.example", "repository_key_id": "id",
			"repository_key": "KEY-ct-123", "repository_passphrase": "PASS-ct-456"}

		r := runCheck(map[string]any{"source": src})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "1.0.0")))
		Expect(strings.Split(strings.TrimSpace(r.stderr), "\n")).To(Equal([]string{
			"warning: source.content_trust is ignored: it only signs what put pushes (Notary v1), which refimage's put refuses",
		}))
		Expect(r.stdout).NotTo(ContainSubstring("PASS-ct-456"))
	})
})
