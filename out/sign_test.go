package out_test

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/signature"
)

// fetcher reads signatures with ggcr directly, not through refimage's client.
type fetcher []remote.Option

func (f fetcher) Image(ref name.Reference) (v1.Image, error) { return remote.Image(ref, f...) }
func (fetcher) NotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

var _ = Describe("out with source.sign", func() {
	const keyPassword = "k3y-pa55-Zq"
	var kp, other signtest.KeyPair

	BeforeEach(func() {
		var err error
		kp, err = signtest.NewKeyPair(keyPassword)
		Expect(err).NotTo(HaveOccurred())
		other, err = signtest.NewKeyPair(keyPassword)
		Expect(err).NotTo(HaveOccurred())
	})

	noKeyMaterial := func(r result) {
		GinkgoHelper()
		for _, secret := range []string{keyPassword, strings.Split(kp.PrivatePEM, "\n")[1], tlsPass} {
			Expect(r.stderr).NotTo(ContainSubstring(secret))
			Expect(r.stdout).NotTo(ContainSubstring(secret))
		}
	}

	for _, f := range flavours {
		It("signs the pushed digest after its tags, where cosign looks ("+f.Name+")", func() {
			reg := f.Start()
			repo := freshRepo(reg)
			dir := inputs()
			writeTarball(dir, "image.tar", randomImage())
			Expect(writeFile(dir, "tags", "extra")).To(Succeed())
			src := reg.Source(repo)
			src["sign"] = map[string]any{"private_key": kp.PrivatePEM, "password": keyPassword}
			src["verify"] = map[string]any{"public_keys": []string{other.PublicPEM, kp.PublicPEM}}
			r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "image.tar", "additional_tags": "tags"}})
			Expect(r.code).To(Equal(0), r.stderr)
			noKeyMaterial(r)
			digest := r.resp.Version.Digest
			sigTag := strings.Replace(digest, ":", "-", 1) + ".sig"
			Expect(r.resp.Metadata).To(ContainElement(HaveField("Value", sigTag)))
			Expect(remoteTags(reg, repo)).To(ConsistOf("extra", sigTag))
			pinned, err := name.NewDigest(repo + "@" + digest)
			Expect(err).NotTo(HaveOccurred())
			mine, err := signature.ParsePublicKeys([]string{kp.PublicPEM})
			Expect(err).NotTo(HaveOccurred())
			Expect(signature.Verify(fetcher(reg.RemoteOptions()), pinned, mine)).To(Succeed())
			theirs, err := signature.ParsePublicKeys([]string{other.PublicPEM})
			Expect(err).NotTo(HaveOccurred())
			Expect(signature.Verify(fetcher(reg.RemoteOptions()), pinned, theirs)).To(MatchError(signature.ErrUnverified))
		})
	}

	DescribeTable("refuses an unusable key before any push, with one line and no key material",
		func(sign func() map[string]any, verify []string, want string) {
			reg := flavours[0].Start()
			repo := freshRepo(reg)
			dir := inputs()
			writeTarball(dir, "image.tar", randomImage())
			src := reg.Source(repo)
			src["sign"] = sign()
			if verify != nil {
				src["verify"] = map[string]any{"public_keys": verify}
			}
			r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "image.tar"}})
			expectFailure(r, want)
			noKeyMaterial(r)
			expectNoRepository(reg, repo)
		},
		Entry("a wrong password", func() map[string]any { return map[string]any{"private_key": kp.PrivatePEM, "password": "nope"} }, nil,
			"invalid source.sign: the password does not decrypt the private key"),
		Entry("the public key instead", func() map[string]any { return map[string]any{"private_key": kp.PublicPEM, "password": keyPassword} }, nil,
			`invalid source.sign: the PEM block is "PUBLIC KEY"`),
		Entry("no key", func() map[string]any { return map[string]any{"password": keyPassword} }, nil,
			"invalid source.sign.private_key: it is required"),
		Entry("source.verify with a key that is not PEM", func() map[string]any {
			return map[string]any{"private_key": kp.PrivatePEM, "password": keyPassword}
		}, []string{"OTHER"}, "invalid source.verify.public_keys[0]: no PEM block found"),
	)

	It("refuses a key whose public half is not in source.verify, before any push", func() {
		reg := flavours[0].Start()
		repo := freshRepo(reg)
		dir := inputs()
		writeTarball(dir, "image.tar", randomImage())
		src := reg.Source(repo)
		src["sign"] = map[string]any{"private_key": kp.PrivatePEM, "password": keyPassword}
		src["verify"] = map[string]any{"public_keys": []string{other.PublicPEM}}
		r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "image.tar"}})
		expectFailure(r, "its public key is not in source.verify.public_keys")
		noKeyMaterial(r)
		expectNoRepository(reg, repo)
	})
})
