package signtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/refimage/refimage/signature"
	"github.com/refimage/refimage/signature/sign"
)

// AttachBundle attaches a signature of digest (registry/repo@sha256:…) as
// cosign sign --new-bundle-format does: a Sigstore bundle holding a DSSE
// envelope around an in-toto statement, pushed as an OCI referrer of the
// image. kind and other are as for Attach; predicate "" is cosign's.
func AttachBundle(digest string, kp KeyPair, kind Kind, other, predicate string, opts ...remote.Option) error {
	d, err := name.NewDigest(digest)
	if err != nil {
		return err
	}
	signed := d.DigestStr()
	if kind == OtherDigest {
		signed = other
	}
	if predicate == "" {
		predicate = signature.SignPredicateType
	}
	payload := statement(signed, predicate, "")
	pae := fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len("application/vnd.in-toto+json"), "application/vnd.in-toto+json", len(payload), payload)
	sig, err := sign.Sign(kp.Signer, pae)
	if err != nil {
		return err
	}
	if kind == Tampered {
		payload = statement(signed, predicate, "evil")
	}
	bundle, err := json.Marshal(map[string]any{
		"mediaType":            signature.BundleArtifactType,
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "test"}},
		"dsseEnvelope": map[string]any{"payload": base64.StdEncoding.EncodeToString(payload),
			"payloadType": "application/vnd.in-toto+json", "signatures": []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}}},
	})
	if err != nil {
		return err
	}
	subject, err := remote.Get(d, opts...)
	if err != nil {
		return fmt.Errorf("read the subject %s: %w", digest, err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), signature.BundleArtifactType)
	img, err := mutate.Append(base, mutate.Addendum{Layer: static.NewLayer(bundle, signature.BundleArtifactType)})
	if err != nil {
		return err
	}
	withSubject := mutate.Subject(img, subject.Descriptor).(v1.Image)
	h, err := withSubject.Digest()
	if err != nil {
		return err
	}
	if err := remote.Write(d.Context().Digest(h.String()), withSubject, opts...); err != nil {
		return fmt.Errorf("push the bundle of %s: %w", digest, err)
	}
	return nil
}

func statement(digest, predicate, note string) []byte {
	st := map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate,
		"subject": []map[string]any{{"digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}}}
	if note != "" {
		st["predicate"] = map[string]string{"note": note}
	}
	b, _ := json.Marshal(st)
	return b
}
