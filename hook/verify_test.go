package hook_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature"
)

var _ = Describe("Resolve with source.verify", func() {
	var (
		reg          *testRegistry
		ctx          = context.Background()
		kp, stranger signtest.KeyPair
		repo         string
		digests      map[string]string
	)

	BeforeEach(func() {
		reg = startRegistry()
		var err error
		kp, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		stranger, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		repo = reg.Host + "/team/app"
		digests = map[string]string{}
		for _, tag := range []string{"signed", "unsigned", "tampered", "other-key", "other-digest"} {
			digests[tag] = reg.push("team/app", tag, nil).String()
		}
		opts := reg.RemoteOptions()
		Expect(signtest.Attach(repo+"@"+digests["signed"], kp, signtest.Valid, "", opts...)).To(Succeed())
		Expect(signtest.Attach(repo+"@"+digests["tampered"], kp, signtest.Tampered, "", opts...)).To(Succeed())
		Expect(signtest.Attach(repo+"@"+digests["other-key"], stranger, signtest.Valid, "", opts...)).To(Succeed())
		Expect(signtest.Attach(repo+"@"+digests["other-digest"], kp, signtest.OtherDigest, digests["signed"], opts...)).To(Succeed())
		reg.Reset()
	})

	resolve := func(h *hook.Hook, tag string, keys ...string) (*hook.Resolution, error) {
		src := map[string]any{"repository": repo, "verify": map[string]any{"public_keys": keys}}
		d, err := h.Decide(ctx, baseGet(src, nil, resource.Version{Tag: tag, Digest: digests[tag]}))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue(), d.Reason)
		Expect(d.Reason).To(HaveSuffix("; Resolve hands the digest over only if its cosign signature verifies with source.verify.public_keys"))
		return h.Resolve(ctx, d)
	}

	It("hands over a signed digest, and a repeated decision costs no request", func() {
		h := mustNew(hook.WithLabeler(nil))
		res, err := resolve(h, "signed", kp.PublicPEM)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Reference).To(Equal(repo + "@" + digests["signed"]))
		c := reg.Requests()
		Expect([]int{c.ManifestHEAD, c.ManifestGET, c.BlobGET, c.Total - c.Ping}).To(Equal([]int{1, 1, 1, 3}))

		again, err := resolve(h, "signed", kp.PublicPEM)
		Expect(err).NotTo(HaveOccurred())
		Expect(again).To(Equal(res))
		Expect(reg.Requests().Total).To(BeZero(), "not even a ping")
	})

	It("verifies even a digest it trusts to exist, once", func() {
		h := mustNew(hook.WithLabeler(nil), hook.TrustPinnedDigests())
		_, err := resolve(h, "unsigned", kp.PublicPEM)
		Expect(err).To(MatchError(signature.ErrUnverified))
		_, err = resolve(h, "signed", kp.PublicPEM)
		Expect(err).NotTo(HaveOccurred())
		reg.Reset()
		_, err = resolve(h, "signed", kp.PublicPEM)
		Expect(err).NotTo(HaveOccurred())
		Expect(reg.Requests().Total).To(BeZero())
	})

	It("does not take a digest verified with one set of keys as verified for another", func() {
		h := mustNew(hook.WithLabeler(nil))
		_, err := resolve(h, "signed", kp.PublicPEM)
		Expect(err).NotTo(HaveOccurred())
		_, err = resolve(h, "signed", stranger.PublicPEM)
		Expect(err).To(MatchError(signature.ErrUnverified))
	})

	DescribeTable("never hands over a digest that does not verify: an error that says why, every time",
		func(tag, why string) {
			h := mustNew(hook.WithLabeler(nil))
			for range 2 {
				res, err := resolve(h, tag, kp.PublicPEM)
				Expect(res).To(BeNil())
				Expect(err).To(MatchError(signature.ErrUnverified))
				Expect(err).To(MatchError(And(ContainSubstring("verify "+repo+"@"+digests[tag]), ContainSubstring(why))))
			}
		},
		Entry("unsigned", "unsigned", "unsigned: "),
		Entry("a tampered signature", "tampered", "signed with another key, or altered"),
		Entry("a signature by another key", "other-key", "none of the 1 signature(s)"),
		Entry("a signature for another digest", "other-digest", "signs another image"),
	)
})
