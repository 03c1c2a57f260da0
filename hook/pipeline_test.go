package hook_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

func customType(name, fetchedWith string, produces string) hook.ResourceType {
	return hook.ResourceType{Name: name, Type: fetchedWith, Produces: produces,
		Source:  map[string]any{"repository": "registry.example.test/types/" + name},
		Version: &resource.Version{Tag: "latest", Digest: typeDigest}}
}

func withDefaults(t hook.ResourceType, defaults map[string]any) hook.ResourceType {
	t.Defaults = defaults
	return t
}

var _ = Describe("Classify (the pipeline form, for refimage explain)", func() {
	DescribeTable("rules over resource_types",
		func(typ string, types []hook.ResourceType, produces string, params map[string]any, labels map[string]string, skip bool, rule hook.Rule, reason string) {
			opts := []hook.Option{hook.WithLabeler(nil)}
			if labels != nil {
				opts = []hook.Option{hook.WithLabeler(&fakeLabels{labels: labels})}
			}
			d, err := mustNew(opts...).Classify(context.Background(), hook.GetStep{
				Resource: hook.Resource{Type: typ, Source: src(), Produces: produces}, ResourceTypes: types, Params: params})
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(Equal(skip))
			Expect(d.Rule).To(Equal(rule))
			Expect(d.Reason).To(ContainSubstring(reason))
		},
		Entry("produces: registry-image on the type's entry", "refimage", []hook.ResourceType{customType("refimage", "registry-image", "registry-image")},
			"", nil, nil, true, hook.RuleProduces, "resource_types[refimage] declares produces: registry-image"),
		Entry("produces: registry-image on the resource", "mine", []hook.ResourceType{customType("mine", "registry-image", "")},
			"registry-image", nil, nil, true, hook.RuleProduces, "the resource declares produces: registry-image"),
		Entry("produces naming something else", "mine", []hook.ResourceType{customType("mine", "registry-image", "helm-chart")},
			"", nil, nil, false, hook.RuleNone, "declares produces: helm-chart, not registry-image"),
		Entry("name: registry-image, type: registry-image is an override fetched with the base type, not a cycle",
			"registry-image", []hook.ResourceType{customType("registry-image", "registry-image", "")}, "", nil, refimageLabels, true, hook.RuleLabel,
			"the image of resource_types[registry-image] ("+typeDigest+") carries the label"),
		Entry("the override with the label rule off", "registry-image", []hook.ResourceType{customType("registry-image", "registry-image", "")},
			"", nil, nil, false, hook.RuleNone, "resource_types[registry-image] declares no produces, and its image's io.github.refimage.produces label is not looked up"),
		Entry("two types fetched with each other resolve past themselves to base types", "a",
			[]hook.ResourceType{customType("a", "b", ""), customType("b", "a", "")}, "", nil, refimageLabels, false, hook.RuleNone,
			"it is fetched with b, and resource_types[b] declares no produces, and its image cannot be inspected without a pod (it is fetched with a, and a is a base type that produces no image)"),
		Entry("a type given as an image (image:)", "mine", []hook.ResourceType{{Name: "mine", Image: "registry.example.test/types/mine@" + typeDigest}},
			"", nil, refimageLabels, true, hook.RuleLabel, "carries the label"),
		Entry("type defaults fetch_artifact true", "refimage",
			[]hook.ResourceType{withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"fetch_artifact": true})},
			"", nil, nil, false, hook.RuleProduces, "run a pod: defaults.fetch_artifact (the type's) is true"),
	)

	It("says a malformed fetch_artifact is the type's defaults'", func() {
		_, err := mustNew().Classify(context.Background(), hook.GetStep{Resource: hook.Resource{Type: "refimage", Source: src()},
			ResourceTypes: []hook.ResourceType{withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"fetch_artifact": "yes"})}})
		Expect(err).To(MatchError(ContainSubstring("read defaults.fetch_artifact")))
	})

	It("merges the type's defaults under the evaluated source, as Concourse plans", func() {
		t := withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"username": "robot", "tag": "stable"})
		step := hook.GetStep{Resource: hook.Resource{Type: "refimage", Source: src("tag", "((tag))")},
			ResourceTypes: []hook.ResourceType{t}, EvaluatedSource: src("tag", "1.2")}
		g := step.Plan()
		Expect(g.Source).To(Equal(src("tag", "1.2", "username", "robot")))
		d, err := mustNew().Decide(context.Background(), g)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Source.Username).To(Equal("robot"))
		Expect(string(d.Source.Tag)).To(Equal("1.2"))
	})
})
