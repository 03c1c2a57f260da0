package signtest

import (
	"encoding/base64"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/refimage/refimage/signature"
	"github.com/refimage/refimage/signature/sign"
)

// Kind is how a signature pushed by Attach is made.
type Kind int

const (
	// Valid signs the digest with the key.
	Valid Kind = iota
	// Tampered is a valid signature whose payload was changed afterwards:
	// it still names the digest, but another repository, so only the
	// signature check can refuse it.
	Tampered
	// OtherDigest is a valid signature of another image's digest, copied
	// under this digest's signature tag.
	OtherDigest
)

// Attach pushes one signature of digest (a full reference,
// registry/repo@sha256:…) of the kind asked for, replacing the signature
// manifest. For OtherDigest, other names the digest signed.
func Attach(digest string, kp KeyPair, kind Kind, other string, opts ...remote.Option) error {
	d, err := name.NewDigest(digest)
	if err != nil {
		return err
	}
	signed := d.DigestStr()
	if kind == OtherDigest {
		signed = other
	}
	payload, err := signature.Payload(d.Context().Name(), signed)
	if err != nil {
		return err
	}
	sig, err := sign.Sign(kp.Signer, payload)
	if err != nil {
		return err
	}
	if kind == Tampered {
		payload, err = signature.Payload(d.Context().Name()+"-evil", d.DigestStr())
		if err != nil {
			return err
		}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(payload, signature.SimpleSigningMediaType),
		Annotations: map[string]string{signature.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return err
	}
	if err := remote.Write(signature.SignatureTag(d), img, opts...); err != nil {
		return fmt.Errorf("push the signature of %s: %w", digest, err)
	}
	return nil
}
