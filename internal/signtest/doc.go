// Package signtest makes key pairs and signature manifests for the specs of
// signature verification: cosign-format key pairs generated in Go, and
// signatures that are valid, altered, made with another key or made for
// another digest, pushed where cosign would put them.
//
// The package is meant for _test.go files and benchmarks only.
package signtest
