// Package resource holds what every refimage action shares: the Concourse
// protocol types and their strict decoding, the source fields with their
// defaults, the one place that turns a source into a configured registry
// client (auth, TLS roots, retries, platform, mirror), and the classification
// of registry errors into messages a pipeline author can act on.
//
// How a source becomes a repository and credentials is a Resolver: the
// default parses the repository and uses the username and password; the
// cloud subpackage's speaks to Amazon ECR and Azure ACR.
//
// It imports only the standard library, go-containerregistry and semver, so
// that anything linking it (the runtime hook in particular) stays small.
package resource
