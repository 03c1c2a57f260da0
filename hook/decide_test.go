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

func customType(name, fetchedWith string, produces string) hook.ResourceType {
	return hook.ResourceType{Name: name, Type: fetchedWith, Produces: produces,
		Source:  map[string]any{"repository": "registry.example.test/types/" + name},
		Version: &resource.Version{Tag: "latest", Digest: typeDigest}}
}

type decideCase struct {
	typ      string
	types    []hook.ResourceType
	produces string
	params   map[string]any
	source   map[string]any
	labels   map[string]string // nil: label lookup off
	skip     bool
	eligible bool
	reason   string
}

var _ = Describe("Decide", func() {
	DescribeTable("eligibility and fetch_artifact",
		func(c decideCase) {
			var opts []hook.Option
			if c.labels == nil {
				opts = append(opts, hook.WithLabeler(nil))
			} else {
				opts = append(opts, hook.WithLabeler(&fakeLabels{labels: c.labels}))
			}
			if c.source == nil {
				c.source = src()
			}
			d, err := hook.New(opts...).Decide(context.Background(), hook.GetStep{
				Resource:        hook.Resource{Type: c.typ, Source: c.source, Produces: c.produces},
				ResourceTypes:   c.types,
				Params:          c.params,
				EvaluatedSource: c.source,
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(Equal(c.skip))
			Expect(d.Eligible).To(Equal(c.eligible))
			Expect(d.Reason).To(ContainSubstring(c.reason))
			if c.eligible {
				Expect(d.Source.Repository).To(Equal("registry.example.test/team/app"))
			}
		},
		Entry("the base type registry-image", decideCase{typ: "registry-image", skip: true, eligible: true,
			reason: "no pod: registry-image is the base type that produces images and fetch_artifact is not set"}),
		Entry("a base type that produces no image", decideCase{typ: "git",
			reason: "run a pod: git is a base type that produces no image"}),
		Entry("produces: registry-image on the type's entry", decideCase{typ: "refimage",
			types: []hook.ResourceType{customType("refimage", "registry-image", "registry-image")}, skip: true, eligible: true,
			reason: "resource_types[refimage] declares produces: registry-image"}),
		Entry("produces: registry-image on the resource", decideCase{typ: "mine", produces: "registry-image",
			types: []hook.ResourceType{customType("mine", "registry-image", "")}, skip: true, eligible: true,
			reason: "the resource declares produces: registry-image"}),
		Entry("produces naming something else", decideCase{typ: "mine",
			types:  []hook.ResourceType{customType("mine", "registry-image", "helm-chart")},
			reason: "declares produces: helm-chart, not registry-image"}),
		Entry("the type it is fetched with does not count", decideCase{typ: "mine",
			types:  []hook.ResourceType{customType("mine", "registry-image", "")},
			reason: "run a pod: resource_types[mine] declares no produces, and its image's io.github.refimage.produces label is not looked up"}),
		Entry("a custom type named registry-image shadows the base type", decideCase{typ: "registry-image",
			types:  []hook.ResourceType{customType("registry-image", "registry-image", "")},
			reason: "resource_types[registry-image] declares no produces"}),
		Entry("the label on the type's image", decideCase{typ: "refimage", labels: refimageLabels,
			types: []hook.ResourceType{customType("refimage", "registry-image", "")}, skip: true, eligible: true,
			reason: "the image of resource_types[refimage] (" + typeDigest + ") carries the label io.github.refimage.produces=registry-image"}),
		Entry("a label with another value", decideCase{typ: "refimage", labels: map[string]string{hook.ProducesLabel: "yes"},
			types:  []hook.ResourceType{customType("refimage", "registry-image", "")},
			reason: "has no label io.github.refimage.produces=registry-image"}),
		Entry("a type fetched with a type whose image cannot be inspected", decideCase{typ: "mine", labels: refimageLabels,
			types:  []hook.ResourceType{customType("mine", "git", "")},
			reason: "its image cannot be inspected without a pod (type mine is fetched with git, and git is a base type that produces no image)"}),
		Entry("a cycle of types", decideCase{typ: "a", labels: refimageLabels,
			types:  []hook.ResourceType{customType("a", "b", ""), customType("b", "a", "")},
			reason: "is fetched with itself (a cycle)"}),
		Entry("params.fetch_artifact true", decideCase{typ: "registry-image", params: map[string]any{"fetch_artifact": true}, eligible: true,
			reason: "run a pod: params.fetch_artifact is true"}),
		Entry("params.fetch_artifact false beats source", decideCase{typ: "registry-image", params: map[string]any{"fetch_artifact": false},
			source: src("fetch_artifact", true), skip: true, eligible: true, reason: "params.fetch_artifact is false"}),
		Entry("source.fetch_artifact true", decideCase{typ: "registry-image", source: src("fetch_artifact", true), eligible: true,
			reason: "run a pod: source.fetch_artifact is true"}),
		Entry("type defaults fetch_artifact true", decideCase{typ: "refimage", eligible: true,
			types:  []hook.ResourceType{withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"fetch_artifact": true})},
			reason: "run a pod: defaults.fetch_artifact (the type's) is true"}),
		Entry("source false beats type defaults true", decideCase{typ: "refimage", source: src("fetch_artifact", false), skip: true, eligible: true,
			types:  []hook.ResourceType{withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"fetch_artifact": true})},
			reason: "source.fetch_artifact is false"}),
		Entry("skip_download on an image type", decideCase{typ: "registry-image", params: map[string]any{"skip_download": true}, skip: true, eligible: true,
			reason: "no pod: registry-image is the base type that produces images and params.skip_download is true"}),
		Entry("skip_download beats source.fetch_artifact, as in in", decideCase{typ: "registry-image", params: map[string]any{"skip_download": true},
			source: src("fetch_artifact", true), skip: true, eligible: true, reason: "params.skip_download is true"}),
		Entry("params.fetch_artifact true beats skip_download, as in in", decideCase{typ: "registry-image",
			params: map[string]any{"skip_download": true, "fetch_artifact": true}, eligible: true, reason: "run a pod: params.fetch_artifact is true"}),
		Entry("fetch_artifact on a type that produces no image", decideCase{typ: "git", params: map[string]any{"fetch_artifact": true},
			reason: "run a pod: git is a base type"}),
	)

	DescribeTable("errors",
		func(typ string, types []hook.ResourceType, params, source map[string]any, wantErr string) {
			_, err := hook.New(hook.WithLabeler(nil)).Decide(context.Background(), hook.GetStep{
				Resource: hook.Resource{Type: typ, Source: source}, ResourceTypes: types, Params: params, EvaluatedSource: source,
			})
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
		},
		Entry("fetch_artifact as a string", "registry-image", nil, map[string]any{"fetch_artifact": "true"}, src(),
			`read params.fetch_artifact: fetch_artifact must be true or false, not "true" (a JSON string)`),
		Entry("fetch_artifact as a number", "registry-image", nil, nil, src("fetch_artifact", float64(1)),
			"read source.fetch_artifact: fetch_artifact must be true or false, not 1 (a JSON float64)"),
		Entry("fetch_artifact in defaults as a string", "refimage",
			[]hook.ResourceType{withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"fetch_artifact": "yes"})}, nil, src(),
			"read defaults.fetch_artifact"),
		Entry("fetch_artifact in defaults as a string, though the source decides", "refimage",
			[]hook.ResourceType{withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"fetch_artifact": "yes"})}, nil, src("fetch_artifact", true),
			"read defaults.fetch_artifact"),
		Entry("fetch_artifact still a var", "registry-image", nil, map[string]any{"fetch_artifact": "((fetch))"}, src(),
			"read params.fetch_artifact: ((fetch)) is unevaluated ((var))"),
		Entry("skip_download on a type that produces no image", "git", nil, map[string]any{"skip_download": true}, src(),
			"params.skip_download is true, but git is a base type that produces no image"),
		Entry("skip_download not a bool", "registry-image", nil, map[string]any{"skip_download": "yes"}, src(),
			"read params.skip_download"),
		Entry("a leftover var in the source", "registry-image", nil, nil, src("username", "((registry-user))"),
			"read source.username: ((registry-user)) is unevaluated ((var))"),
		Entry("a leftover var in the repository", "registry-image", nil, nil, map[string]any{"repository": "((registry))/app"},
			"read source.repository: ((registry)) is unevaluated"),
		Entry("an unknown source field", "registry-image", nil, nil, src("tagg", "1"),
			"decode source: invalid request: unknown field \"tagg\""),
		Entry("an invalid source", "registry-image", nil, nil, map[string]any{"repository": "UPPER/Case"},
			"invalid source.repository"),
		Entry("an ECR source that cannot work", "registry-image", nil, nil,
			src("aws_region", "eu-west-1", "aws_access_key_id", "AKIAEXAMPLE"), "invalid source.aws_secret_access_key: is required with source.aws_access_key_id"),
		Entry("an unknown param", "registry-image", nil, map[string]any{"formatt": "oci"}, src(),
			"decode params: invalid request: unknown field \"formatt\""),
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
			d, err := hook.New().Decide(context.Background(), hook.GetStep{Resource: hook.Resource{Type: "registry-image", Source: source}})
			if field == "password" {
				Expect(err).NotTo(HaveOccurred())
				Expect(d.Skip).To(BeTrue())
			}
			if err != nil {
				Expect(err.Error()).NotTo(ContainSubstring("((word))"), field)
			}
		}
	})

	It("marks unevaluated sources with ErrUnevaluated", func() {
		_, err := hook.New().Decide(context.Background(), hook.GetStep{
			Resource: hook.Resource{Type: "registry-image", Source: src("username", "((user))")},
		})
		Expect(errors.Is(err, hook.ErrUnevaluated)).To(BeTrue())
	})

	It("merges the type's defaults under the evaluated source", func() {
		t := withDefaults(customType("refimage", "registry-image", "registry-image"), map[string]any{"username": "robot", "tag": "stable"})
		d, err := hook.New().Decide(context.Background(), hook.GetStep{
			Resource:        hook.Resource{Type: "refimage", Source: src("tag", "((tag))")},
			ResourceTypes:   []hook.ResourceType{t},
			EvaluatedSource: src("tag", "1.2"),
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Source.Username).To(Equal("robot"))
		Expect(string(d.Source.Tag)).To(Equal("1.2"))
	})

	It("looks a type's label up once per image digest", func() {
		labels := &fakeLabels{labels: refimageLabels}
		h := hook.New(hook.WithLabeler(labels))
		step := hook.GetStep{Resource: hook.Resource{Type: "refimage", Source: src()},
			ResourceTypes: []hook.ResourceType{customType("refimage", "registry-image", "")}}
		for range 3 {
			d, err := h.Decide(context.Background(), step)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue())
		}
		Expect(labels.calls.Load()).To(Equal(int32(1)))
	})
})

