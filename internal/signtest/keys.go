package signtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// KeyPair is a key pair as cosign generate-key-pair writes it.
type KeyPair struct {
	// PublicPEM is cosign.pub's text; PrivatePEM is cosign.key's,
	// encrypted with Password.
	PublicPEM, PrivatePEM, Password string
	Signer                          crypto.Signer
}

// NewKeyPair makes an ECDSA P-256 key pair (cosign's kind) whose private
// key is encrypted with password in cosign's format, scrypt N=2^15 (the
// cheapest cosign writes, so specs stay fast).
func NewKeyPair(password string) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate a key: %w", err)
	}
	return Encode(key, password)
}

// Encode writes key's public half and its encrypted private half.
func Encode(key crypto.Signer, password string) (KeyPair, error) {
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode the public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode the private key: %w", err)
	}
	enc, err := encrypt(der, password)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: enc})),
		Password:   password,
		Signer:     key,
	}, nil
}

func encrypt(plain []byte, password string) ([]byte, error) {
	salt := make([]byte, 32)
	var nonce [24]byte
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	const n, r, p = 1 << 15, 8, 1
	k, err := scrypt.Key([]byte(password), salt, n, r, p, 32)
	if err != nil {
		return nil, fmt.Errorf("derive the key: %w", err)
	}
	var box [32]byte
	copy(box[:], k)
	doc := map[string]any{
		"kdf":        map[string]any{"name": "scrypt", "params": map[string]int{"N": n, "r": r, "p": p}, "salt": salt},
		"cipher":     map[string]any{"name": "nacl/secretbox", "nonce": nonce[:]},
		"ciphertext": secretbox.Seal(nil, plain, &nonce, &box),
	}
	return json.Marshal(doc)
}
