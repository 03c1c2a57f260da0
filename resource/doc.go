// Package resource is the Concourse resource protocol as refimage speaks it:
// the check, in and out requests and responses, their strict decoding
// (unknown fields and type errors name the field as the request spells
// it), the source and params with their defaults and validation (cloud
// fields included), the choice between in's reference-only mode and a full
// download, and the files and metadata every mode of in writes.
//
// It does no I/O: talking to registries is package registry's job, which
// imports this one and never the other way round.
//
// It imports only the standard library, go-containerregistry's name and v1
// types and semver, so that anything linking it stays small.
package resource
