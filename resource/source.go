package resource

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"regexp"
	"runtime"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
)

// Source is the resource's configuration, with the same fields as
// registry-image's plus fetch_artifact and fetch_metadata.
type Source struct {
	Repository string `json:"repository"`
	Tag        Tag    `json:"tag,omitempty"`

	TagRegex      string `json:"tag_regex,omitempty"`
	CreatedAtSort bool   `json:"created_at_sort,omitempty"`

	Variant            string   `json:"variant,omitempty"`
	SemverConstraint   string   `json:"semver_constraint,omitempty"`
	PreReleases        bool     `json:"pre_releases,omitempty"`
	PreReleasePrefixes []string `json:"pre_release_prefixes,omitempty"`

	LabelRegex      string `json:"label_regex,omitempty"`
	AnnotationRegex string `json:"annotation_regex,omitempty"`

	Credentials
	Insecure       bool            `json:"insecure,omitempty"`
	CACerts        []string        `json:"ca_certs,omitempty"`
	RegistryMirror *RegistryMirror `json:"registry_mirror,omitempty"`
	Platform       *Platform       `json:"platform,omitempty"`

	// FetchArtifact chooses between a full download and the reference only
	// (see DESIGN.md, "Modes of in"); nil means "not set here".
	FetchArtifact *bool `json:"fetch_artifact,omitempty"`
	// FetchMetadata makes reference mode write labels.json and
	// metadata.json too (see FetchMetadata); nil means "not set here".
	FetchMetadata *bool `json:"fetch_metadata,omitempty"`

	Debug bool `json:"debug,omitempty"`

	// Verify and Sign: cosign-compatible signatures (see signing.go).
	Verify *Verify `json:"verify,omitempty"`
	Sign   *Sign   `json:"sign,omitempty"`

	// Recognised so that a registry-image source decodes: check and in
	// ignore it, as registry-image does outside put, and out refuses it with
	// a clear message, since Notary v1 signing is out of scope.
	ContentTrust json.RawMessage `json:"content_trust,omitempty"`
	// Amazon ECR and Azure ACR, which need registry.WithResolver with the
	// cloud subpackage's resolver.
	CloudCredentials
}

// Credentials are a registry's username and password.
type Credentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// RegistryMirror is used instead of Docker Hub when the repository names no
// registry, as the docker CLI does.
type RegistryMirror struct {
	Host string `json:"host"`
	Credentials
}

// Platform selects one image of a multi-arch index.
type Platform struct {
	Architecture string `json:"architecture,omitempty"`
	OS           string `json:"os,omitempty"`
}

// Tag is a tag name that may be written as a JSON number in a pipeline
// (tag: 1.10), which must keep its text exactly.
type Tag string

// UnmarshalJSON accepts a string or a number.
func (t *Tag) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Tag(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fieldErrorf("source.tag", "must be a string or a number, got %s", b)
	}
	*t = Tag(n.String())
	return nil
}

// Validate reports the first field that cannot work, with how to fix it.
func (s Source) Validate() error {
	if s.Repository == "" {
		return fieldErrorf("source.repository", "it is required: set it to the image's repository, e.g. registry.example.com/team/app")
	}
	if _, err := s.ParseRepository(); err != nil {
		return fieldErrorf("source.repository", "%q is not a repository name (%v): use host[:port]/path without tag or digest", s.Repository, err)
	}
	if s.Tag != "" {
		if _, err := name.NewTag("example/repo:" + string(s.Tag)); err != nil {
			return fieldErrorf("source.tag", "%q is not a valid tag: use letters, digits, '_', '.' and '-', at most 128 characters", s.Tag)
		}
	}
	// Unset is the common case, and a runtime hook validates a source at
	// every decision: compiling three empty expressions was 8 % of it.
	for _, r := range [...]struct{ field, expr string }{
		{"source.tag_regex", s.TagRegex},
		{"source.label_regex", s.LabelRegex},
		{"source.annotation_regex", s.AnnotationRegex},
	} {
		if r.expr == "" {
			continue
		}
		if _, err := regexp.Compile(r.expr); err != nil {
			return fieldErrorf(r.field, "%q does not compile: %v", r.expr, err)
		}
	}
	if s.SemverConstraint != "" {
		if _, err := semver.NewConstraint(s.SemverConstraint); err != nil {
			return fieldErrorf("source.semver_constraint", "%q is not a semver constraint (%v): write e.g. \">= 1.2, < 2\" or \"~1.4\"", s.SemverConstraint, err)
		}
	}
	if s.RegistryMirror != nil {
		if s.RegistryMirror.Host == "" {
			return fieldErrorf("source.registry_mirror.host", "it is required when registry_mirror is set: give the mirror's host[:port]")
		}
		if _, err := name.NewRegistry(s.RegistryMirror.Host); err != nil {
			return fieldErrorf("source.registry_mirror.host", "%q is not a registry host (%v)", s.RegistryMirror.Host, err)
		}
	}
	for i, cert := range s.CACerts {
		if err := checkPEM(cert); err != nil {
			return fieldErrorf(fmt.Sprintf("source.ca_certs[%d]", i), "%v: give PEM text that starts with -----BEGIN CERTIFICATE-----", err)
		}
	}
	if err := s.validateSigning(); err != nil {
		return err
	}
	return s.validateCloud()
}

