package hook_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("fetch_metadata", func() {
	var (
		ctx    = context.Background()
		reg    *testRegistry
		repo   string
		digest string
	)
	BeforeEach(func() {
		reg = startRegistry()
		repo = reg.Host + "/team/app"
		digest = reg.push("team/app", "1.2", map[string]string{"org.example.team": "core"}).String()
	})

	DescribeTable("adds labels.json and metadata.json to the files and the ConfigMap, from in's own function, cached per digest",
		func(source, params map[string]any) {
			h := mustNew(hook.WithLabeler(nil), hook.TrustPinnedDigests())
			src := map[string]any{"repository": repo}
			for k, v := range source {
				src[k] = v
			}
			version := resource.Version{Tag: "1.2", Digest: digest}
			d, err := h.Decide(ctx, baseGet(src, params, version))
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue(), d.Reason)
			r, err := h.Resolve(ctx, d)
			Expect(err).NotTo(HaveOccurred())
			counts := reg.Requests()
			Expect(counts.ManifestGET).To(Equal(1))
			Expect(counts.BlobGET).To(Equal(1), "the config, no layer: %+v", counts)

			want, err := registry.ResolveReference(ctx, resource.InRequest{Source: d.Source, Params: d.Params, Version: version},
				func(ctx context.Context, s resource.Source) (registry.Registry, error) {
					return registry.NewClient(ctx, s)
				})
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Files).To(Equal(want.Files))
			Expect(r.FilesMap()).To(HaveKeyWithValue("labels.json", "{\"org.example.team\":\"core\"}\n"))
			Expect(r.FilesMap()).To(HaveKey("metadata.json"))
			reg.Requests()

			again, err := h.Resolve(ctx, d)
			Expect(err).NotTo(HaveOccurred())
			Expect(again.Files).To(Equal(r.Files))
			Expect(reg.Requests().Total).To(BeZero(), "cached per digest")

			cm, _, _ := kube.InputFiles(r, kube.Input{MountPath: "/in"})
			Expect(cm.Data).To(HaveLen(5))
			Expect(cm.Data["labels.json"]).To(Equal(r.FilesMap()["labels.json"]))
		},
		Entry("the step's params", nil, map[string]any{"fetch_metadata": true}),
		Entry("the resource's source, or the type's defaults merged into it", map[string]any{"fetch_metadata": true}, nil),
	)

	It("comes from the type's defaults too, as Concourse merges them into the source", func() {
		h := mustNew(hook.WithLabeler(nil), hook.TrustPinnedDigests(), hook.WithImageType(hook.ImplRefimage, "ghcr.io/refimage/refimage"))
		step := hook.GetStep{
			Resource: hook.Resource{Name: "app-image", Type: "refimage", Source: map[string]any{"repository": repo}},
			ResourceTypes: []hook.ResourceType{{Name: "refimage", Type: "registry-image",
				Source: map[string]any{"repository": "ghcr.io/refimage/refimage"}, Defaults: map[string]any{"fetch_metadata": true}}},
		}
		g := step.Plan()
		g.Version = map[string]string{"tag": "1.2", "digest": digest}
		d, err := h.Decide(ctx, g)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue(), d.Reason)
		r, err := h.Resolve(ctx, d)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.FilesMap()).To(HaveKey("labels.json"))
		Expect(r.FilesMap()).To(HaveKey("metadata.json"))
	})

	It("is stripped with fetch_artifact before the stock resource's pod runs", func() {
		h := mustNew(hook.WithLabeler(nil))
		d, err := h.Decide(ctx, baseGet(map[string]any{"repository": repo, "fetch_metadata": true},
			map[string]any{"fetch_artifact": true, "fetch_metadata": true}, resource.Version{Tag: "1.2", Digest: digest}))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.StripParams).To(Equal([]string{"fetch_artifact", "fetch_metadata"}))
		Expect(d.StripSource).To(Equal([]string{"fetch_metadata"}))
	})
})
