package signature

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// SimpleSigningMediaType is the media type of a signature layer.
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a layer's signature, base64.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"

	// A registry is not trusted with memory: payloads are a few hundred
	// bytes, and a signature manifest rarely has more than a few layers.
	maxPayload    = 64 << 10
	maxSignatures = 64
)

// Fetcher reads a manifest and, lazily, its layers; registry.Client and
// the runtime hook's caching registry are Fetchers. NotFound tells a
// registry's "no such manifest or blob" from its other errors: this
// package does no I/O of its own and knows no transport.
type Fetcher interface {
	Image(ref name.Reference) (v1.Image, error)
	NotFound(err error) bool
}

// ErrUnverified is what every verification failure that is not a registry
// error matches with errors.Is: the digest is unsigned, or no signature on
// it verifies with the keys.
var ErrUnverified = errors.New("no valid signature")

// UnverifiedError says why a digest did not verify, in words for one
// stderr line.
type UnverifiedError struct {
	Digest string
	Reason string
}

func (e *UnverifiedError) Error() string {
	return fmt.Sprintf("%s has no valid signature: %s", e.Digest, e.Reason)
}

// Is makes errors.Is(err, ErrUnverified) true.
func (e *UnverifiedError) Is(target error) bool { return target == ErrUnverified }

// SignatureTag is the tag cosign attaches the signatures of d to:
// sha256-<hex>.sig in d's repository.
func SignatureTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// Verify succeeds when a signature on pinned, in its repository, verifies
// with one of keys and signs pinned's digest: a cosign signature under the
// tag sha256-<hex>.sig (one manifest GET, and one blob GET per signature
// read), else, when f can list referrers, a Sigstore bundle among pinned's
// OCI referrers (the listing, then a manifest and a blob GET per bundle).
// A digest that does not verify is an *UnverifiedError; a registry that
// fails is a wrapped registry error, so that a caller can tell an outage
// from an unsigned image.
func Verify(f Fetcher, pinned name.Digest, keys *Keys) error {
	t := tally{want: pinned.DigestStr(), tag: SignatureTag(pinned)}
	ok, err := t.verifyTag(f, keys)
	if err != nil || ok {
		return err
	}
	if r, can := f.(ReferrersFetcher); can {
		ok, err := t.verifyBundles(r, pinned, keys)
		if err != nil || ok {
			return err
		}
	}
	return &UnverifiedError{Digest: pinned.DigestStr(), Reason: t.reason(pinned.Context(), keys)}
}

// verifyTag checks the signatures under the tag sha256-<hex>.sig.
func (t *tally) verifyTag(f Fetcher, keys *Keys) (bool, error) {
	img, err := f.Image(t.tag)
	if err != nil && f.NotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fetch the signatures %s: %w", t.tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return false, fmt.Errorf("read the signatures %s: %w", t.tag, err)
	}
	for _, desc := range m.Layers {
		if t.read == maxSignatures {
			break
		}
		ok, err := t.check(f, img, desc, keys)
		if err != nil {
			return false, fmt.Errorf("read a signature in %s: %w", t.tag, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// tally counts what the signatures of one digest were, for the reason.
type tally struct {
	want         string
	tag          name.Tag
	referrers    bool   // the referrers were listed too
	referrersErr error  // listing them failed
	read         int    // signature layers read
	intact       int    // signatures that verify with a key
	otherDigest  string // a digest that a verified payload signs instead
	badPayload   error
}

// check verifies one layer of a signature manifest.
func (t *tally) check(f Fetcher, img v1.Image, desc v1.Descriptor, keys *Keys) (bool, error) {
	b64, ok := desc.Annotations[SignatureAnnotation]
	if desc.MediaType != SimpleSigningMediaType || !ok || desc.Size > maxPayload {
		return false, nil
	}
	t.read++
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return false, nil
	}
	payload, err := readPayload(img, desc.Digest)
	if err != nil && f.NotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !keys.verify(payload, sig) {
		return false, nil
	}
	t.intact++
	signed, err := signedDigest(payload)
	switch {
	case err != nil:
		t.badPayload = err
		return false, nil
	case signed != t.want:
		t.otherDigest = signed
		return false, nil
	}
	return true, nil
}

func (t *tally) reason(repo name.Repository, keys *Keys) string {
	where := "the tag " + t.tag.TagStr()
	if t.referrers {
		where += " and the Sigstore bundles among its referrers"
	}
	if t.referrersErr != nil {
		where += fmt.Sprintf(" (listing the referrers failed: %v)", t.referrersErr)
	}
	switch {
	case t.otherDigest != "":
		return fmt.Sprintf("the signature that verifies signs another image, %s", t.otherDigest)
	case t.badPayload != nil:
		return t.badPayload.Error()
	case t.read == 0:
		return fmt.Sprintf("unsigned: %s has no cosign signature in %s", repo, where)
	}
	return fmt.Sprintf("none of the %d signature(s) in %s verifies with the %d key(s) of source.verify.public_keys (signed with another key, or altered)", t.read, where, keys.Len())
}

func readPayload(img v1.Image, digest v1.Hash) ([]byte, error) {
	return readBlob(img, digest, maxPayload)
}
