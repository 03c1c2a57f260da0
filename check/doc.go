// Package check finds the versions of an image, as registry-image's check
// does: one tag's digest, the tags matching a regular expression, or semver
// discovery over every tag of a repository. Digests of many tags are looked
// up with HEAD requests through a bounded pool; the output order depends
// only on the registry's contents.
package check
