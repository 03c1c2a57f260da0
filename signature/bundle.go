package signature

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// BundleArtifactType is the artifact type (and layer media type) of a
	// Sigstore bundle attached as an OCI referrer (cosign sign
	// --new-bundle-format).
	BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the in-toto predicate of a cosign image
	// signature in a bundle; an attestation of anything else signed with
	// the same key is not a signature of the image.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	inTotoPayloadType = "application/vnd.in-toto+json"
	maxBundle         = 256 << 10
	emptyType         = "application/vnd.oci.empty.v1+json"
)

// ReferrersFetcher is a Fetcher that also lists an image's OCI referrers
// (the referrers API, or the sha256-<hex> tag where a registry has no such
// API). Verify reads Sigstore bundles only through one.
type ReferrersFetcher interface {
	Fetcher
	Referrers(d name.Digest) ([]v1.Descriptor, error)
}

// bundle is the part of a Sigstore bundle a keyed image signature uses:
// a DSSE envelope around an in-toto statement. Its transparency-log
// entries are not read (offline, like cosign --insecure-ignore-tlog).
type bundle struct {
	DSSEEnvelope *struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

type statement struct {
	Subject []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
}

// verifyBundles checks the Sigstore bundles among pinned's referrers.
func (t *tally) verifyBundles(f ReferrersFetcher, pinned name.Digest, keys *Keys) (bool, error) {
	t.referrers = true
	descs, err := f.Referrers(pinned)
	if err != nil {
		// Not an outage of the check: registries without the referrers
		// API answer in ways ggcr's fallback does not expect, and failing
		// here would fail every check with an unsigned tag. The digest
		// stays unverified (closed), and the reason says why.
		t.referrersErr = err
		return false, nil
	}
	for _, desc := range descs {
		if t.read >= maxSignatures {
			break
		}
		if !maybeBundle(desc) {
			continue
		}
		img, err := f.Image(pinned.Context().Digest(desc.Digest.String()))
		if err != nil && f.NotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("fetch the bundle %s: %w", desc.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return false, fmt.Errorf("read the bundle %s: %w", desc.Digest, err)
		}
		for _, l := range m.Layers {
			if l.MediaType != types.MediaType(BundleArtifactType) || l.Size > maxBundle || t.read >= maxSignatures {
				continue
			}
			t.read++
			b, err := readBlob(img, l.Digest, maxBundle)
			if err != nil && f.NotFound(err) {
				continue
			}
			if err != nil {
				return false, err
			}
			if t.checkBundle(b, keys) {
				return true, nil
			}
		}
	}
	return false, nil
}

// checkBundle verifies one bundle's envelope and reads what it signs.
func (t *tally) checkBundle(b []byte, keys *Keys) bool {
	var bun bundle
	if json.Unmarshal(b, &bun) != nil || bun.DSSEEnvelope == nil || bun.DSSEEnvelope.PayloadType != inTotoPayloadType {
		return false
	}
	env := bun.DSSEEnvelope
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return false
	}
	pae := fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(env.PayloadType), env.PayloadType, len(payload), payload)
	verified := false
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err == nil && keys.verify(pae, sig) {
			verified = true
			break
		}
	}
	if !verified {
		return false
	}
	t.intact++
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil || st.PredicateType != SignPredicateType {
		t.badPayload = fmt.Errorf("the bundle that verifies is not a cosign image signature (predicate %q)", st.PredicateType)
		return false
	}
	hex := strings.TrimPrefix(t.want, "sha256:")
	for _, s := range st.Subject {
		if s.Digest["sha256"] == hex {
			return true
		}
		if t.otherDigest == "" {
			t.otherDigest = "sha256:" + s.Digest["sha256"]
		}
	}
	return false
}

// maybeBundle reads a referrer's artifact type as registries report it:
// the manifest's artifactType, else its config's media type, which cosign
// sets to OCI's empty type; anything else (an SBOM, an attestation of
// another kind) is not fetched.
func maybeBundle(desc v1.Descriptor) bool {
	switch desc.ArtifactType {
	case BundleArtifactType, emptyType, "":
		return true
	}
	return false
}

func readBlob(img v1.Image, digest v1.Hash, limit int64) ([]byte, error) {
	l, err := img.LayerByDigest(digest)
	if err != nil {
		return nil, fmt.Errorf("find blob %s: %w", digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetch blob %s: %w", digest, err)
	}
	defer rc.Close()
	// Reading to the end makes ggcr check the blob against its digest.
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", digest, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("blob %s is larger than %d bytes", digest, limit)
	}
	return b, nil
}
