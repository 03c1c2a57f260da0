package registry

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

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
	var f signature.Fetcher = fetcher{reg}
	if lister, ok := reg.(ReferrersLister); ok {
		f = referrersFetcher{fetcher{reg}, lister}
	}
	err := signature.Verify(f, pinned, keys)
	if errors.Is(err, signature.ErrUnverified) {
		return fmt.Errorf("verify %s: %w", pinned, err)
	}
	return Explain(fmt.Sprintf("verify %s", pinned), pinned.Repository, err)
}

// fetcher reads signatures through a Registry.
type fetcher struct{ Registry }

func (fetcher) NotFound(err error) bool { return IsNotFound(err) }

// ReferrersLister is a Registry that lists OCI referrers (Client does, and
// the hook's caching registry through it): signatures stored as Sigstore
// bundles are found only through one.
type ReferrersLister interface {
	Referrers(d name.Digest) ([]v1.Descriptor, error)
}

type referrersFetcher struct {
	fetcher
	ReferrersLister
}
