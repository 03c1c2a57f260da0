package signature

import (
	"encoding/json"
	"fmt"
)

// PayloadType is the critical.type of every cosign image signature payload.
const PayloadType = "cosign container image signature"

// payload is the simple signing payload cosign signs: the image's manifest
// digest and the repository it was signed in.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Payload is the payload that signs digest in repository (its name, e.g.
// registry.example.com/team/app), byte for byte as cosign writes it.
func Payload(repository, digest string) ([]byte, error) {
	var p payload
	p.Critical.Identity.DockerReference = repository
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = PayloadType
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode the signature payload: %w", err)
	}
	return b, nil
}

// signedDigest reads the digest a verified payload vouches for.
func signedDigest(b []byte) (string, error) {
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return "", fmt.Errorf("the signed payload is not JSON: %w", err)
	}
	if p.Critical.Type != PayloadType {
		return "", fmt.Errorf("the signed payload's type is %q, not %q", p.Critical.Type, PayloadType)
	}
	return p.Critical.Image.DockerManifestDigest, nil
}
