// Package resourceimage builds refimage's own container image without a
// Docker daemon: it cross-compiles the resource executables, lays them out
// with a pinned CA bundle in deterministic layers, and assembles a
// linux/amd64 + linux/arm64 index labelled for the runtime hook. It writes
// the index as an OCI image layout, pushes it, and turns one platform's
// image into the bundle that makes refimage a base resource type on classic
// Concourse workers.
//
// Everything that ends up in the image is a function of the source tree,
// the Go toolchain and Metadata: two builds of one commit give one digest.
package resourceimage
