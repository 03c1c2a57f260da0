package sign_test

import (
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/signature/sign"
)

var _ = Describe("LoadPrivateKey", func() {
	const password = "correct horse"
	var kp signtest.KeyPair

	BeforeEach(func() {
		var err error
		kp, err = signtest.NewKeyPair(password)
		Expect(err).NotTo(HaveOccurred())
	})

	It("decrypts a cosign private key with its password", func() {
		key, err := sign.LoadPrivateKey(kp.PrivatePEM, password)
		Expect(err).NotTo(HaveOccurred())
		Expect(key.Public().(*ecdsa.PublicKey).Equal(kp.Signer.Public())).To(BeTrue())
	})

	// reencoded rewrites the JSON inside the key's PEM block.
	reencoded := func(edit func(doc map[string]any)) string {
		block, _ := pem.Decode([]byte(kp.PrivatePEM))
		var doc map[string]any
		Expect(json.Unmarshal(block.Bytes, &doc)).To(Succeed())
		edit(doc)
		b, err := json.Marshal(doc)
		Expect(err).NotTo(HaveOccurred())
		return string(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: b}))
	}

	DescribeTable("refuses an unusable key with one line that holds neither key nor password",
		func(text func() string, pass string, want string) {
			t := text()
			_, err := sign.LoadPrivateKey(t, pass)
			Expect(err).To(MatchError(ContainSubstring(want)))
			Expect(err.Error()).NotTo(ContainSubstring("\n"))
			Expect(err.Error()).NotTo(ContainSubstring(password))
			Expect(err.Error()).NotTo(ContainSubstring(strings.Split(kp.PrivatePEM, "\n")[1][:20]))
		},
		Entry("a wrong password", func() string { return kp.PrivatePEM }, "wrong", "the password does not decrypt the private key"),
		Entry("an empty password", func() string { return kp.PrivatePEM }, "", "the password does not decrypt"),
		Entry("the public key", func() string { return kp.PublicPEM }, password, `the PEM block is "PUBLIC KEY"`),
		Entry("no PEM", func() string { return "cosign.key" }, password, "no PEM block found"),
		Entry("two keys", func() string { return kp.PrivatePEM + kp.PrivatePEM }, password, "exactly one private key"),
		Entry("an scrypt cost that would exhaust memory", func() string {
			return reencoded(func(doc map[string]any) {
				doc["kdf"].(map[string]any)["params"].(map[string]any)["N"] = 1 << 30
			})
		}, password, "scrypt parameters N=1073741824 r=8 p=1 are out of range"),
		Entry("another cipher", func() string {
			return reencoded(func(doc map[string]any) { doc["cipher"].(map[string]any)["name"] = "aes-gcm" })
		}, password, `cipher "aes-gcm" is not supported`),
		Entry("a ciphertext altered", func() string {
			return reencoded(func(doc map[string]any) { doc["ciphertext"] = "AAAA" })
		}, password, "the password does not decrypt"),
	)
})
