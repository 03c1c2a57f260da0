//go:build kubernetes

package kubernetes_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/imagetest"
)

// pushLabelled pushes a task image with config labels as teamA.
func pushLabelled(repoTag string, labels map[string]string) string {
	img, err := toolImage(tool, map[string]string{"etc/marker": repoTag + "\n"}, labels)
	Expect(err).NotTo(HaveOccurred())
	digest, err := imagetest.Push(k8s.registry.repo(repoTag), img, k8s.registry.remote(teamA)...)
	Expect(err).NotTo(HaveOccurred())
	return digest
}

// pushApp pushes a task image (tasktool, and /etc/marker holding marker)
// to repoTag on the suite's registry as teamA and returns its digest.
func pushApp(repoTag, marker string) string {
	img, err := toolImage(tool, map[string]string{"etc/marker": marker + "\n"}, nil)
	Expect(err).NotTo(HaveOccurred())
	digest, err := imagetest.Push(k8s.registry.repo(repoTag), img, k8s.registry.remote(teamA)...)
	Expect(err).NotTo(HaveOccurred())
	return digest
}

// baseGet is a get plan of the base type registry-image.
func baseGet(name, repo string, u registryUser, version map[string]string) hook.Get {
	return hook.Get{Name: name, Type: "registry-image", Source: k8s.registry.source(repo, u), Version: version,
		TypeImage: hook.TypeImage{BaseType: "registry-image"}}
}

// expectInputFiles asserts the task's log shows the get's three files, as
// tasktool show prints them.
func expectInputFiles(log, input, repo, tag, digest string) {
	dir := inputDir(input)
	ExpectWithOffset(1, log).To(ContainSubstring(dir + ": digest repository tag\n"))
	ExpectWithOffset(1, log).To(ContainSubstring(dir + "/repository: " + k8s.registry.repo(repo) + "\n"))
	ExpectWithOffset(1, log).To(ContainSubstring(dir + "/tag: " + tag + "\n"))
	ExpectWithOffset(1, log).To(ContainSubstring(dir + "/digest: " + digest + "\n"))
}

// getPods counts the get pods of the runtime's build.
func getPods(rt *runtime) int {
	pods, err := k8s.api.CoreV1().Pods(rt.ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: "concourse.ci/step=get,concourse.ci/build=" + rt.build})
	Expect(err).NotTo(HaveOccurred())
	return len(pods.Items)
}

