package resourceimage

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// producesLabel is the OCI label that tells the runtime hook this image's
// get steps produce a registry-image (DESIGN.md, eligibility rule 3). Its
// home is package hook, as hook.ProducesLabel; this copy goes as soon as
// that package is on main, so that the key is written down once.
const producesLabel = "io.github.refimage.produces"

// producesValue is the label's value: refimage behaves as registry-image.
const producesValue = "registry-image"

// Labels are the config labels every platform's image carries.
func Labels() map[string]string {
	return map[string]string{producesLabel: producesValue}
}

// Binary is one executable of the image: the main package it is built from
// and where it lands.
type Binary struct {
	// Name is the directory under cmd/ and the file name go build writes.
	Name string
	// Path is the absolute path in the image.
	Path string
	// Optional binaries are left out when their main package is absent
	// from the source tree.
	Optional bool
}

// Binaries are the image's executables: the three the Concourse resource
// protocol runs, and the hook's CLI on PATH.
var Binaries = []Binary{
	{Name: "check", Path: "/opt/resource/check"},
	{Name: "in", Path: "/opt/resource/in"},
	{Name: "out", Path: "/opt/resource/out"},
	// cmd/refimage is written in parallel with this package; until it is on
	// main, images are built without it rather than not at all.
	{Name: "refimage", Path: "/usr/local/bin/refimage", Optional: true},
}

// CABundlePath is where the CA bundle lands; Go, curl and OpenSSL on
// Debian-like systems all look there first.
const CABundlePath = "/etc/ssl/certs/ca-certificates.crt"

// Platforms are the platforms of the index, in index order.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// Env is the environment of every image's config.
var Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// Annotation keys of the OCI image spec, set on the index and on every
// manifest.
const (
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationRevision = "org.opencontainers.image.revision"
	AnnotationVersion  = "org.opencontainers.image.version"
	AnnotationCreated  = "org.opencontainers.image.created"
	// annotationRefName names the index in the layout's index.json.
	annotationRefName = "org.opencontainers.image.ref.name"
)
