package sign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"

	"github.com/refimage/refimage/signature"
)

// The PEM types cosign writes for an encrypted private key: the current one
// and the one of cosign before 2.0.
var pemTypes = map[string]bool{"ENCRYPTED SIGSTORE PRIVATE KEY": true, "ENCRYPTED COSIGN PRIVATE KEY": true}

// encryptedKey is the JSON inside the PEM block (go-securesystemslib's
// encrypted format, which cosign uses).
type encryptedKey struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N int `json:"N"`
			R int `json:"r"`
			P int `json:"p"`
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// Scrypt costs above these are refused: a key from a pipeline must not be
// able to make put spend gigabytes of memory.
const (
	maxScryptN = 1 << 20
	maxScryptR = 32
	maxScryptP = 16
)

// LoadPrivateKey decrypts a cosign private key with its password. Its
// errors never contain the key or the password.
func LoadPrivateKey(pemText, password string) (crypto.Signer, error) {
	block, rest := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("no PEM block found: give the whole text of cosign.key, from -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY----- to its END line")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("text after the PEM block: give exactly one private key")
	}
	if !pemTypes[block.Type] {
		return nil, fmt.Errorf("the PEM block is %q: give a cosign private key (ENCRYPTED SIGSTORE PRIVATE KEY), as cosign generate-key-pair writes it", block.Type)
	}
	var ek encryptedKey
	if err := json.Unmarshal(block.Bytes, &ek); err != nil {
		return nil, errors.New("the key's PEM block does not hold cosign's encrypted key JSON")
	}
	der, err := ek.open([]byte(password))
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse the decrypted private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key type %T cannot sign", key)
	}
	if err := signature.CheckKeyType(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

func (ek *encryptedKey) open(password []byte) ([]byte, error) {
	p := ek.KDF.Params
	switch {
	case ek.KDF.Name != "scrypt":
		return nil, fmt.Errorf("key derivation %q is not supported: cosign keys use scrypt", ek.KDF.Name)
	case ek.Cipher.Name != "nacl/secretbox":
		return nil, fmt.Errorf("cipher %q is not supported: cosign keys use nacl/secretbox", ek.Cipher.Name)
	case len(ek.Cipher.Nonce) != 24:
		return nil, fmt.Errorf("the nonce is %d bytes, not 24", len(ek.Cipher.Nonce))
	case p.N <= 1 || p.N > maxScryptN || p.N&(p.N-1) != 0 || p.R <= 0 || p.R > maxScryptR || p.P <= 0 || p.P > maxScryptP:
		return nil, fmt.Errorf("scrypt parameters N=%d r=%d p=%d are out of range (N a power of two up to %d, r up to %d, p up to %d)", p.N, p.R, p.P, maxScryptN, maxScryptR, maxScryptP)
	}
	boxKey, err := scrypt.Key(password, ek.KDF.Salt, p.N, p.R, p.P, 32)
	if err != nil {
		return nil, fmt.Errorf("derive the key from the password: %w", err)
	}
	var nonce [24]byte
	var k [32]byte
	copy(nonce[:], ek.Cipher.Nonce)
	copy(k[:], boxKey)
	der, ok := secretbox.Open(nil, ek.Ciphertext, &nonce, &k)
	if !ok {
		return nil, errors.New("the password does not decrypt the private key: give the password the key was generated with (COSIGN_PASSWORD)")
	}
	return der, nil
}
