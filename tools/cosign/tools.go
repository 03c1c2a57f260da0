//go:build tools

// Package tools pins the cosign CLI, which the signature suites build and run
// to cross-check refimage's signatures with the client users already have.
// It lives in its own module so that the main module never depends on cosign
// and its transparency-log, OIDC and cloud-KMS dependencies.
package tools

import _ "github.com/sigstore/cosign/v2/cmd/cosign"
