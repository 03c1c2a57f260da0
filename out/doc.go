// Package out pushes an image, as registry-image's out does: it loads a
// Docker/OCI image tarball or an OCI image layout from the put's inputs,
// works out every tag the params ask for (source.tag, params.version with
// its variant and aliases, additional_tags with tag_prefix), validates them
// all, then uploads the blobs that the repository does not hold yet, the
// manifest by digest, and finally the tags, one by one.
package out
