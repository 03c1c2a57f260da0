//go:build tools

// Package tools pins the CNCF Distribution registry, which the integration
// tests build and run. It lives in its own module so that the main module
// never depends on distribution and its cloud-storage SDKs.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
