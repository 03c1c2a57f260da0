package registry

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature"
)

// SignatureVerifier is a Registry that verifies signatures itself: the
// runtime hook's, which remembers the digests it verified.
type SignatureVerifier interface {
	VerifySignature(pinned name.Digest, keys *signature.Keys) error
}

// VerifySignature checks that pinned carries a signature by one of
// source.verify.public_keys, reading it from reg; it does nothing when
// verify is not set. A digest that does not verify is an error that
// matches signature.ErrUnverified and says why; a registry that fails is
// explained as every registry error is.
func VerifySignature(src resource.Source, pinned name.Digest, reg Registry) error {
	keys, err := src.VerifyKeys()
	if err != nil || keys == nil {
		return err
	}
	if v, ok := reg.(SignatureVerifier); ok {
		return v.VerifySignature(pinned, keys)
	}
	return CheckSignature(pinned, keys, reg)
}

// CheckSignature is VerifySignature's work, for a SignatureVerifier that
// caches its results.
func CheckSignature(pinned name.Digest, keys *signature.Keys, reg Registry) error {
	err := signature.Verify(fetcher{reg}, pinned, keys)
	if errors.Is(err, signature.ErrUnverified) {
		return fmt.Errorf("verify %s: %w", pinned, err)
	}
	return Explain(fmt.Sprintf("verify %s", pinned), pinned.Repository, err)
}

// fetcher reads signatures through a Registry.
type fetcher struct{ Registry }

func (fetcher) NotFound(err error) bool { return IsNotFound(err) }
