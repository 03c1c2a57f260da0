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

// withReferrers also lists referrers, as registry.Client does.
type withReferrers struct{ fetcher }

func (f withReferrers) Referrers(d name.Digest) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(d, f.fetcher...)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return m.Manifests, nil
}

func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// brokenReferrers answers the referrers listing with a registry error.
type brokenReferrers struct{ fetcher }

func (brokenReferrers) Referrers(name.Digest) ([]v1.Descriptor, error) {
	return nil, &transport.Error{StatusCode: http.StatusMethodNotAllowed}
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
		}, "none of the 1 signature(s) in the tag sha256-"),
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

	Describe("Sigstore bundles among the OCI referrers (cosign sign --new-bundle-format)", func() {
		It("accepts a bundle signed by one of the keys, only through a fetcher that lists referrers", func() {
			Expect(signtest.AttachBundle(digest.String(), kp, signtest.Valid, "", "", opts...)).To(Succeed())
			Expect(signature.Verify(withReferrers{opts}, digest, keys)).To(Succeed())
			Expect(signature.Verify(opts, digest, keys)).To(MatchError(ContainSubstring("unsigned: ")))
		})

		DescribeTable("refuses, saying why",
			func(kind signtest.Kind, key func() signtest.KeyPair, predicate, want string) {
				Expect(signtest.AttachBundle(digest.String(), key(), kind, other, predicate, opts...)).To(Succeed())
				err := signature.Verify(withReferrers{opts}, digest, keys)
				Expect(err).To(MatchError(signature.ErrUnverified))
				Expect(err).To(MatchError(ContainSubstring(want)))
			},
			Entry("a tampered statement", signtest.Tampered, func() signtest.KeyPair { return kp }, "",
				"none of the 1 signature(s) in the tag sha256-"),
			Entry("a bundle by another key", signtest.Valid, func() signtest.KeyPair {
				third, err := signtest.NewKeyPair("pw")
				Expect(err).NotTo(HaveOccurred())
				return third
			}, "", "and the Sigstore bundles among its referrers verifies"),
			Entry("a bundle for another digest", signtest.OtherDigest, func() signtest.KeyPair { return kp }, "", "signs another image, "),
			Entry("an attestation of something else, signed with the key", signtest.Valid, func() signtest.KeyPair { return kp },
				"https://slsa.dev/provenance/v1", `is not a cosign image signature (predicate "https://slsa.dev/provenance/v1")`),
		)

		It("keeps a digest unverified, not failed, when the referrers cannot be listed, and says so", func() {
			err := signature.Verify(brokenReferrers{opts}, digest, keys)
			Expect(err).To(MatchError(signature.ErrUnverified))
			Expect(err).To(MatchError(ContainSubstring("(listing the referrers failed: ")))
		})

		It("says an image with neither is unsigned", func() {
			err := signature.Verify(withReferrers{opts}, digest, keys)
			Expect(err).To(MatchError(ContainSubstring("has no cosign signature in the tag sha256-")))
			Expect(err).To(MatchError(ContainSubstring(" and the Sigstore bundles among its referrers")))
		})
	})
})
