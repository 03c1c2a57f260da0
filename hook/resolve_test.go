package hook_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("Resolve", func() {
	var (
		reg *testRegistry
		h   *hook.Hook
		ctx = context.Background()
	)
	BeforeEach(func() {
		reg = startRegistry()
		h = mustNew(hook.WithLabeler(nil))
	})

	decide := func(source map[string]any, v resource.Version) hook.Decision {
		d, err := h.Decide(ctx, baseGet(source, nil, v))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue())
		return d
	}

	It("returns the version unchanged, in's files and metadata, and the pinned reference, with one HEAD", func() {
		digest := reg.push("team/app", "1.2", nil)
		repo := reg.Host + "/team/app"
		v := resource.Version{Tag: "1.2", Digest: digest.String()}
		res, err := h.Resolve(ctx, decide(map[string]any{"repository": repo}, v))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Version).To(Equal(v))
		Expect(res.FilesMap()).To(Equal(map[string]string{"repository": repo, "tag": "1.2", "digest": digest.String()}))
		Expect(res.Metadata).To(Equal([]resource.MetadataField{{Name: "repository", Value: repo}, {Name: "tag", Value: "1.2"}}))
		Expect(res.Reference).To(Equal(repo + "@" + digest.String()))
		Expect(res.ImageURL).To(Equal("docker:///" + repo + "@" + digest.String()))
		Expect(res.Registry).To(Equal(reg.Host))
		Expect(res.Auth).To(BeNil())
		Expect(res.Warnings).To(BeEmpty())
		counts := reg.Requests()
		Expect(counts.ManifestHEAD).To(Equal(1))
		Expect(counts.Total).To(Equal(counts.Ping+1), "one HEAD besides the auth ping: %+v", counts)

		By("making no request for a digest it has proven")
		again, err := h.Resolve(ctx, decide(map[string]any{"repository": repo}, v))
		Expect(err).NotTo(HaveOccurred())
		Expect(again).To(Equal(res))
		Expect(reg.Requests().Total).To(BeZero(), "not even a ping")
	})

	It("resolves a version with only a tag with one HEAD, and says so", func() {
		digest := reg.push("team/app", "moving", nil)
		res, err := h.Resolve(ctx, decide(map[string]any{"repository": reg.Host + "/team/app"}, resource.Version{Tag: "moving"}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Version).To(Equal(resource.Version{Tag: "moving", Digest: digest.String()}))
		Expect(res.Reference).To(HaveSuffix("@" + digest.String()))
		Expect(res.Warnings).To(ConsistOf(ContainSubstring(`version "moving" had no digest: resolved tag moving to ` + digest.String())))
		counts := reg.Requests()
		Expect(counts.ManifestHEAD).To(Equal(1))
		Expect(counts.Total).To(Equal(counts.Ping+1), "one HEAD besides the auth ping: %+v", counts)
	})

	DescribeTable("errors",
		func(version resource.Version, wantErr string) {
			reg.push("team/app", "1", nil)
			_, err := h.Resolve(ctx, decide(map[string]any{"repository": reg.Host + "/team/app"}, version))
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
		},
		Entry("neither digest nor tag: never latest", resource.Version{}, "the version has neither digest nor tag"),
		Entry("a tag that is not there", resource.Version{Tag: "nope"}, "tag nope is not in"),
		Entry("a digest that is not there", resource.Version{Tag: "1", Digest: "sha256:" + fmt.Sprintf("%064d", 0)}, "run check again"),
	)

	It("refuses a decision that needs a pod", func() {
		_, err := h.Resolve(ctx, hook.Decision{Reason: "run a pod: git"})
		Expect(err).To(MatchError(hook.ErrNotEligible))
	})

	It("uses the mirror, and its credentials, for a Docker Hub repository", func() {
		digest := reg.push("library/app", "1", nil)
		source := map[string]any{"repository": "app", "username": "hub-user", "password": "hub-pass",
			"registry_mirror": map[string]any{"host": reg.Host, "username": "mirror-user", "password": "mirror-pass"}}
		res, err := h.Resolve(ctx, decide(source, resource.Version{Tag: "1", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Reference).To(Equal(reg.Host + "/library/app@" + digest.String()))
		Expect(res.Registry).To(Equal(reg.Host))
		Expect(res.Auth).To(Equal(&resource.Credentials{Username: "mirror-user", Password: "mirror-pass"}))
		Expect(res.FilesMap()).To(HaveKeyWithValue("repository", "app"))
	})

	It("adds label_regex's labels to the metadata, as in does", func() {
		digest := reg.push("team/app", "1", map[string]string{"org.opencontainers.image.revision": "abc", "other": "x"})
		res, err := h.Resolve(ctx, decide(map[string]any{"repository": reg.Host + "/team/app", "label_regex": "^org\\."},
			resource.Version{Tag: "1", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Metadata).To(ContainElement(resource.MetadataField{Name: "org.opencontainers.image.revision", Value: "abc"}))
		Expect(res.Metadata).NotTo(ContainElement(HaveField("Name", "other")))
	})

	It("warns about what a pod spec cannot express", func() {
		digest := reg.push("team/app", "1", nil)
		res, err := h.Resolve(ctx, decide(map[string]any{"repository": reg.Host + "/team/app", "insecure": true},
			resource.Version{Tag: "1", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Warnings).To(ConsistOf(ContainSubstring("source.insecure is true: kubelet can pull from " + reg.Host + " only if every node")))
	})

	It("warns that kubelet, not source.platform, picks an index's image", func() {
		digest := reg.push("team/app", "1", nil)
		res, err := h.Resolve(ctx, decide(map[string]any{"repository": reg.Host + "/team/app", "insecure": true,
			"platform": map[string]any{"architecture": "arm64"}}, resource.Version{Tag: "1", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Warnings).To(ContainElement(ContainSubstring("run the task on linux/arm64 nodes")))
	})

	It("serves a cached image to a later caller even when the first one's context was cancelled", func() {
		digest := reg.push("team/app", "1", map[string]string{"org.example": "v"})
		annotations := map[string]any{"repository": reg.Host + "/team/app", "insecure": true, "annotation_regex": "^org"}
		labels := map[string]any{"repository": reg.Host + "/team/app", "insecure": true, "label_regex": "^org"}
		first, cancel := context.WithCancel(ctx)
		_, err := h.Resolve(first, decide(annotations, resource.Version{Tag: "1", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		cancel()
		res, err := h.Resolve(ctx, decide(labels, resource.Version{Tag: "1", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Metadata).To(ContainElement(resource.MetadataField{Name: "org.example", Value: "v"}))
	})
})

var _ = Describe("PinnedReference", func() {
	DescribeTable("is fully qualified",
		func(repo, want string) {
			r, err := name.NewRepository(repo)
			Expect(err).NotTo(HaveOccurred())
			d := "sha256:" + fmt.Sprintf("%064d", 1)
			Expect(hook.PinnedReference(r.Digest(d))).To(Equal(want + "@" + d))
		},
		Entry("an official Docker Hub image", "alpine", "docker.io/library/alpine"),
		Entry("a Docker Hub user's image", "concourse/registry-image-resource", "docker.io/concourse/registry-image-resource"),
		Entry("index.docker.io written out", "index.docker.io/library/busybox", "docker.io/library/busybox"),
		Entry("another registry with a port", "registry.example.test:5000/a/b/c", "registry.example.test:5000/a/b/c"),
	)
})

var _ = Describe("Check", func() {
	It("runs check in process for an eligible type, as the binary would", func() {
		reg := startRegistry()
		digest := reg.push("team/app", "1.0.0", nil)
		h := mustNew(hook.WithLabeler(nil))
		d, err := h.Decide(context.Background(), baseGet(map[string]any{"repository": reg.Host + "/team/app", "tag": "1.0.0"}, nil, resource.Version{}))
		Expect(err).NotTo(HaveOccurred())
		versions, warnings, err := h.Check(context.Background(), d, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(warnings).To(BeEmpty())
		Expect(versions).To(Equal(resource.CheckResponse{{Tag: "1.0.0", Digest: digest.String()}}))
	})
	It("refuses a type that produces no image", func() {
		_, _, err := mustNew().Check(context.Background(), hook.Decision{}, nil)
		Expect(err).To(MatchError(hook.ErrNotEligible))
	})
})

var _ = Describe("The label rule against a registry", func() {
	var (
		reg *testRegistry
		ctx = context.Background()
	)
	BeforeEach(func() { reg = startRegistry() })

	get := func(typeSource map[string]any, version map[string]string) hook.Get {
		return hook.Get{Type: "refimage", Source: map[string]any{"repository": "registry.example.test/team/app"},
			TypeImage: hook.TypeImage{BaseType: "registry-image", GetPlan: &hook.Get{Type: "registry-image", Source: typeSource,
				Version: version, TypeImage: hook.TypeImage{BaseType: "registry-image"}}}}
	}

	It("reads the label of the type's checked version once per digest", func() {
		digest := reg.push("types/refimage", "1", refimageLabels)
		h := mustNew()
		g := get(map[string]any{"repository": reg.Repo("types/refimage")}, map[string]string{"tag": "1", "digest": digest.String()})
		for range 2 {
			d, err := h.Decide(ctx, g)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue())
			Expect(d.Rule).To(Equal(hook.RuleLabel))
			Expect(d.Reason).To(ContainSubstring("the image of resource_types[refimage] (" + digest.String() + ") carries the label"))
		}
		counts := reg.Requests()
		Expect(counts.ManifestGET).To(Equal(1))
		Expect(counts.BlobGET).To(Equal(1), "the config blob, no layer")
	})

	It("checks a type with no checked version once per type and interval, however many decisions ask", func() {
		var digest string
		for i := range 50 {
			digest = reg.push("types/refimage", fmt.Sprintf("1.0.%d", i), refimageLabels).String()
		}
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		h := mustNew(hook.WithClock(func() time.Time { return now }))
		g := get(map[string]any{"repository": reg.Repo("types/refimage"), "semver_constraint": ">= 1.0.0"}, nil)
		d, err := h.Decide(ctx, g)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue())
		Expect(d.Reason).To(ContainSubstring(digest))
		first := reg.Requests()
		Expect(first.TagsList).To(Equal(1))
		GinkgoWriter.Printf("the first decision, with one check of 50 tags: %+v\n", first)

		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				d, err := h.Decide(ctx, g)
				Expect(err).NotTo(HaveOccurred())
				Expect(d.Skip).To(BeTrue())
			}()
		}
		wg.Wait()
		Expect(reg.Requests().Total).To(BeZero(), "no request within the interval")

		now = now.Add(2 * time.Minute)
		_, err = h.Decide(ctx, g)
		Expect(err).NotTo(HaveOccurred())
		Expect(reg.Requests().TagsList).To(Equal(1), "one check again once the interval has passed")
	})

	It("resolves a type given directly as an image by tag once per interval", func() {
		digest := reg.push("types/refimage", "2", refimageLabels)
		h := mustNew()
		g := hook.Get{Type: "refimage", Source: src(), TypeImage: hook.TypeImage{ImageRef: reg.Repo("types/refimage") + ":2"}}
		for range 3 {
			d, err := h.Decide(ctx, g)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue())
			Expect(d.Reason).To(ContainSubstring(digest.String()))
		}
		counts := reg.Requests()
		Expect(counts.ManifestHEAD).To(Equal(1))
		Expect(counts.ManifestGET).To(Equal(1))
	})

	It("runs a pod for a type whose image has no label", func() {
		digest := reg.push("types/other", "1", map[string]string{"maintainer": "someone"})
		d, err := mustNew().Decide(ctx, get(map[string]any{"repository": reg.Repo("types/other")}, map[string]string{"digest": digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeFalse())
		Expect(d.Reason).To(Equal("run a pod: resource_types[refimage] declares no produces, and its image " + digest.String() + " has no label io.github.refimage.produces=registry-image"))
	})

	It("runs a pod, and says why, when the type's image cannot be read", func() {
		d, err := mustNew().Decide(ctx, get(map[string]any{"repository": reg.Repo("types/missing")}, map[string]string{"digest": "sha256:" + fmt.Sprintf("%064d", 2)}))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeFalse())
		Expect(d.Reason).To(ContainSubstring("the labels of " + reg.Repo("types/missing") + "@sha256:"))
	})
})

var _ = Describe("Trusting pinned digests", func() {
	It("makes Decide and Resolve cost no request for a pinned digest; the default proves it with one HEAD", func() {
		reg := startRegistry()
		digest := reg.push("team/app", "1.2", nil)
		g := baseGet(map[string]any{"repository": reg.Host + "/team/app"}, nil, resource.Version{Tag: "1.2", Digest: digest.String()})
		for _, c := range []struct {
			opts  []hook.Option
			total int
		}{{[]hook.Option{hook.TrustPinnedDigests()}, 0}, {nil, 2}} {
			h := mustNew(c.opts...)
			d, err := h.Decide(context.Background(), g)
			Expect(err).NotTo(HaveOccurred())
			res, err := h.Resolve(context.Background(), d)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Reference).To(Equal(reg.Host + "/team/app@" + digest.String()))
			counts := reg.Requests()
			Expect(counts.Total).To(Equal(c.total), "%+v", counts)
		}
	})
})
