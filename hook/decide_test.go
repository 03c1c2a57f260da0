package hook_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

var typeDigest = "sha256:" + strings.Repeat("ab", 32)

// fakeLabels answers every image with labels, counting the calls.
type fakeLabels struct {
	labels map[string]string
	calls  atomic.Int32
}

func (f *fakeLabels) Labels(_ context.Context, _ resource.Source, _ name.Digest) (map[string]string, error) {
	f.calls.Add(1)
	return f.labels, nil
}

var refimageLabels = map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage}

func src(extra ...any) map[string]any {
	m := map[string]any{"repository": "registry.example.test/team/app"}
	for i := 0; i < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

var base = hook.TypeImage{BaseType: "registry-image"}

// customImage is a custom type's image, fetched with registry-image at a
// checked version, as a Concourse 7+ plan carries it.
func customImage(repository string) hook.TypeImage {
	return hook.TypeImage{BaseType: "registry-image", GetPlan: &hook.Get{Type: "registry-image",
		Source: map[string]any{"repository": repository}, Version: map[string]string{"tag": "1", "digest": typeDigest}, TypeImage: base}}
}

type decideCase struct {
	get      hook.Get
	opts     []hook.Option
	labels   map[string]string // nil: label lookup off
	skip     bool
	eligible bool
	rule     hook.Rule
	in       hook.Implementation
	reason   string
	strip    []string
}

func decide(c decideCase, opts ...hook.Option) (hook.Decision, error) {
	if c.labels == nil {
		opts = append(opts, hook.WithLabeler(nil))
	} else {
		opts = append(opts, hook.WithLabeler(&fakeLabels{labels: c.labels}))
	}
	if c.get.Source == nil {
		c.get.Source = src()
	}
	return mustNew(append(opts, c.opts...)...).Decide(context.Background(), c.get)
}

var _ = Describe("Decide", func() {
	DescribeTable("a get plan",
		func(c decideCase) {
			d, err := decide(c)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(Equal(c.skip))
			Expect(d.Eligible).To(Equal(c.eligible))
			Expect(d.Rule).To(Equal(c.rule))
			Expect(d.In).To(Equal(c.in))
			Expect(d.Reason).To(ContainSubstring(c.reason))
			Expect(d.StripParams).To(Equal(c.strip))
			if c.skip {
				Expect(d.Source.Repository).To(Equal("registry.example.test/team/app"))
			}
		},
		Entry("the base type registry-image: the stock resource unless declared", decideCase{
			get: hook.Get{Type: "registry-image", TypeImage: base}, skip: true, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage,
			reason: "no pod: registry-image is a base type that produces images and fetch_artifact is not set"}),
		Entry("a base type declared under another name", decideCase{
			get:  hook.Get{Type: "refimage", TypeImage: hook.TypeImage{BaseType: "refimage"}},
			opts: []hook.Option{hook.WithBaseType("refimage", "ghcr.io/refimage/refimage", hook.ImplRefimage)},
			skip: true, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRefimage, reason: "refimage is a base type that produces images"}),
		Entry("a base type that produces no image", decideCase{get: hook.Get{Type: "git", TypeImage: hook.TypeImage{BaseType: "git"}},
			reason: "run a pod: git is a base type that produces no image"}),
		Entry("skip_download on an s3 get", decideCase{get: hook.Get{Type: "s3", Params: map[string]any{"skip_download": true},
			Source: map[string]any{"bucket": "b", "regexp": "x-(.*).tgz"}, TypeImage: hook.TypeImage{BaseType: "s3"}},
			reason: "run a pod: s3 is a base type that produces no image"}),
		Entry("the implicit get after a put of a git resource (get_params: {skip_download: true})", decideCase{
			get:    hook.Get{Type: "git", Params: map[string]any{"skip_download": true, "depth": 1.0}, Source: map[string]any{"uri": "((repo))"}, TypeImage: hook.TypeImage{BaseType: "git"}},
			reason: "run a pod: git is a base type that produces no image"}),
		Entry("fetch_artifact that is not a bool on a type that produces no image", decideCase{
			get:    hook.Get{Type: "git", Params: map[string]any{"fetch_artifact": "yes"}, TypeImage: hook.TypeImage{BaseType: "git"}},
			reason: "run a pod: git is a base type"}),
		Entry("the step's own skip_download (JetBridge's plan field)", decideCase{
			get: hook.Get{Type: "registry-image", SkipDownload: true, Source: src("fetch_artifact", true), TypeImage: base}, skip: true, eligible: true,
			rule: hook.RuleBaseType, in: hook.ImplRegistryImage, reason: "and the step's skip_download is true"}),
		Entry("params.fetch_artifact true on the stock resource: strip it for its pod", decideCase{
			get: hook.Get{Type: "registry-image", Params: map[string]any{"fetch_artifact": true}, TypeImage: base}, eligible: true,
			rule: hook.RuleBaseType, in: hook.ImplRegistryImage, reason: "run a pod: params.fetch_artifact is true", strip: []string{"fetch_artifact"}}),
		Entry("params.fetch_artifact true on refimage: nothing to strip", decideCase{
			get:  hook.Get{Type: "registry-image", Params: map[string]any{"fetch_artifact": true}, TypeImage: base},
			opts: []hook.Option{hook.WithBaseType("registry-image", "ghcr.io/refimage/refimage", hook.ImplRefimage)}, eligible: true,
			rule: hook.RuleBaseType, in: hook.ImplRefimage, reason: "run a pod: params.fetch_artifact is true"}),
		Entry("params.fetch_artifact false beats source", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"fetch_artifact": false}, Source: src("fetch_artifact", true)}, skip: true, eligible: true,
			rule: hook.RuleBaseType, in: hook.ImplRegistryImage, reason: "params.fetch_artifact is false"}),
		Entry("source.fetch_artifact true (a type's defaults are merged into it)", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Source: src("fetch_artifact", true)}, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage,
			reason: "run a pod: source.fetch_artifact is true"}),
		Entry("an explicit format asks for the bytes", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"format": "oci"}}, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage,
			reason: `run a pod: params.format is "oci", which asks for the image's bytes as fetch_artifact: true does`}),
		Entry("a format beats source.fetch_artifact false", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"format": "rootfs"}, Source: src("fetch_artifact", false)}, eligible: true, rule: hook.RuleBaseType,
			in: hook.ImplRegistryImage, reason: `params.format is "rootfs"`}),
		Entry("skip_download with a format is reference only, as registry-image", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"format": "oci", "skip_download": true}}, skip: true, eligible: true, rule: hook.RuleBaseType,
			in: hook.ImplRegistryImage, reason: "params.skip_download is true"}),
		Entry("skip_download beats source.fetch_artifact, as in in", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"skip_download": true}, Source: src("fetch_artifact", true)}, skip: true, eligible: true,
			rule: hook.RuleBaseType, in: hook.ImplRegistryImage, reason: "params.skip_download is true"}),
		Entry("an unknown param on a get it would skip: the pod's in decides", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"formatt": "oci"}}, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage,
			reason: `run a pod: refimage cannot resolve the params in process (decode params: invalid request: unknown field "formatt"`}),
		Entry("an unknown source field", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base, Source: src("tagg", "1")},
			eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage, reason: `unknown field "tagg"`}),
		Entry("skip_download that is not a bool", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Params: map[string]any{"skip_download": "yes"}}, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage,
			reason: "run a pod: read params.skip_download: skip_download must be true or false"}),
		Entry("content_trust in a stock source when a pod runs", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Source: src("content_trust", map[string]any{"server": "https://notary.example.test"}, "fetch_artifact", true)}, eligible: true,
			rule: hook.RuleBaseType, in: hook.ImplRegistryImage, reason: "run a pod: source.fetch_artifact is true"}),
		Entry("a version that is not a registry-image version", decideCase{get: hook.Get{Type: "registry-image", TypeImage: base,
			Version: map[string]string{"ref": "abc"}}, eligible: true, rule: hook.RuleBaseType, in: hook.ImplRegistryImage,
			reason: `version has the field "ref"`}),
		Entry("a custom type whose image carries the label", decideCase{get: hook.Get{Type: "refimage", TypeImage: customImage("registry.example.test/types/refimage")},
			labels: refimageLabels, skip: true, eligible: true, rule: hook.RuleLabel, in: hook.ImplRefimage,
			reason: "the image of resource_types[refimage] (" + typeDigest + ") carries the label io.github.refimage.produces=registry-image"}),
		Entry("a label with another value", decideCase{get: hook.Get{Type: "refimage", TypeImage: customImage("registry.example.test/types/refimage")},
			labels: map[string]string{hook.ProducesLabel: "yes"}, reason: "has no label io.github.refimage.produces=registry-image"}),
		Entry("a custom type whose image is on the operator's list", decideCase{get: hook.Get{Type: "mine", TypeImage: customImage("registry.example.test/types/mine")},
			opts: []hook.Option{hook.WithImageType(hook.ImplRegistryImage, "registry.example.test/types/mine:1.8")}, skip: true, eligible: true,
			rule: hook.RuleImageList, in: hook.ImplRegistryImage, reason: "the image of resource_types[mine] (registry.example.test/types/mine) is on the runtime's list"}),
		Entry("registry-image overridden by a resource_types entry with the stock image (name equals type)", decideCase{
			get: hook.Get{Type: "registry-image", TypeImage: customImage("concourse/registry-image-resource")}, skip: true, eligible: true,
			rule: hook.RuleImageList, in: hook.ImplRegistryImage, reason: "the image of resource_types[registry-image] (concourse/registry-image-resource) is the image of the base type registry-image"}),
		Entry("the type a custom type is fetched with does not count", decideCase{get: hook.Get{Type: "mine", TypeImage: customImage("registry.example.test/types/mine")},
			reason: "run a pod: resource_types[mine] declares no produces, and its image's io.github.refimage.produces label is not looked up"}),
		Entry("a type fetched with a type whose image cannot be inspected", decideCase{get: hook.Get{Type: "mine", TypeImage: hook.TypeImage{BaseType: "git",
			GetPlan: &hook.Get{Type: "git", Source: map[string]any{"uri": "x"}, TypeImage: hook.TypeImage{BaseType: "git"}}}}, labels: refimageLabels,
			reason: "its image cannot be inspected without a pod (it is fetched with git, and git is a base type that produces no image)"}),
		Entry("a type given directly as an image, with the label", decideCase{get: hook.Get{Type: "mine",
			TypeImage: hook.TypeImage{ImageRef: "registry.example.test/types/mine@" + typeDigest}}, labels: refimageLabels,
			skip: true, eligible: true, rule: hook.RuleLabel, in: hook.ImplRefimage, reason: "the image of resource_types[mine] (" + typeDigest + ") carries the label"}),
		Entry("a type given directly as an image on the operator's list", decideCase{get: hook.Get{Type: "mine",
			TypeImage: hook.TypeImage{ImageRef: "registry.example.test/types/mine:2"}}, opts: []hook.Option{hook.WithImageType(hook.ImplRefimage, "registry.example.test/types/mine")},
			skip: true, eligible: true, rule: hook.RuleImageList, in: hook.ImplRefimage, reason: "is on the runtime's list"}),
	)

	DescribeTable("the policy that skips only gets that ask",
		func(g hook.Get, skip bool, reason string) {
			g.Type, g.TypeImage, g.Source = "registry-image", base, src()
			d, err := mustNew(hook.WithPolicy(hook.SkipOnRequest)).Decide(context.Background(), g)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(Equal(skip))
			Expect(d.Reason).To(ContainSubstring(reason))
		},
		Entry("nothing asked: a pod, as today", hook.Get{}, false,
			"run a pod: registry-image is a base type that produces images, but fetch_artifact is not set and the runtime skips only gets that ask"),
		Entry("params.skip_download", hook.Get{Params: map[string]any{"skip_download": true}}, true, "params.skip_download is true"),
		Entry("the step's skip_download", hook.Get{SkipDownload: true}, true, "the step's skip_download is true"),
		Entry("params.fetch_artifact false", hook.Get{Params: map[string]any{"fetch_artifact": false}}, true, "params.fetch_artifact is false"),
	)

	DescribeTable("errors only where it would skip and cannot safely",
		func(g hook.Get, wantErr string) {
			if g.Source == nil {
				g.Source = src()
			}
			_, err := mustNew(hook.WithLabeler(nil)).Decide(context.Background(), g)
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
		},
		Entry("fetch_artifact as a string", hook.Get{Type: "registry-image", TypeImage: base, Params: map[string]any{"fetch_artifact": "true"}},
			`read params.fetch_artifact: fetch_artifact must be true or false, not "true" (a JSON string)`),
		Entry("fetch_artifact as a number in the source", hook.Get{Type: "registry-image", TypeImage: base, Source: src("fetch_artifact", float64(1))},
			"read source.fetch_artifact: fetch_artifact must be true or false, not 1 (a JSON float64)"),
		Entry("fetch_artifact still a var", hook.Get{Type: "registry-image", TypeImage: base, Params: map[string]any{"fetch_artifact": "((fetch))"}},
			"read params.fetch_artifact: ((fetch)) is unevaluated ((var))"),
		Entry("fetch_artifact false together with a format", hook.Get{Type: "registry-image", TypeImage: base, Params: map[string]any{"fetch_artifact": false, "format": "oci"}},
			`params.format "oci" asks for the image's bytes: drop format to get the reference, or drop fetch_artifact to download the image`),
		Entry("a leftover var in the source", hook.Get{Type: "registry-image", TypeImage: base, Source: src("username", "((registry-user))")},
			"read source.username: ((registry-user)) is unevaluated ((var))"),
		Entry("a leftover var in the repository", hook.Get{Type: "registry-image", TypeImage: base, Source: map[string]any{"repository": "((registry))/app"}},
			"read source.repository: ((registry)) is unevaluated"),
		Entry("a malformed digest", hook.Get{Type: "registry-image", TypeImage: base, Version: map[string]string{"tag": "1", "digest": "sha256:xyz"}},
			"invalid version.digest"),
	)

	It("never reads a credential for ((var)), so no part of a secret can reach an error", func() {
		for _, field := range []string{"password", "aws_secret_access_key", "aws_session_token"} {
			source := src(field, "p4ss((word))x")
			if field != "password" {
				source = src("aws_region", "eu-west-1", "aws_access_key_id", "AKIAEXAMPLE", field, "p4ss((word))x")
				if field == "aws_session_token" {
					source["aws_secret_access_key"] = "secret"
				}
			}
			d, err := mustNew().Decide(context.Background(), hook.Get{Type: "registry-image", TypeImage: base, Source: source})
			Expect(err).NotTo(HaveOccurred(), field)
			Expect(d.Reason).NotTo(ContainSubstring("((word))"), field)
			if field == "password" {
				Expect(d.Skip).To(BeTrue())
			}
		}
	})

	It("marks unevaluated sources with ErrUnevaluated", func() {
		_, err := mustNew().Decide(context.Background(), hook.Get{Type: "registry-image", TypeImage: base, Source: src("username", "((user))")})
		Expect(errors.Is(err, hook.ErrUnevaluated)).To(BeTrue())
	})

	It("returns the plan's version, and PodParams/PodSource strip what the stock resource rejects", func() {
		h := mustNew()
		d, err := h.Decide(context.Background(), hook.Get{Type: "registry-image", TypeImage: base, Source: src(),
			Version: map[string]string{"tag": "1", "digest": typeDigest}})
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Version).To(Equal(resource.Version{Tag: "1", Digest: typeDigest}))

		params := map[string]any{"fetch_artifact": true, "format": "oci"}
		source := src("fetch_artifact", true)
		d, err = h.Decide(context.Background(), hook.Get{Type: "registry-image", TypeImage: base, Source: source, Params: params})
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeFalse())
		Expect(d.StripSource).To(Equal([]string{"fetch_artifact"}))
		Expect(d.PodParams(params)).To(Equal(map[string]any{"format": "oci"}))
		Expect(d.PodSource(source)).To(Equal(src()))
		Expect(params).To(HaveKey("fetch_artifact"), "the caller's map is left alone")
	})

	It("looks a type's label up once per image digest", func() {
		labels := &fakeLabels{labels: refimageLabels}
		h := mustNew(hook.WithLabeler(labels))
		for range 3 {
			d, err := h.Decide(context.Background(), hook.Get{Type: "refimage", Source: src(), TypeImage: customImage("registry.example.test/types/refimage")})
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue())
		}
		Expect(labels.calls.Load()).To(Equal(int32(1)))
	})

	It("reads a plan as Concourse writes it in JSON", func() {
		var g hook.Get
		Expect(jsonUnmarshalStrict(`{"name": "app-image", "type": "refimage", "resource": "app-image", "source": {"repository": "r.example.test/app"},
			"version": {"tag": "1", "digest": "`+typeDigest+`"}, "tags": ["k8s"],
			"image": {"base_type": "registry-image", "get_plan": {"id": "1/image-get", "attempts": [1], "get": {"name": "refimage", "type": "registry-image",
				"source": {"repository": "r.example.test/refimage"}, "skip_download": true, "version_from": "1/image-check", "image": {"base_type": "registry-image"}}},
				"check_plan": {"id": "1/image-check", "check": {"name": "refimage"}}}}`, &g)).To(Succeed())
		Expect(g.TypeImage.GetPlan).NotTo(BeNil())
		Expect(g.TypeImage.GetPlan.Source).To(HaveKeyWithValue("repository", "r.example.test/refimage"))
		Expect(g.TypeImage.GetPlan.SkipDownload).To(BeTrue())
		Expect(jsonUnmarshalStrict(`{"type": "x", "image": {"base_typo": "x"}}`, &g)).To(MatchError(ContainSubstring(`unknown field "base_typo"`)))
	})
})

var _ = Describe("New", func() {
	It("rejects invalid options, all at once", func() {
		_, err := hook.New(hook.WithBaseType("", "x", hook.ImplRefimage), hook.WithImageType("other", "a/b"),
			hook.WithImageType(hook.ImplRefimage, "UPPER/case"), hook.WithPolicy(7))
		Expect(err).To(MatchError(ContainSubstring(`declare base type "": the name is empty`)))
		Expect(err).To(MatchError(ContainSubstring(`implementation "other" is neither`)))
		Expect(err).To(MatchError(ContainSubstring(`list image type "UPPER/case"`)))
		Expect(err).To(MatchError(ContainSubstring("choose policy: 7")))
	})
})
