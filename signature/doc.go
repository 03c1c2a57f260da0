// Package signature verifies keyed, cosign-compatible image signatures with
// the standard library: public keys in PEM (ECDSA, Ed25519, RSA), the simple
// signing payload cosign signs, and the signature manifest cosign attaches
// to an image under the tag sha256-<hex>.sig, each of whose layers is a
// payload with its signature in the layer's dev.cosignproject.cosign/signature
// annotation.
//
// It is linked by everything that verifies — check, in and the runtime hook —
// so it imports nothing beyond the standard library and go-containerregistry:
// importing the hook raises no requirement of a runtime (sigstore's own
// packages pull in a transparency-log client, OIDC and protobuf). Keyless
// signatures (Fulcio certificates, Rekor entries) need the internet and are
// not verified. Signing, which only out does, lives in signature/sign.
package signature
