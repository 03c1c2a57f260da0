package resource

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
// its skip_download, then the source's fetch_artifact (which carries a
// type's defaults, merged in by Concourse), then the runtime: reference only
// in a Kubernetes pod, a full download anywhere else. The reason names the
// setting that decided, for the first line of in's log.
func ChooseMode(params GetParams, src Source, inKubernetesPod bool) (Mode, string) {
	switch {
	case params.FetchArtifact != nil && *params.FetchArtifact:
		return FullDownload, "params.fetch_artifact is true"
	case params.FetchArtifact != nil:
		return ReferenceOnly, "params.fetch_artifact is false"
	case params.SkipDownload:
		return ReferenceOnly, "params.skip_download is true"
	case src.FetchArtifact != nil && *src.FetchArtifact:
		return FullDownload, "source.fetch_artifact is true"
	case src.FetchArtifact != nil:
		return ReferenceOnly, "source.fetch_artifact is false"
	case inKubernetesPod:
		return ReferenceOnly, "fetch_artifact is not set and this runs in a Kubernetes pod (KUBERNETES_SERVICE_HOST is set), where kubelet pulls images itself"
	}
	return FullDownload, "fetch_artifact is not set and this is not a Kubernetes pod, so the image is downloaded as registry-image would"
}
