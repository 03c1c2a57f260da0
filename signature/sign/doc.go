// Package sign makes cosign-compatible signatures: it decrypts a private key
// as cosign generate-key-pair writes it (PEM "ENCRYPTED SIGSTORE PRIVATE
// KEY": scrypt and NaCl secretbox around a PKCS #8 key) and attaches a
// signature of an image to its repository under sha256-<hex>.sig, where
// cosign verify finds it.
//
// Only out signs, so only out links this package and golang.org/x/crypto's
// scrypt; the verifying side (package signature) stays standard library.
package sign