var _ = Describe("DecideTypeImage", func() {
	DescribeTable("a custom type's own image",
		func(types []hook.ResourceType, typ string, skip bool, reason string) {
			d, err := hook.New(hook.WithLabeler(nil)).DecideTypeImage(context.Background(), types, typ)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(Equal(skip))
			Expect(d.Reason).To(ContainSubstring(reason))
		},
		Entry("fetched with registry-image", []hook.ResourceType{customType("refimage", "registry-image", "")}, "refimage", true,
			"no pod: type refimage is fetched with registry-image, and registry-image is the base type"),
		Entry("fetched with a type that produces images", []hook.ResourceType{
			customType("refimage", "registry-image", "registry-image"), customType("slack", "refimage", "")}, "slack", true,
			"no pod: type slack is fetched with refimage, and resource_types[refimage] declares produces: registry-image"),
		Entry("fetched with a type that does not", []hook.ResourceType{
			customType("old", "registry-image", ""), customType("slack", "old", "")}, "slack", false,
			"run a pod: type slack is fetched with old"),
		Entry("fetched with a base type that produces no image", []hook.ResourceType{customType("odd", "git", "")}, "odd", false,
			"git is a base type that produces no image"),
	)

	It("is an error for a name with no entry", func() {
		_, err := hook.New().DecideTypeImage(context.Background(), nil, "git")
		Expect(err).To(MatchError(ContainSubstring("no resource_types entry has that name")))
	})
})

var _ = Describe("StripControlParams", func() {
	It("removes fetch_artifact and leaves the caller's map alone", func() {
		params := map[string]any{"fetch_artifact": true, "format": "oci"}
		Expect(hook.StripControlParams(params)).To(Equal(map[string]any{"format": "oci"}))
		Expect(params).To(HaveKey("fetch_artifact"))
	})
	It("returns params without control params as they are", func() {
		Expect(hook.StripControlParams(map[string]any{"depth": 1.0})).To(Equal(map[string]any{"depth": 1.0}))
		Expect(hook.StripControlParams(nil)).To(BeNil())
	})
	It("strips a source too, for registry-image's own check and in", func() {
		source := map[string]any{"repository": "r", "fetch_artifact": true}
		Expect(hook.StripControlSource(source)).To(Equal(map[string]any{"repository": "r"}))
		Expect(source).To(HaveKey("fetch_artifact"))
	})
})

func withDefaults(t hook.ResourceType, defaults map[string]any) hook.ResourceType {
	t.Defaults = defaults
	return t
}
