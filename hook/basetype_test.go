package hook_test

import (
	"context"
	"maps"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("A base type declared by image alone", func() {
	var (
		ctx      = context.Background()
		reg      *testRegistry
		refimage string // refimage's image, labelled
		stock    string // the stock resource's image, no label
	)
	BeforeEach(func() {
		reg = startRegistry()
		refimage = reg.Host + "/types/refimage@" + reg.push("types/refimage", "1", map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage}).String()
		stock = reg.Host + "/types/registry-image@" + reg.push("types/registry-image", "1", nil).String()
	})
	fetch := baseGet(map[string]any{"repository": "registry.example.test/app", "fetch_artifact": true}, map[string]any{"fetch_artifact": true}, resource.Version{Tag: "1"})

	DescribeTable("reads whose in it runs from the image's label, once per digest",
		func(image func() string, want hook.Implementation, strip []string) {
			h := mustNew(hook.WithBaseType("registry-image", image(), hook.ImplUnknown))
			plain, err := h.Decide(ctx, baseGet(map[string]any{"repository": "registry.example.test/app"}, nil, resource.Version{Tag: "1"}))
			Expect(err).NotTo(HaveOccurred())
			Expect(plain.Skip).To(BeTrue())
			Expect(reg.Requests().Total).To(BeZero(), "nothing to strip: the label is not read")
			d, err := h.Decide(ctx, fetch)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeFalse())
			Expect(d.In).To(Equal(want))
			Expect(d.StripParams).To(Equal(strip))
			Expect(reg.Requests().ManifestGET).To(Equal(1), "the manifest, for the label")
			again, err := h.Decide(ctx, fetch)
			Expect(err).NotTo(HaveOccurred())
			Expect(again).To(Equal(d))
			Expect(reg.Requests().Total).To(BeZero(), "cached per digest")
		},
		Entry("refimage's image keeps fetch_artifact: its in knows it", func() string { return refimage }, hook.ImplRefimage, []string(nil)),
		Entry("the stock image has it stripped: its in rejects it", func() string { return stock }, hook.ImplRegistryImage, []string{"fetch_artifact"}),
	)

	It("lets explicit settings win, but never strips fetch_artifact silently from refimage's image", func() {
		h := mustNew(hook.WithBaseType("registry-image", stock, hook.ImplRefimage))
		d, err := h.Decide(ctx, fetch)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.In).To(Equal(hook.ImplRefimage))
		Expect(reg.Requests().Total).To(BeZero(), "an explicit implementation reads no label")

		h = mustNew(hook.WithBaseType("registry-image", refimage, hook.ImplRegistryImage))
		skip, err := h.Decide(ctx, baseGet(map[string]any{"repository": "registry.example.test/app"}, nil, resource.Version{Tag: "1"}))
		Expect(err).NotTo(HaveOccurred())
		Expect(skip.In).To(Equal(hook.ImplRegistryImage), "nothing to strip: the explicit setting stands")
		_, err = h.Decide(ctx, fetch)
		Expect(err).To(MatchError(ContainSubstring("declared as the stock registry-image (hook.ImplRegistryImage), but its image " + refimage + " carries the label io.github.refimage.produces=registry-image")))
	})

	It("needs the image", func() {
		_, err := hook.New(hook.WithBaseType("registry-image", "", hook.ImplUnknown))
		Expect(err).To(MatchError(ContainSubstring("needs the image")))
	})
})

var _ = Describe("A type given as an image (image_ref) on a private registry", func() {
	ctx := context.Background()

	It("is inspected with the source the plan gives for it, and without one runs a pod with the reason", func() {
		private := registrytest.NewInProcess(registrytest.WithTLS(), registrytest.WithBasicAuth("robot", "s3cret"))
		DeferCleanup(private.Close)
		pusher := &testRegistry{Proxy: registrytest.NewProxy(private)}
		DeferCleanup(pusher.Close)
		typeImage := pusher.Host + "/types/refimage:1"
		pusher.push("types/refimage", "1", map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage})
		get := hook.Get{Type: "refimage", Source: map[string]any{"repository": "registry.example.test/app"},
			Version: map[string]string{"digest": "sha256:" + fmt64("ab")}, TypeImage: hook.TypeImage{ImageRef: typeImage}}

		d, err := mustNew(hook.TrustPinnedDigests()).Decide(ctx, get)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeFalse())
		Expect(d.Reason).To(ContainSubstring("could not be resolved"))

		source := pusher.Source("")
		maps.DeleteFunc(source, func(k string, _ any) bool { return k == "repository" })
		get.TypeImage.Source = source
		d, err = mustNew(hook.TrustPinnedDigests()).Decide(ctx, get)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue(), d.Reason)
		Expect(d.Rule).To(Equal(hook.RuleLabel))
	})
})

func fmt64(pair string) string {
	out := ""
	for range 32 {
		out += pair
	}
	return out
}