var _ = Describe("the skip path: a get answered by the hook, a task pod pulling the pinned image", func() {
	var rt *runtime
	BeforeEach(func() {
		h, err := hook.New(hook.WithBaseType("registry-image", k8s.registry.repo(refimageRepo), hook.ImplRefimage))
		Expect(err).NotTo(HaveOccurred())
		rt = newRuntime(h, podNamespace)
	})

	It("runs a task in the image of a registry-image get, with the get's files as its input, and no get pod", func(ctx SpecContext) {
		digest := pushApp("team/app:v1", "app v1")
		r, d, err := rt.get(ctx, baseGet("app", "team/app", teamA, map[string]string{"tag": "v1", "digest": digest}))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Rule).To(Equal(hook.RuleBaseType))
		Expect(r.Reference).To(Equal(k8s.registry.repo("team/app") + "@" + digest))

		run, err := rt.runTask(ctx, task{name: "unit", image: r, inputs: map[string]*hook.Resolution{"app": r},
			args: []string{"show", "/etc", inputDir("app")}})
		Expect(err).NotTo(HaveOccurred())
		Expect(run.pod.Status.Phase).To(BeEquivalentTo("Succeeded"))
		Expect(run.imageID()).To(HaveSuffix("@" + digest))
		Expect(run.log).To(ContainSubstring("/etc/marker: app v1\n"), "the task ran in the image it got")
		expectInputFiles(run.log, "app", "team/app", "v1", digest)
		Expect(run.pod.Spec.ImagePullSecrets).To(HaveLen(1))
		Expect(run.pod.Spec.ImagePullSecrets[0].Name).To(HavePrefix("refimage-pull-"))
		Expect(rt.pods).To(Equal(1))
		Expect(getPods(rt)).To(BeZero())
	})

	It("recognises a custom type by its image's label, and the task runs in the pinned image", func(ctx SpecContext) {
		digest := pushApp("team/labelled:v2", "labelled v2")
		// The runtime lists no image type: only the label of refimage's image, read from the registry, says it produces images.
		h, err := hook.New(hook.WithBaseType("registry-image", "docker.io/concourse/registry-image-resource", hook.ImplRegistryImage))
		Expect(err).NotTo(HaveOccurred())
		rt = newRuntime(h, podNamespace)
		typeGet := baseGet("", refimageRepo, teamA, map[string]string{"digest": refimageDigest})
		r, d, err := rt.get(ctx, hook.Get{Name: "app", Type: "refimage", Source: k8s.registry.source("team/labelled", teamA),
			Version: map[string]string{"tag": "v2", "digest": digest}, TypeImage: hook.TypeImage{GetPlan: &typeGet}})
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Rule).To(Equal(hook.RuleLabel), d.Reason)
		Expect(d.Reason).To(ContainSubstring(refimageDigest))

		run, err := rt.runTask(ctx, task{name: "labelled", image: r, inputs: map[string]*hook.Resolution{"app": r},
			args: []string{"show", "/etc", inputDir("app")}})
		Expect(err).NotTo(HaveOccurred())
		Expect(run.imageID()).To(HaveSuffix("@" + digest))
		Expect(run.log).To(ContainSubstring("/etc/marker: labelled v2\n"))
		expectInputFiles(run.log, "app", "team/labelled", "v2", digest)
		Expect(rt.pods).To(Equal(1))
		Expect(getPods(rt)).To(BeZero())
	})

	It("runs the digest passed: from upstream after the tag has moved", func(ctx SpecContext) {
		upstream := pushApp("team/moving:stable", "stable first")
		moved := pushApp("team/moving:stable", "stable second")
		Expect(moved).NotTo(Equal(upstream))
		r, _, err := rt.get(ctx, baseGet("app", "team/moving", teamA, map[string]string{"tag": "stable", "digest": upstream}))
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Version.Digest).To(Equal(upstream))

		run, err := rt.runTask(ctx, task{name: "passed", image: r, inputs: map[string]*hook.Resolution{"app": r},
			args: []string{"show", "/etc", inputDir("app")}})
		Expect(err).NotTo(HaveOccurred())
		Expect(run.imageID()).To(HaveSuffix("@" + upstream))
		Expect(run.log).To(ContainSubstring("/etc/marker: stable first\n"))
		Expect(run.log).NotTo(ContainSubstring("stable second"))
		expectInputFiles(run.log, "app", "team/moving", "stable", upstream)
		Expect(strings.Count(run.log, "/digest: ")).To(Equal(1))
	})

	It("gives a task the registry on the bridge and nothing else: not the kubelet's API, not an address beyond the host", func(ctx SpecContext) {
		digest := pushApp("team/net:v1", "net")
		r, _, err := rt.get(ctx, baseGet("app", "team/net", teamA, map[string]string{"tag": "v1", "digest": digest}))
		Expect(err).NotTo(HaveOccurred())
		kubeletAPI := fmt.Sprintf("%s:%d", nodeIP, kubeletPort)
		run, err := rt.runTask(ctx, task{name: "net", image: r, args: []string{"dial", registryHost(), kubeletAPI, "192.0.2.1:443"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(run.log).To(ContainSubstring("dial " + registryHost() + ": connected\n"))
		Expect(run.log).To(MatchRegexp(`dial ` + regexp.QuoteMeta(kubeletAPI) + `: .*connection refused`))
		Expect(run.log).To(MatchRegexp(`dial 192\.0\.2\.1:443: .*(network is unreachable|connection refused|no route to host)`))
	})

	It("mounts labels.json and metadata.json in the task's input when the get asks with fetch_metadata, as a full download writes them", func(ctx SpecContext) {
		digest := pushLabelled("team/meta:v1", map[string]string{"org.example.team": "k8s-e2e"})
		g := baseGet("app", "team/meta", teamA, map[string]string{"tag": "v1", "digest": digest})
		g.Params = map[string]any{"fetch_metadata": true}
		r, d, err := rt.get(ctx, g)
		Expect(err).NotTo(HaveOccurred(), d.Reason)
		run, err := rt.runTask(ctx, task{name: "meta", image: r, inputs: map[string]*hook.Resolution{"app": r},
			args: []string{"show", inputDir("app")}})
		Expect(err).NotTo(HaveOccurred())
		dir := inputDir("app")
		Expect(run.log).To(ContainSubstring(dir + ": digest labels.json metadata.json repository tag\n"))
		Expect(run.log).To(ContainSubstring(dir + `/labels.json: {"org.example.team":"k8s-e2e"}` + "\n"))
		Expect(run.log).To(ContainSubstring(dir + `/metadata.json: {"cmd":null,"entrypoint":["/tasktool"],"env":["PATH=/"],"user":""}` + "\n"))

		By("the same bytes as a get pod's full download writes")
		pullSecret, err := rt.runtimePullSecret(ctx, "runtime-registry-a", teamA)
		Expect(err).NotTo(HaveOccurred())
		full, err := rt.runResource(ctx, resourceStep{script: "in", image: k8s.registry.repo(refimageRepo) + "@" + refimageDigest,
			request: map[string]any{"source": g.Source, "version": g.Version, "params": map[string]any{"fetch_artifact": true}}}, pullSecret)
		Expect(err).NotTo(HaveOccurred())
		for _, f := range []string{"labels.json", "metadata.json"} {
			Expect(full.log).To(ContainSubstring(buildDir + "/" + f + ": " + string(r.FilesMap()[f])))
		}
	})
})
