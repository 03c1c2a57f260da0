package resourceimage

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/hook"
)

// Labels are the config labels every platform's image carries: the one
// that tells the runtime hook this type's gets produce a registry image
// (DESIGN.md, eligibility rule 3), with the key and value the hook reads.
func Labels() map[string]string {
	return map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage}
}

// Binary is one executable of the image: the main package it is built from
// and where it lands.
type Binary struct {
	// Name is the directory under cmd/ and the file name go build writes.
	Name string
	// Path is the absolute path in the image.
	Path string
}

// Binaries are the image's executables: the three the Concourse resource
// protocol runs, and the hook's CLI on PATH.
var Binaries = []Binary{
	{Name: "check", Path: "/opt/resource/check"},
	{Name: "in", Path: "/opt/resource/in"},
	{Name: "out", Path: "/opt/resource/out"},
	{Name: "refimage", Path: "/usr/local/bin/refimage"},
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
