package check_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/internal/signtest"
)

var _ = Describe("check with source.verify", func() {
	var kp, stranger signtest.KeyPair

	BeforeEach(func() {
		var err error
		kp, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		stranger, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
	})

	// signAs attaches a signature of the kind asked to tag's digest.
	signAs := func(reg *registrytest.Registry, repo string, digests map[string]string, tag string, key signtest.KeyPair, kind signtest.Kind) {
		opts := reg.RemoteOptions()
		other := digests["9.9.9"]
		Expect(signtest.Attach(repo+"@"+digests[tag], key, kind, other, opts...)).To(Succeed())
	}

	for _, f := range flavours {
		It("emits only the versions signed by one of the keys, skipping each other tag with one stderr line ("+f.Name+")", func() {
			reg := f.Start()
			repo := freshRepo(reg)
			digests := pushTags(reg, repo, imagetest.TagSet{"1.0.0": "a", "1.1.0": "b", "1.2.0": "c", "1.3.0": "d", "2.0.0": "e", "9.9.9": "z"})
			signAs(reg, repo, digests, "1.0.0", kp, signtest.Valid)
			signAs(reg, repo, digests, "1.1.0", kp, signtest.Tampered)
			signAs(reg, repo, digests, "1.2.0", stranger, signtest.Valid)
			signAs(reg, repo, digests, "1.3.0", kp, signtest.OtherDigest)
			signAs(reg, repo, digests, "9.9.9", kp, signtest.Valid)
			src := reg.Source(repo)
			src["verify"] = map[string]any{"public_keys": []string{kp.PublicPEM}}

			r := runCheck(map[string]any{"source": src})
			Expect(r.code).To(Equal(0), r.stderr)
			Expect(r.versions).To(Equal(versionsOf(digests, "1.0.0", "9.9.9")))
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			Expect(lines).To(ConsistOf(
				And(HavePrefix("warning: skipping tag 1.1.0 ("+digests["1.1.0"]+"): not verified: "), ContainSubstring("signed with another key, or altered")),
				And(HavePrefix("warning: skipping tag 1.2.0 ("), ContainSubstring("none of the 1 signature(s)")),
				And(HavePrefix("warning: skipping tag 1.3.0 ("), ContainSubstring("signs another image, "+digests["9.9.9"])),
				And(HavePrefix("warning: skipping tag 2.0.0 ("), ContainSubstring("unsigned: ")),
			))
		})
	}

	It("fails, rather than skip, when the registry cannot answer for a signature", func() {
		proxy, digests := proxied("check/verify-outage", imagetest.TagSet{"1.0.0": "a"})
		src := proxy.Source(proxy.Repo("check/verify-outage"))
		src["verify"] = map[string]any{"public_keys": []string{kp.PublicPEM}}
		proxy.Fail(registrytest.Fault{Method: "GET", PathContains: "/manifests/sha256-", Status: 403})
		r := runCheck(map[string]any{"source": src})
		Expect(r.code).NotTo(Equal(0))
		Expect(r.stdout).To(BeEmpty())
		Expect(r.stderr).To(ContainSubstring("verify "))
		Expect(r.stderr).To(ContainSubstring(digests["1.0.0"]))
	})

	DescribeTable("refuses a verify it cannot use with one stderr line, nothing on stdout",
		func(verify func() map[string]any, want string) {
			reg := flavours[0].Start()
			src := reg.Source(freshRepo(reg))
			src["verify"] = verify()
			r := runCheck(map[string]any{"source": src})
			Expect(r.code).NotTo(Equal(0))
			Expect(r.stdout).To(BeEmpty())
			Expect(strings.Split(strings.TrimSpace(r.stderr), "\n")).To(HaveLen(1))
			Expect(r.stderr).To(ContainSubstring(want))
		},
		Entry("a key that is not PEM", func() map[string]any { return map[string]any{"public_keys": []string{kp.PublicPEM, "((cosign.pub))"}} },
			"invalid source.verify.public_keys[1]: no PEM block found"),
		Entry("the private key instead", func() map[string]any { return map[string]any{"public_keys": []string{kp.PrivatePEM}} },
			`invalid source.verify.public_keys[0]: the PEM block is "ENCRYPTED SIGSTORE PRIVATE KEY", not "PUBLIC KEY"`),
		Entry("no key", func() map[string]any { return map[string]any{"public_keys": []string{}} },
			"invalid source.verify.public_keys: it is required when verify is set"),
		Entry("keyless settings", func() map[string]any {
			return map[string]any{"certificate_identity": "me@example.com", "certificate_oidc_issuer": "https://accounts.example"}
		}, "keyless verification (Fulcio certificates, the Rekor log) needs the internet and is not supported"),
		Entry("an unknown field", func() map[string]any { return map[string]any{"public_keys": []string{kp.PublicPEM}, "keys": "x"} },
			`unknown field "keys"`),
	)
})