// hasContentTrust reports a content_trust that is set (null is not).
func (s Source) hasContentTrust() bool {
	return len(s.ContentTrust) > 0 && string(s.ContentTrust) != "null"
}

// ContentTrustNotice is the line check and in log when source.content_trust
// is set, and "" when it is not: registry-image reads it only in put, so
// its check and get ignore it, and so do refimage's.
func (s Source) ContentTrustNotice() string {
	if !s.hasContentTrust() {
		return ""
	}
	return "source.content_trust is ignored: it only signs what put pushes (Notary v1), which refimage's put refuses"
}

// validateContentTrust refuses content_trust where it would be used: put.
func (s Source) validateContentTrust() error {
	if s.hasContentTrust() {
		return fieldErrorf("source.content_trust", "Notary v1 signing is not supported: refimage cannot sign what put pushes; remove content_trust from the source of this put (check and get ignore it)")
	}
	return nil
}

func checkPEM(text string) error {
	rest := []byte(text)
	found := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("parse certificate: %w", err)
		}
		found = true
	}
	if !found {
		return fmt.Errorf("no PEM certificate found")
	}
	return nil
}

// Secrets lists the credential values that must never be printed.
func (s Source) Secrets() []string {
	var out []string
	for _, v := range []string{s.Password, s.AWSSecretAccessKey, s.AWSSessionToken} {
		if v != "" {
			out = append(out, v)
		}
	}
	if s.RegistryMirror != nil && s.RegistryMirror.Password != "" {
		out = append(out, s.RegistryMirror.Password)
	}
	if s.Sign != nil {
		for _, v := range []string{s.Sign.PrivateKey, s.Sign.Password} {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return append(out, s.contentTrustSecrets()...)
}

// contentTrustSecrets are registry-image's content_trust keys and
// passphrase: ignored, but never to be printed either.
func (s Source) contentTrustSecrets() []string {
	var ct struct {
		Key        string `json:"repository_key"`
		Passphrase string `json:"repository_passphrase"`
		TLSKey     string `json:"tls_key"`
	}
	if !s.hasContentTrust() || json.Unmarshal(s.ContentTrust, &ct) != nil {
		return nil
	}
	var out []string
	for _, v := range []string{ct.Key, ct.Passphrase, ct.TLSKey} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// PlatformOr returns the platform to select from an index: the step's
// override, else the source's, each field defaulting to the running system's
// as registry-image does.
func (s Source) PlatformOr(override *Platform) Platform {
	p := Platform{}
	switch {
	case override != nil:
		p = *override
	case s.Platform != nil:
		p = *s.Platform
	}
	if p.Architecture == "" {
		p.Architecture = runtime.GOARCH
	}
	if p.OS == "" {
		p.OS = runtime.GOOS
	}
	return p
}

// ParseRepository parses the repository name, as insecure when the source
// says so.
func (s Source) ParseRepository() (name.Repository, error) {
	var opts []name.Option
	if s.Insecure {
		opts = append(opts, name.Insecure)
	}
	return NewRepository(s.Repository, opts...)
}

// Mirror returns the source to use for the mirror, and false when no mirror
// applies: only a repository on Docker Hub is mirrored, so that one mirror
// can be a default for every resource.
func (s Source) Mirror() (Source, bool, error) {
	if s.RegistryMirror == nil {
		return Source{}, false, nil
	}
	repo, err := s.ParseRepository()
	if err != nil {
		return Source{}, false, fmt.Errorf("parse repository %q: %w", s.Repository, err)
	}
	// An ECR repository is a bare name that parses as Docker Hub's, but
	// lives on the derived ECR host.
	if repo.RegistryStr() != name.DefaultRegistry || s.ECR() {
		return Source{}, false, nil
	}
	mirror := s
	// RepositoryStr includes the implicit "library/" of official images.
	mirror.Repository = s.RegistryMirror.Host + "/" + repo.RepositoryStr()
	mirror.Credentials = s.RegistryMirror.Credentials
	mirror.RegistryMirror = nil
	return mirror, true, nil
}

// Shown is the source as in's files and metadata name it: an ECR source's
// bare repository becomes the full name on the registry it resolved to, as
// registry-image writes it; any other source is unchanged (a digest found
// on a mirror is still written under the source's repository).
func (s Source) Shown(resolved name.Repository) Source {
	if s.ECR() {
		s.Repository = resolved.Name()
	}
	return s
}
