package resource

import "fmt"

// Mode is what in does with a version: write its reference only, or
// download the image.
type Mode int

const (
	// ReferenceOnly writes repository, tag and digest and downloads nothing.
	ReferenceOnly Mode = iota
	// FullDownload writes the image in the requested format, as registry-image.
	FullDownload
)

func (m Mode) String() string {
	if m == FullDownload {
		return "full download"
	}
	return "reference only"
}

// ChooseMode applies DESIGN.md's precedence: the step's fetch_artifact, then
// its skip_download, then its format (a format named on the step asks for
// the image's bytes, as fetch_artifact: true does), then the source's
// fetch_artifact (which carries a type's defaults, merged in by Concourse),
// then the runtime: reference only in a Kubernetes pod, a full download
// anywhere else. The reason names the setting that decided, for the first
// line of in's log. A step that sets fetch_artifact: false and a format asks
// for both modes at once: that is an error naming which to drop.
//
// skip_download: true with a format is reference only, as registry-image,
// which skips the download whatever the format says.
func ChooseMode(params GetParams, src Source, inKubernetesPod bool) (Mode, string, error) {
	format := params.Format
	switch {
	case params.FetchArtifact != nil && *params.FetchArtifact:
		return FullDownload, "params.fetch_artifact is true", nil
	case params.FetchArtifact != nil && format != "":
		return 0, "", fieldErrorf("params.fetch_artifact",
			"it is false, which writes the reference only, but params.format %q asks for the image's bytes: drop format to get the reference, or drop fetch_artifact to download the image", format)
	case params.FetchArtifact != nil:
		return ReferenceOnly, "params.fetch_artifact is false", nil
	case params.SkipDownload && format != "":
		return ReferenceOnly, fmt.Sprintf("params.skip_download is true, so params.format %q is not written (registry-image skips the download the same way)", format), nil
	case params.SkipDownload:
		return ReferenceOnly, "params.skip_download is true", nil
	case format != "":
		return FullDownload, fmt.Sprintf("params.format is %q, which asks for the image's bytes as fetch_artifact: true does", format), nil
	case src.FetchArtifact != nil && *src.FetchArtifact:
		return FullDownload, "source.fetch_artifact is true", nil
	case src.FetchArtifact != nil:
		return ReferenceOnly, "source.fetch_artifact is false", nil
	case inKubernetesPod:
		return ReferenceOnly, "fetch_artifact is not set and this runs in a Kubernetes pod (KUBERNETES_SERVICE_HOST is set), where kubelet pulls images itself", nil
	}
	return FullDownload, "fetch_artifact is not set and this is not a Kubernetes pod, so the image is downloaded as registry-image would", nil
}

// FetchMetadata resolves fetch_metadata as fetch_artifact is resolved: the
// step's params first, then the source (which carries the type's
// defaults). True makes reference mode also write labels.json and
// metadata.json, the bytes a full download writes (ImageFiles), read from
// the manifest and config only: a manifest GET, which Docker Hub counts as
// a pull where the HEAD that proves a digest is not, and a config GET. The
// reason is for in's mode line.
func FetchMetadata(params GetParams, src Source) (bool, string) {
	switch {
	case params.FetchMetadata != nil:
		return *params.FetchMetadata, fmt.Sprintf("params.fetch_metadata is %t", *params.FetchMetadata)
	case src.FetchMetadata != nil:
		return *src.FetchMetadata, fmt.Sprintf("source.fetch_metadata is %t", *src.FetchMetadata)
	}
	return false, "fetch_metadata is not set"
}

// MetadataCost says, for in's mode line in reference mode, which files the
// mode writes and what the others cost.
func MetadataCost(params GetParams, src Source) string {
	on, why := FetchMetadata(params, src)
	if on {
		return why + ", so labels.json and metadata.json are written too, from the manifest and config (a manifest GET, which Docker Hub counts as a pull, and a config GET; no layer)"
	}
	return why + ", so only repository, tag and digest are written (fetch_metadata: true adds labels.json and metadata.json, for a manifest GET, which Docker Hub counts as a pull, and a config GET)"
}
