// Package depcheck holds only a test: it enforces DESIGN.md's direction of
// imports, so that a runtime linking the hook never links layer
// extraction, progress bars or Kubernetes types by accident.
package depcheck
