package signature_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/signature"
)

func publicPEM(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	Expect(err).NotTo(HaveOccurred())
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

var _ = Describe("ParsePublicKeys", func() {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)

	DescribeTable("accepts the kinds of key cosign signs with",
		func(pub func() any) {
			keys, err := signature.ParsePublicKeys([]string{publicPEM(pub())})
			Expect(err).NotTo(HaveOccurred())
			Expect(keys.Len()).To(Equal(1))
		},
		Entry("ECDSA P-256 (cosign generate-key-pair)", func() any { return &p256.PublicKey }),
		Entry("ECDSA P-384", func() any { return &p384.PublicKey }),
		Entry("Ed25519", func() any { return edPub }),
		Entry("RSA 2048", func() any { return &rsa2048.PublicKey }),
	)

	DescribeTable("refuses, naming the entry and what to give instead",
		func(entry func() string, want string) {
			_, err := signature.ParsePublicKeys([]string{publicPEM(&p256.PublicKey), entry()})
			Expect(err).To(MatchError(And(ContainSubstring("key 1: "), ContainSubstring(want))))
		},
		Entry("text that is not PEM", func() string { return "ssh-ed25519 AAAA" }, "no PEM block found"),
		Entry("a private key", func() string {
			der, _ := x509.MarshalPKCS8PrivateKey(p256)
			return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		}, `"PRIVATE KEY", not "PUBLIC KEY"`),
		Entry("two keys in one entry", func() string { return publicPEM(&p256.PublicKey) + publicPEM(&p384.PublicKey) }, "one public key per list entry"),
		Entry("a block that does not parse", func() string {
			return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}))
		}, "parse the public key"),
		Entry("an unsupported curve", func() string { return publicPEM(&p224.PublicKey) }, "ECDSA curve P-224 is not supported"),
		Entry("a short RSA key", func() string { return publicPEM(&rsa1024.PublicKey) }, "RSA key of 1024 bits is too small"),
	)

	It("refuses an empty list", func() {
		_, err := signature.ParsePublicKeys(nil)
		Expect(err).To(MatchError("no public key given"))
	})

	It("identifies a set of keys whatever their order", func() {
		a, err := signature.ParsePublicKeys([]string{publicPEM(&p256.PublicKey), publicPEM(edPub)})
		Expect(err).NotTo(HaveOccurred())
		b, err := signature.ParsePublicKeys([]string{publicPEM(edPub), publicPEM(&p256.PublicKey)})
		Expect(err).NotTo(HaveOccurred())
		c, err := signature.ParsePublicKeys([]string{publicPEM(edPub)})
		Expect(err).NotTo(HaveOccurred())
		Expect(a.ID()).To(Equal(b.ID()))
		Expect(a.ID()).NotTo(Equal(c.ID()))
	})

	// A runtime hook decodes the same source.verify at every decision.
	It("parses a list it saw lately once, and forgets the oldest of 64", func() {
		first := []string{publicPEM(&p384.PublicKey)}
		a, err := signature.ParsePublicKeys(first)
		Expect(err).NotTo(HaveOccurred())
		Expect(signature.ParsePublicKeys([]string{publicPEM(&p384.PublicKey)})).To(BeIdenticalTo(a))

		for range 64 {
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			Expect(err).NotTo(HaveOccurred())
			_, err = signature.ParsePublicKeys([]string{publicPEM(pub)})
			Expect(err).NotTo(HaveOccurred())
		}
		again, err := signature.ParsePublicKeys(first)
		Expect(err).NotTo(HaveOccurred())
		Expect(again).NotTo(BeIdenticalTo(a))
		Expect(again.ID()).To(Equal(a.ID()))
	})
})
