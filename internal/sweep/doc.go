// Package sweep holds only a test: it runs every refimage executable
// (check, in, out, refimage resolve and explain) through its failure cases
// with a marker in every place a credential can hide (passwords, cloud
// keys, content_trust keys, a presigned storage URL's query, an upload's
// signed _state, a token server's realm and token) and fails if the marker
// appears anywhere in what they print.
package sweep
