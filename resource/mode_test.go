package resource_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

var _ = Describe("ChooseMode", func() {
	yes, no := true, false
	DescribeTable("applies the precedence of DESIGN.md",
		func(params resource.GetParams, src resource.Source, pod bool, want resource.Mode, because string) {
			mode, reason := resource.ChooseMode(params, src, pod)
			Expect(mode).To(Equal(want))
			Expect(reason).To(ContainSubstring(because))
		},
		Entry("step true beats everything", resource.GetParams{FetchArtifact: &yes, SkipDownload: true}, resource.Source{FetchArtifact: &no}, true, resource.FullDownload, "params.fetch_artifact is true"),
		Entry("step false beats source true", resource.GetParams{FetchArtifact: &no}, resource.Source{FetchArtifact: &yes}, false, resource.ReferenceOnly, "params.fetch_artifact is false"),
		Entry("skip_download beats source true", resource.GetParams{SkipDownload: true}, resource.Source{FetchArtifact: &yes}, false, resource.ReferenceOnly, "params.skip_download"),
		Entry("source true beats a pod", resource.GetParams{}, resource.Source{FetchArtifact: &yes}, true, resource.FullDownload, "source.fetch_artifact is true"),
		Entry("source false beats another runtime", resource.GetParams{}, resource.Source{FetchArtifact: &no}, false, resource.ReferenceOnly, "source.fetch_artifact is false"),
		Entry("unset in a pod", resource.GetParams{}, resource.Source{}, true, resource.ReferenceOnly, "KUBERNETES_SERVICE_HOST"),
		Entry("unset elsewhere", resource.GetParams{}, resource.Source{}, false, resource.FullDownload, "not a Kubernetes pod"),
	)
})
