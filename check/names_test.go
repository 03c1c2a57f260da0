package check_test

import (
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("check of a one-character repository, which registry-image reads (go-containerregistry v0.22)", func() {
	It("emits the tag's digest from host:port/a", func() {
		reg := flavours[0].Start()
		repo := reg.Repo("a")
		l, err := imagetest.Layer(imagetest.Gzip, imagetest.File("a", "1"))
		Expect(err).NotTo(HaveOccurred())
		img := imagetest.MustImage(imagetest.Spec{Layers: []v1.Layer{l}})
		// Pushed by the name refimage reads, so the push works on the
		// library set's older ggcr too.
		ref, err := resource.ParseReference(repo+":1.0", name.Insecure)
		Expect(err).NotTo(HaveOccurred())
		Expect(remote.Write(ref, img, reg.RemoteOptions()...)).To(Succeed())
		digest, err := img.Digest()
		Expect(err).NotTo(HaveOccurred())

		src := reg.Source(repo)
		src["tag"] = "1.0"
		r := runCheck(map[string]any{"source": src})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal([]resource.Version{{Tag: "1.0", Digest: digest.String()}}))
	})
})
