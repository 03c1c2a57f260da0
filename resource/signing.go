package resource

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/refimage/refimage/signature"
)

// Verify is source.verify: check, in and the runtime hook accept only
// digests that carry a cosign signature by one of PublicKeys.
type Verify struct {
	// PublicKeys are PEM public keys (cosign.pub), one per entry.
	PublicKeys []string `json:"public_keys"`

	// Keyless verification's settings, as cosign names them, recognised
	// only to be refused with the reason: Fulcio certificates and the
	// Rekor log need the internet.
	Keyless                     json.RawMessage `json:"keyless,omitempty"`
	CertificateIdentity         json.RawMessage `json:"certificate_identity,omitempty"`
	CertificateIdentityRegexp   json.RawMessage `json:"certificate_identity_regexp,omitempty"`
	CertificateOIDCIssuer       json.RawMessage `json:"certificate_oidc_issuer,omitempty"`
	CertificateOIDCIssuerRegexp json.RawMessage `json:"certificate_oidc_issuer_regexp,omitempty"`
	RekorURL                    json.RawMessage `json:"rekor_url,omitempty"`
	FulcioURL                   json.RawMessage `json:"fulcio_url,omitempty"`
}

// Sign is source.sign: out signs the digest it pushed with PrivateKey, a
// cosign private key (cosign.key) encrypted with Password.
type Sign struct {
	PrivateKey string `json:"private_key"`
	Password   string `json:"password"`
}

// keylessField names the first keyless setting given, or "".
func (v *Verify) keylessField() string {
	for field, raw := range map[string]json.RawMessage{
		"keyless": v.Keyless, "certificate_identity": v.CertificateIdentity,
		"certificate_identity_regexp": v.CertificateIdentityRegexp, "certificate_oidc_issuer": v.CertificateOIDCIssuer,
		"certificate_oidc_issuer_regexp": v.CertificateOIDCIssuerRegexp, "rekor_url": v.RekorURL, "fulcio_url": v.FulcioURL,
	} {
		if len(raw) > 0 && string(raw) != "null" {
			return field
		}
	}
	return ""
}

// validateSigning checks verify and sign without decrypting the private
// key (which costs a deliberate scrypt; only out does it, see SigningKey).
func (s Source) validateSigning() error {
	if s.Verify != nil {
		if f := s.Verify.keylessField(); f != "" {
			return fieldErrorf("source.verify."+f, "keyless verification (Fulcio certificates, the Rekor log) needs the internet and is not supported: sign with a key pair (cosign generate-key-pair) and list its public key in source.verify.public_keys")
		}
		if len(s.Verify.PublicKeys) == 0 {
			return fieldErrorf("source.verify.public_keys", "it is required when verify is set: give at least one PEM public key (the text of cosign.pub), e.g. ((cosign.public_key))")
		}
		if _, err := s.VerifyKeys(); err != nil {
			return err
		}
	}
	if s.Sign != nil && s.Sign.PrivateKey == "" {
		return fieldErrorf("source.sign.private_key", "it is required when sign is set: give the text of cosign.key, e.g. ((cosign.private_key))")
	}
	return nil
}

// VerifyKeys parses source.verify.public_keys; nil when verify is not set.
func (s Source) VerifyKeys() (*signature.Keys, error) {
	if s.Verify == nil {
		return nil, nil
	}
	keys, err := signature.ParsePublicKeys(s.Verify.PublicKeys)
	var kerr *signature.KeyError
	if errors.As(err, &kerr) {
		return nil, fieldErrorf(fmt.Sprintf("source.verify.public_keys[%d]", kerr.Index), "%v", kerr.Err)
	}
	if err != nil {
		return nil, fieldErrorf("source.verify.public_keys", "%v", err)
	}
	return keys, nil
}
