package cloud_test

import (
	"context"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("out to Amazon ECR", func() {
	It("pushes to the derived registry with the token and names the full repository", func() {
		w := newECRWorld("eu-west-1", "amazonaws.com")
		img, err := imagetest.Image(imagetest.Spec{Labels: map[string]string{"pushed": "by out"}})
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		tag, err := name.NewTag("team/app:unused")
		Expect(err).NotTo(HaveOccurred())
		Expect(tarball.WriteToFile(filepath.Join(dir, "image.tar"), tag, img)).To(Succeed())

		src := w.source(func(s *resource.Source) { s.Tag = "2.0.0" })
		resp, err := out.Run(context.Background(), resource.OutRequest{Source: src, Params: resource.PutParams{Image: "image.tar"}}, dir,
			out.WithClientOptions(registry.WithResolver(w.resolver()), registry.WithTransport(w.routes)))
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Version.Tag).To(Equal("2.0.0"))
		Expect(resp.Metadata[0]).To(Equal(resource.MetadataField{Name: "repository", Value: w.registryHost + "/team/app"}))

		pushed, err := name.ParseReference(w.reg.Repo("team/app") + ":2.0.0")
		Expect(err).NotTo(HaveOccurred())
		got, err := remote.Head(pushed, w.reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Digest.String()).To(Equal(resp.Version.Digest), "the tag was pushed behind the derived host")
		calls, _, _ := w.ecr.report()
		Expect(calls).To(Equal(1))
	})
})
