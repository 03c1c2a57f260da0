//go:build tools

// Package tools pins staticcheck, which make lint builds and runs. It lives
// in its own module so that neither of the main module's dependency sets
// carries a linter.
package tools

import _ "honnef.co/go/tools/cmd/staticcheck"
