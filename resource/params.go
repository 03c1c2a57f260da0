package resource

// GetParams are a get step's params: registry-image's plus fetch_artifact
// and fetch_metadata.
type GetParams struct {
	Format       string    `json:"format,omitempty"`
	Platform     *Platform `json:"platform,omitempty"`
	SkipDownload bool      `json:"skip_download,omitempty"`
	// FetchArtifact nil means "not set on the step".
	FetchArtifact *bool `json:"fetch_artifact,omitempty"`
	// FetchMetadata nil means "not set on the step" (see FetchMetadata).
	FetchMetadata *bool `json:"fetch_metadata,omitempty"`
}

// Formats a full download can write.
const (
	FormatRootfs    = "rootfs"
	FormatOCI       = "oci"
	FormatOCILayout = "oci-layout"
)

// FormatOrDefault is the format to write, rootfs unless set.
func (p GetParams) FormatOrDefault() string {
	if p.Format == "" {
		return FormatRootfs
	}
	return p.Format
}

// Validate rejects an unknown format.
func (p GetParams) Validate() error {
	switch p.FormatOrDefault() {
	case FormatRootfs, FormatOCI, FormatOCILayout:
		return nil
	}
	return fieldErrorf("params.format", "%q is not a format: use rootfs, oci or oci-layout", p.Format)
}

// PutParams are a put step's params, as registry-image's.
type PutParams struct {
	Image          string `json:"image"`
	Version        string `json:"version,omitempty"`
	BumpAliases    bool   `json:"bump_aliases,omitempty"`
	AdditionalTags string `json:"additional_tags,omitempty"`
	TagPrefix      string `json:"tag_prefix,omitempty"`
}

// Validate checks what can be checked without the file system.
func (p PutParams) Validate() error {
	if p.Image == "" {
		return fieldErrorf("params.image", "it is required: give the path of an image tarball or OCI layout, relative to the put's inputs")
	}
	if p.TagPrefix != "" && p.AdditionalTags == "" {
		return fieldErrorf("params.tag_prefix", "it only applies to additional_tags: set additional_tags too, or remove tag_prefix")
	}
	return nil
}

// Validate checks the source and the version, which must name a digest:
// in never resolves a tag.
func (r InRequest) Validate() error {
	if err := r.Source.Validate(); err != nil {
		return err
	}
	if err := r.Params.Validate(); err != nil {
		return err
	}
	if r.Version.Digest == "" {
		return fieldErrorf("version.digest", "it is required: in fetches the digest check found, never a moving tag")
	}
	return nil
}

// Validate checks the source and the cursor version.
func (r CheckRequest) Validate() error { return r.Source.Validate() }

// Validate checks the source and params.
func (r OutRequest) Validate() error {
	if err := r.Source.Validate(); err != nil {
		return err
	}
	if err := r.Source.validateContentTrust(); err != nil {
		return err
	}
	return r.Params.Validate()
}

// Secrets lists the credentials of the request, for redaction.
func (r CheckRequest) Secrets() []string { return r.Source.Secrets() }

// Secrets lists the credentials of the request, for redaction.
func (r InRequest) Secrets() []string { return r.Source.Secrets() }

// Secrets lists the credentials of the request, for redaction.
func (r OutRequest) Secrets() []string { return r.Source.Secrets() }

// DebugEnabled reports source.debug.
func (r CheckRequest) DebugEnabled() bool { return r.Source.Debug }

// DebugEnabled reports source.debug.
func (r InRequest) DebugEnabled() bool { return r.Source.Debug }

// DebugEnabled reports source.debug.
func (r OutRequest) DebugEnabled() bool { return r.Source.Debug }
