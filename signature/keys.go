package signature

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
)

// minRSABits is the smallest RSA key accepted, as sigstore's key policy.
const minRSABits = 2048

// Keys are the public keys a signature may be made with.
type Keys struct {
	keys []crypto.PublicKey
	id   string
}

// ParsePublicKeys parses one PEM public key ("-----BEGIN PUBLIC KEY-----",
// as cosign generate-key-pair writes cosign.pub) per entry. An entry that
// is not exactly one such block, or holds a key of another kind than ECDSA
// (P-256, P-384, P-521), Ed25519 or RSA of at least 2048 bits, is an error
// that names its index.
func ParsePublicKeys(entries []string) (*Keys, error) {
	if len(entries) == 0 {
		return nil, errors.New("no public key given")
	}
	text := textKey(entries)
	if k, ok := parsedKeys.get(text); ok {
		return k, nil
	}
	k, err := parseKeys(entries)
	if err == nil {
		parsedKeys.put(text, k)
	}
	return k, err
}

func parseKeys(entries []string) (*Keys, error) {
	k := &Keys{}
	var ders [][]byte
	for i, e := range entries {
		pub, der, err := parsePublicKey(e)
		if err != nil {
			return nil, &KeyError{Index: i, Err: err}
		}
		k.keys = append(k.keys, pub)
		ders = append(ders, der)
	}
	sort.Slice(ders, func(i, j int) bool { return bytes.Compare(ders[i], ders[j]) < 0 })
	sum := sha256.Sum256(bytes.Join(ders, []byte{0}))
	k.id = hex.EncodeToString(sum[:])
	return k, nil
}

// KeyError is a public key that cannot be used, by its index in the list.
type KeyError struct {
	Index int
	Err   error
}

func (e *KeyError) Error() string { return fmt.Sprintf("key %d: %v", e.Index, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }

func parsePublicKey(text string) (crypto.PublicKey, []byte, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, nil, errors.New("no PEM block found: give the text of cosign.pub, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, nil, errors.New("text after the first PEM block: give one public key per list entry")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, nil, fmt.Errorf("the PEM block is %q, not \"PUBLIC KEY\": give the public key (cosign.pub), never the private key", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse the public key: %w", err)
	}
	if err := CheckKeyType(pub); err != nil {
		return nil, nil, err
	}
	return pub, block.Bytes, nil
}

// CheckKeyType accepts the kinds of key cosign signs with: ECDSA on P-256,
// P-384 or P-521, Ed25519, and RSA of at least 2048 bits.
func CheckKeyType(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("ECDSA curve %s is not supported: use P-256 (cosign generate-key-pair's), P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is too small: use at least %d", k.N.BitLen(), minRSABits)
		}
		return nil
	}
	return fmt.Errorf("key type %T is not supported: use ECDSA, Ed25519 or RSA", pub)
}

// ID identifies the set of keys, whatever their order, without holding
// them: a digest verified with one set is not taken as verified for another.
func (k *Keys) ID() string { return k.id }

// Len is the number of keys.
func (k *Keys) Len() int { return len(k.keys) }

// verify reports whether sig is a signature of payload by one of the keys,
// as sigstore verifies a key loaded from PEM: SHA-256 for ECDSA (ASN.1) and
// RSA (PKCS #1 v1.5), the message itself for Ed25519.
func (k *Keys) verify(payload, sig []byte) bool {
	sum := sha256.Sum256(payload)
	for _, pub := range k.keys {
		switch key := pub.(type) {
		case *ecdsa.PublicKey:
			if ecdsa.VerifyASN1(key, sum[:], sig) {
				return true
			}
		case ed25519.PublicKey:
			if ed25519.Verify(key, payload, sig) {
				return true
			}
		case *rsa.PublicKey:
			if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil {
				return true
			}
		}
	}
	return false
}

// Contains reports whether pub is one of the keys.
func (k *Keys) Contains(pub crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	for _, key := range k.keys {
		if e, ok := key.(equaler); ok && e.Equal(pub) {
			return true
		}
	}
	return false
}
