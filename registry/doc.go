// Package registry talks to container registries for every refimage
// action: it turns a resource.Source into a configured Client (auth, TLS
// roots, platform, mirror) over a transport that retries 429, 5xx and
// broken connections (RetryPolicy) and abandons a request that moves no
// byte for a while (StallError); it reads blobs with Range requests,
// resolves a version to the reference in's reference-only mode writes
// (ResolveReference, shared by the in binary and the runtime hook), and
// turns registry errors into one-line messages a pipeline author can act
// on (Explain).
//
// How a source becomes a repository and credentials is a Resolver: the
// default parses the repository and uses the username and password; the
// cloud subpackage's speaks to Amazon ECR and Azure ACR.
//
// It imports only the standard library, go-containerregistry, semver and
// package resource, so that anything linking it (the runtime hook in
// particular) stays small.
package registry
