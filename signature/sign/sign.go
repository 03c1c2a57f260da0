package sign

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/refimage/refimage/signature"
)

// Sign signs payload as cosign does: ECDSA (ASN.1) and RSA (PKCS #1 v1.5)
// over its SHA-256, Ed25519 over the payload itself.
func Sign(key crypto.Signer, payload []byte) ([]byte, error) {
	if _, ok := key.Public().(ed25519.PublicKey); ok {
		return key.Sign(rand.Reader, payload, crypto.Hash(0))
	}
	sum := sha256.Sum256(payload)
	return key.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// Attach signs digest and adds the signature to the signature manifest
// cosign reads (sha256-<hex>.sig in digest's repository), keeping the
// signatures already there. opts must allow pushing to the repository.
func Attach(digest name.Digest, key crypto.Signer, opts ...remote.Option) error {
	payload, err := signature.Payload(digest.Context().Name(), digest.DigestStr())
	if err != nil {
		return err
	}
	sig, err := Sign(key, payload)
	if err != nil {
		return fmt.Errorf("sign %s: %w", digest.DigestStr(), err)
	}
	tag := signature.SignatureTag(digest)
	base, err := existing(tag, opts)
	if err != nil {
		return err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(payload, signature.SimpleSigningMediaType),
		Annotations: map[string]string{signature.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return fmt.Errorf("add the signature of %s: %w", digest.DigestStr(), err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return fmt.Errorf("push the signature %s: %w", tag, err)
	}
	return nil
}

// existing is the signature manifest already at tag, or an empty one.
func existing(tag name.Tag, opts []remote.Option) (v1.Image, error) {
	img, err := remote.Image(tag, opts...)
	if err == nil {
		return img, nil
	}
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		return nil, fmt.Errorf("read the signatures already at %s: %w", tag, err)
	}
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), nil
}
