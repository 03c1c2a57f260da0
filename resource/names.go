package resource

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
)

// repositoryChars are the characters go-containerregistry allows in a
// repository path.
const repositoryChars = "abcdefghijklmnopqrstuvwxyz0123456789_-./"

// NewRepository reads a repository name as go-containerregistry v0.22
// reads it, whichever release the build links: the first element is the
// registry when it is localhost or holds a '.' or ':', and a path may be
// one character long (registry.example.com/a, or a for Docker Hub's
// library/a). v0.21.2, the release a runtime importing the hook builds
// with, refuses the one-character path and reads localhost/app as Docker
// Hub's; registry-image v1.18.0 (v0.21.9) reads localhost/app as the
// registry localhost too. Any other name goes to ggcr unchanged.
func NewRepository(s string, opts ...name.Option) (name.Repository, error) {
	host, path := splitRepository(s)
	if ggcrAgrees(host, path) {
		return name.NewRepository(s, opts...)
	}
	if err := checkRepository(path); err != nil {
		return name.Repository{}, err
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("parse registry of %s: %w", s, err)
	}
	return reg.Repo(path), nil
}

// ParseReference reads an image reference, repository[:tag][@digest], with
// NewRepository's reading of the repository and ggcr's of the rest.
func ParseReference(s string, opts ...name.Option) (name.Reference, error) {
	base := s
	if i := strings.IndexByte(base, '@'); i >= 0 {
		base = base[:i]
	}
	if i := strings.LastIndexByte(base, ':'); i > strings.LastIndexByte(base, '/') {
		base = base[:i]
	}
	if ggcrAgrees(splitRepository(base)) {
		return name.ParseReference(s, opts...)
	}
	repo, err := NewRepository(base, opts...)
	if err != nil {
		return nil, err
	}
	// The tag or digest, checked by ggcr on a repository every release reads alike.
	probe, err := name.ParseReference("example.com/probe"+s[len(base):], opts...)
	if err != nil {
		return nil, fmt.Errorf("could not parse reference: %s", s)
	}
	if d, ok := probe.(name.Digest); ok {
		return repo.Digest(d.DigestStr()), nil
	}
	return repo.Tag(probe.Identifier()), nil
}

// splitRepository splits a repository name into its registry ("" for
// Docker Hub) and its path, as go-containerregistry v0.22 does.
func splitRepository(s string) (host, path string) {
	host, path, ok := strings.Cut(s, "/")
	if ok && (host == "localhost" || strings.ContainsAny(host, ".:")) {
		return host, path
	}
	return "", s
}

// ggcrAgrees reports whether every go-containerregistry release reads the
// name as v0.22 does: all but a localhost registry and a one-character path.
func ggcrAgrees(host, path string) bool {
	return host != "localhost" && utf8.RuneCountInString(path) != 1
}

// checkRepository is go-containerregistry v0.22's check of a path, with
// its words.
func checkRepository(path string) error {
	if n := utf8.RuneCountInString(path); n < 1 || n > 255 {
		return fmt.Errorf("repository must be between 1 and 255 characters in length: %s", path)
	}
	if strings.IndexFunc(path, func(r rune) bool { return !strings.ContainsRune(repositoryChars, r) }) >= 0 {
		return fmt.Errorf("repository can only contain the characters `%s`: %s", repositoryChars, path)
	}
	return nil
}
