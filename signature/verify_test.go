package signature_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/signature"
	"github.com/refimage/refimage/signature/sign"
)

// fetcher reads from a test registry as resource.Client does.
type fetcher []remote.Option

func (f fetcher) Image(ref name.Reference) (v1.Image, error) { return remote.Image(ref, f...) }
func (fetcher) NotFound(err error) bool                      { return notFound(err) }

func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

type failing struct{}

func (failing) NotFound(err error) bool { return notFound(err) }

func (failing) Image(name.Reference) (v1.Image, error) {
	return nil, &transport.Error{StatusCode: http.StatusServiceUnavailable}
}

var _ = Describe("Verify", func() {
	var (
		reg          *registrytest.Registry
		opts         fetcher
		digest       name.Digest
		other        string
		kp, stranger signtest.KeyPair
		keys         *signature.Keys
	)

	BeforeEach(func() {
		reg = registrytest.NewInProcess()
		DeferCleanup(reg.Close)
		opts = reg.RemoteOptions()
		repo := reg.Repo("team/app")
		d, err := imagetest.Push(repo+":1", imagetest.MustImage(imagetest.Spec{Labels: map[string]string{"n": "1"}}), opts...)
		Expect(err).NotTo(HaveOccurred())
		digest, err = name.NewDigest(repo + "@" + d)
		Expect(err).NotTo(HaveOccurred())
		o, err := imagetest.Push(repo+":2", imagetest.MustImage(imagetest.Spec{Labels: map[string]string{"n": "2"}}), opts...)
		Expect(err).NotTo(HaveOccurred())
		other = o
		kp, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		stranger, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		keys, err = signature.ParsePublicKeys([]string{stranger.PublicPEM, kp.PublicPEM})
		Expect(err).NotTo(HaveOccurred())
	})

	It("accepts a signature by one of the keys", func() {
		Expect(sign.Attach(digest, kp.Signer, opts...)).To(Succeed())
		Expect(signature.Verify(opts, digest, keys)).To(Succeed())
	})

	It("accepts a digest with a valid signature among others (signatures accumulate)", func() {
		third, err := signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		Expect(sign.Attach(digest, third.Signer, opts...)).To(Succeed())
		Expect(signature.Verify(opts, digest, keys)).To(MatchError(signature.ErrUnverified))
		Expect(sign.Attach(digest, kp.Signer, opts...)).To(Succeed())
		Expect(signature.Verify(opts, digest, keys)).To(Succeed())
	})

	DescribeTable("refuses, saying why",
		func(setup func() error, want string) {
			Expect(setup()).To(Succeed())
			err := signature.Verify(opts, digest, keys)
			Expect(err).To(MatchError(signature.ErrUnverified))
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("a missing signature", func() error { return nil }, "unsigned: "),
		Entry("a tampered payload", func() error {
			return signtest.Attach(digest.String(), kp, signtest.Tampered, "", opts...)
		}, "none of the 1 signature(s) in sha256-"),
		Entry("a signature by another key", func() error {
			third, err := signtest.NewKeyPair("pw")
			if err != nil {
				return err
			}
			return signtest.Attach(digest.String(), third, signtest.Valid, "", opts...)
		}, "verifies with the 2 key(s)"),
		Entry("a signature for another digest", func() error {
			return signtest.Attach(digest.String(), kp, signtest.OtherDigest, other, opts...)
		}, "signs another image, "+other),
	)

	It("tells a registry that fails from an unsigned image", func() {
		err := signature.Verify(failing{}, digest, keys)
		Expect(err).To(HaveOccurred())
		Expect(errors.Is(err, signature.ErrUnverified)).To(BeFalse())
	})

	DescribeTable("verifies every kind of key sign makes",
		func(key func() crypto.Signer) {
			k, err := signtest.Encode(key(), "pw")
			Expect(err).NotTo(HaveOccurred())
			keys, err := signature.ParsePublicKeys([]string{k.PublicPEM})
			Expect(err).NotTo(HaveOccurred())
			Expect(sign.Attach(digest, k.Signer, opts...)).To(Succeed())
			Expect(signature.Verify(opts, digest, keys)).To(Succeed())
		},
		Entry("Ed25519", func() crypto.Signer { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }),
		Entry("RSA", func() crypto.Signer { k, _ := rsa.GenerateKey(rand.Reader, 2048); return k }),
	)
})
