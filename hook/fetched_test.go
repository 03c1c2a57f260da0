package hook_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// atcMetadataField is Concourse's atc.MetadataField, as a runtime declares it.
type atcMetadataField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

var _ = Describe("ResolveFetched", func() {
	ctx := context.Background()

	It("gives a get that ran its pod the pinned reference, credentials, files and metadata a skipped get of that version gets", func() {
		reg := startRegistry()
		h := mustNew(hook.WithLabeler(nil))
		digest := reg.push("team/app", "1.2", map[string]string{"org.example.team": "core"})
		source := map[string]any{"repository": reg.Host + "/team/app", "username": "robot", "password": "s3cret",
			"label_regex": "^org\\.example\\."}
		fetched, err := h.Decide(ctx, baseGet(source, map[string]any{"fetch_artifact": true}, resource.Version{Tag: "1.2"}))
		Expect(err).NotTo(HaveOccurred())
		Expect(fetched.Skip).To(BeFalse(), fetched.Reason)
		_, err = h.Resolve(ctx, fetched)
		Expect(err).To(MatchError(ContainSubstring("the decision is to run a pod")), "Resolve alone refuses it")

		emitted := map[string]string{"tag": "1.2", "digest": digest.String()} // what the pod printed
		got, err := h.ResolveFetched(ctx, fetched, emitted)
		Expect(err).NotTo(HaveOccurred())

		skipped, err := h.Decide(ctx, baseGet(source, nil, resource.Version{Tag: "1.2", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(skipped.Skip).To(BeTrue())
		want, err := h.Resolve(ctx, skipped)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(want))
		Expect(got.Reference).To(Equal(reg.Host + "/team/app@" + digest.String()))
		Expect(got.Auth).To(Equal(&resource.Credentials{Username: "robot", Password: "s3cret"}))
		Expect(hook.Metadata[atcMetadataField](got)).To(Equal([]atcMetadataField{
			{Name: "repository", Value: reg.Host + "/team/app"}, {Name: "tag", Value: "1.2"}, {Name: "org.example.team", Value: "core"}}))
		Expect(hook.Metadata[atcMetadataField](nil)).To(BeNil(), "a get the hook did not answer")
	})

	DescribeTable("refuses what has no image to pin",
		func(get hook.Get, emitted map[string]string, wantErr string) {
			h := mustNew(hook.WithLabeler(nil))
			d, err := h.Decide(ctx, get)
			Expect(err).NotTo(HaveOccurred())
			_, err = h.ResolveFetched(ctx, d, emitted)
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
		},
		Entry("a type that produces no image", hook.Get{Type: "git", Source: map[string]any{"uri": "x"}, TypeImage: hook.TypeImage{BaseType: "git"}},
			map[string]string{"ref": "abc"}, "the type does not produce a registry image"),
		Entry("a version of another shape", baseGet(map[string]any{"repository": "registry.example.test/app"}, map[string]any{"fetch_artifact": true}, resource.Version{}),
			map[string]string{"ref": "abc"}, `version has the field "ref"`),
		Entry("a malformed digest", baseGet(map[string]any{"repository": "registry.example.test/app"}, map[string]any{"fetch_artifact": true}, resource.Version{}),
			map[string]string{"digest": "sha256:abc123def456"}, "is not a digest"),
	)
})
