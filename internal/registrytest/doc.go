// Package registrytest starts container registries on 127.0.0.1 for tests and
// benchmarks, and puts a fault-injecting proxy in front of them.
//
// Two kinds of registry are provided, each in a plain-HTTP flavour and a
// TLS + basic-auth flavour:
//
//   - NewInProcess: go-containerregistry's pkg/registry served by an
//     httptest server; starts in microseconds, for fast suites.
//   - StartDistribution: the CNCF Distribution registry (v3.1.2), built once per
//     machine from the separate module in tools/distribution and run as a child
//     process; for integration suites that must meet a real registry.
//
// TLS certificates come from a throwaway CA generated in Go; Registry.CACertPEM
// holds it so that code under test can be configured to trust it, and
// Registry.RemoteOptions gives go-containerregistry options that already do.
//
// NewProxy wraps any Registry with a loopback reverse proxy that counts
// requests by kind, adds a fixed delay and injects scripted faults (an error
// status, a connection cut mid-body, a corrupted body), for what a real
// registry cannot be made to do on demand.
//
// The package is meant for _test.go files and benchmarks only; nothing in the
// shipped binaries imports it.
package registrytest
