//go:build kubernetes

package kubernetes_test

import (
	"context"
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// withTag is source with a tag set.
func withTag(source map[string]any, tag string) map[string]any {
	out := map[string]any{"tag": tag}
	for k, v := range source {
		out[k] = v
	}
	return out
}

var _ = Describe("the pod path: refimage's image runs check, in and out as pods, as a runtime without the hook runs them", func() {
	var (
		rt         *runtime
		pullSecret string
		typeImage  string
	)
	BeforeEach(func(ctx SpecContext) {
		h, err := hook.New(hook.WithBaseType("registry-image", k8s.registry.repo(refimageRepo), hook.ImplRefimage))
		Expect(err).NotTo(HaveOccurred())
		rt = newRuntime(h, podNamespace)
		pullSecret, err = rt.runtimePullSecret(ctx, "runtime-registry-a", teamA)
		Expect(err).NotTo(HaveOccurred())
		typeImage = k8s.registry.repo(refimageRepo) + "@" + refimageDigest
	})

	It("checks, gets the reference only in a pod, gets the rootfs when asked, puts, and the next get pins what was put", func(ctx SpecContext) {
		digest := pushApp("team/podpath:v1", "podpath v1")
		source := withTag(k8s.registry.source("team/podpath", teamA), "v1")

		By("check: the tag's digest")
		run, err := rt.runResource(ctx, resourceStep{script: "check", image: typeImage,
			request: map[string]any{"source": source, "version": nil}}, pullSecret)
		Expect(err).NotTo(HaveOccurred())
		var versions []resource.Version
		Expect(json.Unmarshal(run.response, &versions)).To(Succeed(), string(run.response))
		Expect(versions).To(Equal([]resource.Version{{Tag: "v1", Digest: digest}}))

		By("in with no params: the reference only, because it runs in a pod")
		version := map[string]string{"tag": "v1", "digest": digest}
		run, err = rt.runResource(ctx, resourceStep{script: "in", image: typeImage,
			request: map[string]any{"source": source, "version": version, "params": map[string]any{}}}, pullSecret)
		Expect(err).NotTo(HaveOccurred())
		Expect(run.log).To(ContainSubstring("KUBERNETES_SERVICE_HOST is set"))
		Expect(run.log).To(ContainSubstring(buildDir + ": digest repository tag\n"))
		Expect(run.log).To(ContainSubstring(buildDir + "/digest: " + digest + "\n"))
		var got resource.VersionResponse
		Expect(json.Unmarshal(run.response, &got)).To(Succeed(), string(run.response))
		Expect(got.Version).To(Equal(resource.Version{Tag: "v1", Digest: digest}))

		By("in with fetch_artifact: true: the rootfs")
		run, err = rt.runResource(ctx, resourceStep{script: "in", image: typeImage, show: []string{buildDir + "/rootfs/etc"},
			request: map[string]any{"source": source, "version": version, "params": map[string]any{"fetch_artifact": true}}}, pullSecret)
		Expect(err).NotTo(HaveOccurred())
		Expect(run.log).To(ContainSubstring("params.fetch_artifact is true"))
		Expect(run.log).To(MatchRegexp(buildDir + `: digest .*repository rootfs tag\n`))
		Expect(run.log).To(ContainSubstring(buildDir + "/rootfs/etc/marker: podpath v1\n"))

		By("out: pushes the build's image")
		putSource := withTag(k8s.registry.source("team/pushed", teamA), "release")
		run, err = rt.runResource(ctx, resourceStep{script: "out", image: typeImage, inputImage: builderRef,
			request: map[string]any{"source": putSource, "params": map[string]any{"image": "image/image.tar"}}}, pullSecret)
		Expect(err).NotTo(HaveOccurred())
		var put resource.VersionResponse
		Expect(json.Unmarshal(run.response, &put)).To(Succeed(), string(run.response))
		Expect(put.Version.Tag).To(Equal("release"))
		Expect(put.Version.Digest).To(HavePrefix("sha256:"))

		By("the next get (fetch_artifact: true, a pod even with the hook) pins what was put; ResolveFetched gives the task that digest")
		expectNextGetPins(ctx, rt, putSource, put.Version, typeImage, pullSecret)
	})
})

// expectNextGetPins runs the get after a put as a runtime with the hook
// runs a get that asks for the bytes: Decide says pod, the in pod writes
// the rootfs of the version the put emitted, ResolveFetched turns that
// version into the task's pinned image, and the task runs in it.
func expectNextGetPins(ctx context.Context, rt *runtime, putSource map[string]any, put resource.Version, typeImage, pullSecret string) {
	next := baseGet("pushed", "team/pushed", teamA, map[string]string{"tag": put.Tag, "digest": put.Digest})
	next.Source, next.Params = putSource, map[string]any{"fetch_artifact": true}
	d, err := rt.hook.Decide(ctx, next)
	Expect(err).NotTo(HaveOccurred())
	Expect(d.Skip).To(BeFalse(), d.Reason)
	run, err := rt.runResource(ctx, resourceStep{script: "in", image: typeImage, show: []string{buildDir + "/rootfs/etc"},
		request: map[string]any{"source": d.PodSource(next.Source), "version": put, "params": d.PodParams(next.Params)}}, pullSecret)
	Expect(err).NotTo(HaveOccurred())
	Expect(run.log).To(ContainSubstring(buildDir + "/digest: " + put.Digest + "\n"))
	Expect(run.log).To(ContainSubstring(buildDir + "/rootfs/etc/marker: pushed by out\n"))
	var emitted resource.VersionResponse
	Expect(json.Unmarshal(run.response, &emitted)).To(Succeed(), string(run.response))
	r, err := rt.hook.ResolveFetched(ctx, d, map[string]string{"tag": emitted.Version.Tag, "digest": emitted.Version.Digest})
	Expect(err).NotTo(HaveOccurred())
	Expect(getPods(rt)).To(Equal(3), "the three in pods are this build's get pods")
	ran, err := rt.runTask(ctx, task{name: "after-put", image: r, args: []string{"show", "/etc"}})
	Expect(err).NotTo(HaveOccurred())
	Expect(ran.imageID()).To(HaveSuffix("@" + put.Digest))
	Expect(ran.log).To(ContainSubstring("/etc/marker: pushed by out\n"))
}
