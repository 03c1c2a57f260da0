package cloud_test

import (
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("in from Amazon ECR", func() {
	var w *ecrWorld
	BeforeEach(func() { w = newECRWorld("eu-west-1", "amazonaws.com") })

	DescribeTable("writes the full ECR repository, as registry-image does, in either mode",
		func(fetch bool, wantFiles []string) {
			dest := GinkgoT().TempDir()
			req := resource.InRequest{Source: w.source(nil), Params: resource.GetParams{FetchArtifact: &fetch},
				Version: resource.Version{Tag: "1.0.0", Digest: w.digest}}
			resp, err := in.Run(context.Background(), req, dest,
				in.WithClientOptions(registry.WithResolver(w.resolver()), registry.WithTransport(w.routes)))
			Expect(err).NotTo(HaveOccurred())
			Expect(os.ReadFile(filepath.Join(dest, "repository"))).To(BeEquivalentTo(w.registryHost + "/team/app"))
			Expect(resp.Metadata[0]).To(Equal(resource.MetadataField{Name: "repository", Value: w.registryHost + "/team/app"}))
			Expect(resp.Version).To(Equal(req.Version))
			for _, f := range wantFiles {
				Expect(filepath.Join(dest, f)).To(BeAnExistingFile())
			}
			calls, _, _ := w.ecr.report()
			Expect(calls).To(Equal(1), "one token for the step")
		},
		Entry("reference only", false, []string{"tag", "digest"}),
		Entry("full download", true, []string{"rootfs", "metadata.json"}),
	)
})
