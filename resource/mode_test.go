package resource_test

import (
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

var _ = Describe("ChooseMode", func() {
	yes, no := true, false
	DescribeTable("applies the precedence of DESIGN.md",
		func(params resource.GetParams, src resource.Source, pod bool, want resource.Mode, because string) {
			mode, reason, err := resource.ChooseMode(params, src, pod)
			Expect(err).NotTo(HaveOccurred())
			Expect(mode).To(Equal(want))
			Expect(reason).To(ContainSubstring(because))
		},
		Entry("step true beats everything", resource.GetParams{FetchArtifact: &yes, SkipDownload: true}, resource.Source{FetchArtifact: &no}, true, resource.FullDownload, "params.fetch_artifact is true"),
		Entry("step true with a format", resource.GetParams{FetchArtifact: &yes, Format: "oci"}, resource.Source{}, true, resource.FullDownload, "params.fetch_artifact is true"),
		Entry("step false beats source true", resource.GetParams{FetchArtifact: &no}, resource.Source{FetchArtifact: &yes}, false, resource.ReferenceOnly, "params.fetch_artifact is false"),
		Entry("skip_download beats source true", resource.GetParams{SkipDownload: true}, resource.Source{FetchArtifact: &yes}, false, resource.ReferenceOnly, "params.skip_download"),
		Entry("skip_download beats a format, as registry-image", resource.GetParams{SkipDownload: true, Format: "oci"}, resource.Source{}, false, resource.ReferenceOnly, `params.format "oci" is not written`),
		Entry("a format in a pod asks for the bytes", resource.GetParams{Format: "rootfs"}, resource.Source{}, true, resource.FullDownload, `params.format is "rootfs"`),
		Entry("a format beats source false", resource.GetParams{Format: "oci-layout"}, resource.Source{FetchArtifact: &no}, true, resource.FullDownload, `params.format is "oci-layout"`),
		Entry("source true beats a pod", resource.GetParams{}, resource.Source{FetchArtifact: &yes}, true, resource.FullDownload, "source.fetch_artifact is true"),
		Entry("source false beats another runtime", resource.GetParams{}, resource.Source{FetchArtifact: &no}, false, resource.ReferenceOnly, "source.fetch_artifact is false"),
		Entry("unset in a pod", resource.GetParams{}, resource.Source{}, true, resource.ReferenceOnly, "KUBERNETES_SERVICE_HOST"),
		Entry("unset elsewhere", resource.GetParams{}, resource.Source{}, false, resource.FullDownload, "not a Kubernetes pod"),
	)

	DescribeTable("refuses fetch_artifact: false with a format, naming which to drop",
		func(format string, pod bool) {
			_, _, err := resource.ChooseMode(resource.GetParams{FetchArtifact: &no, Format: format}, resource.Source{FetchArtifact: &yes}, pod)
			var field *resource.FieldError
			Expect(errors.As(err, &field)).To(BeTrue(), "%v", err)
			Expect(field.Field).To(Equal("params.fetch_artifact"))
			Expect(err.Error()).To(ContainSubstring(`params.format "` + format + `"`))
			Expect(err.Error()).To(ContainSubstring("drop format to get the reference, or drop fetch_artifact to download the image"))
		},
		Entry("rootfs in a pod", "rootfs", true),
		Entry("oci elsewhere", "oci", false),
		Entry("oci-layout", "oci-layout", true),
	)
})
