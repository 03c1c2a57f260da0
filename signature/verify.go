package signature

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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
// with one of keys and signs pinned's digest. It costs one manifest GET
// (the signature tag) and one blob GET per signature read. A digest that
// does not verify is an *UnverifiedError; a registry that fails is a
// wrapped registry error, so that a caller can tell an outage from an
// unsigned image.
func Verify(f Fetcher, pinned name.Digest, keys *Keys) error {
	tag := SignatureTag(pinned)
	img, err := f.Image(tag)
	if err != nil && f.NotFound(err) {
		return &UnverifiedError{Digest: pinned.DigestStr(), Reason: fmt.Sprintf("unsigned: %s has no tag %s", pinned.Context(), tag.TagStr())}
	}
	if err != nil {
		return fmt.Errorf("fetch the signatures %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("read the signatures %s: %w", tag, err)
	}
	t := tally{want: pinned.DigestStr()}
	for _, desc := range m.Layers {
		if t.read == maxSignatures {
			break
		}
		ok, err := t.check(f, img, desc, keys)
		if err != nil {
			return fmt.Errorf("read a signature in %s: %w", tag, err)
		}
		if ok {
			return nil
		}
	}
	return &UnverifiedError{Digest: pinned.DigestStr(), Reason: t.reason(tag, keys)}
}

// tally counts what the signatures of one digest were, for the reason.
type tally struct {
	want        string
	read        int    // signature layers read
	intact      int    // signatures that verify with a key
	otherDigest string // a digest that a verified payload signs instead
	badPayload  error
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

func (t *tally) reason(tag name.Tag, keys *Keys) string {
	switch {
	case t.otherDigest != "":
		return fmt.Sprintf("the signature in %s that verifies signs another image, %s", tag.TagStr(), t.otherDigest)
	case t.badPayload != nil:
		return t.badPayload.Error()
	case t.read == 0:
		return fmt.Sprintf("unsigned: %s holds no cosign signature", tag.TagStr())
	}
	return fmt.Sprintf("none of the %d signature(s) in %s verifies with the %d key(s) of source.verify.public_keys (signed with another key, or altered)", t.read, tag.TagStr(), keys.Len())
}

func readPayload(img v1.Image, digest v1.Hash) ([]byte, error) {
	l, err := img.LayerByDigest(digest)
	if err != nil {
		return nil, fmt.Errorf("find layer %s: %w", digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetch payload %s: %w", digest, err)
	}
	defer rc.Close()
	// Reading to the end makes ggcr check the blob against its digest.
	b, err := io.ReadAll(io.LimitReader(rc, maxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("read payload %s: %w", digest, err)
	}
	if len(b) > maxPayload {
		return nil, fmt.Errorf("payload %s is larger than %d bytes", digest, maxPayload)
	}
	return b, nil
}
