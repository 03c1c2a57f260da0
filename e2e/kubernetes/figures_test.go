//go:build kubernetes

package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// figure is one way of running a get and the task that uses its image,
// measured on the node: nothing here is asserted beyond success.
type figure struct {
	how     string
	pods    int
	served  served
	seconds float64
}

// runImageTask is a task pod of a runtime without the hook: the image is
// the reference the get pod wrote, pulled with the runtime's own Secret.
func (rt *runtime) runImageTask(ctx context.Context, name, image, pullSecret string, args []string) (*taskRun, error) {
	spec := basePodSpec()
	spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
	spec.Containers = []corev1.Container{{Name: "task", Image: image, ImagePullPolicy: corev1.PullIfNotPresent, Args: args}}
	return rt.runPod(ctx, &corev1.Pod{ObjectMeta: rt.meta("task-"+name, "task"), Spec: spec})
}

var _ = Describe("figures: one get and one task, through the hook and through get pods", func() {
	It("measures pods, registry requests, bytes served and seconds from the step's start to the task's Succeeded", func(ctx SpecContext) {
		h, err := hook.New(hook.WithBaseType("registry-image", k8s.registry.repo(refimageRepo), hook.ImplRefimage))
		Expect(err).NotTo(HaveOccurred())
		rt := newRuntime(h, podNamespace)
		pullSecret, err := rt.runtimePullSecret(ctx, "runtime-registry-a", teamA)
		Expect(err).NotTo(HaveOccurred())
		typeImage := k8s.registry.repo(refimageRepo) + "@" + refimageDigest

		By("warming up: a check pod puts the resource's and the tool's images on the node, as a running runtime has them")
		mark, start := k8s.registry.mark(), time.Now()
		_, err = rt.runResource(ctx, resourceStep{script: "check", image: typeImage,
			request: map[string]any{"source": withTag(k8s.registry.source("e2e/tool", teamA), "1"), "version": nil}}, pullSecret)
		Expect(err).NotTo(HaveOccurred())
		warm := figure{how: "(warm-up) a check pod: pulls the type's image if new", pods: 1, served: k8s.registry.served(mark), seconds: time.Since(start).Seconds()}

		figures := []figure{warm, measureHook(ctx, rt)}
		for _, fetch := range []bool{false, true} {
			figures = append(figures, measureGetPod(ctx, rt, typeImage, pullSecret, fetch))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%-56s %4s %8s %4s %8s %4s %10s %7s\n", "one get + one task", "pods", "requests", "401", "manifest", "blob", "bytes", "seconds")
		for _, f := range figures {
			fmt.Fprintf(&b, "%-56s %4d %8d %4d %8d %4d %10d %7.1f\n", f.how, f.pods, f.served.Requests, f.served.Challenges,
				f.served.Manifests, f.served.Blobs, f.served.Bytes, f.seconds)
		}
		AddReportEntry("figures", b.String(), ReportEntryVisibilityAlways)
		fmt.Fprint(GinkgoWriter, b.String())
	})
})

// measureHook runs a get through the hook and a task in its image (an
// image the node has not pulled yet).
func measureHook(ctx context.Context, rt *runtime) figure {
	digest := pushApp("figures/hook:v1", "figures hook")
	pods, mark, start := rt.pods, k8s.registry.mark(), time.Now()
	r, _, err := rt.get(ctx, baseGet("app", "figures/hook", teamA, map[string]string{"tag": "v1", "digest": digest}))
	Expect(err).NotTo(HaveOccurred())
	run, err := rt.runTask(ctx, task{name: "figures-hook", image: r, inputs: map[string]*hook.Resolution{"app": r},
		args: []string{"show", "/etc"}})
	Expect(err).NotTo(HaveOccurred())
	Expect(run.log).To(ContainSubstring("/etc/marker: figures hook\n"))
	return figure{how: "the hook (no get pod)", pods: rt.pods - pods, served: k8s.registry.served(mark), seconds: time.Since(start).Seconds()}
}

// measureGetPod runs a get pod (reference mode, or the full download) and
// then a task in the image the get pod named.
func measureGetPod(ctx context.Context, rt *runtime, typeImage, pullSecret string, fetch bool) figure {
	repo, how, params := "figures/ref", "a get pod in reference mode", map[string]any{}
	if fetch {
		repo, how, params = "figures/full", "a get pod with the full download (fetch_artifact: true)", map[string]any{"fetch_artifact": true}
	}
	digest := pushApp(repo+":v1", how)
	pods, mark, start := rt.pods, k8s.registry.mark(), time.Now()
	run, err := rt.runResource(ctx, resourceStep{script: "in", image: typeImage, request: map[string]any{
		"source": k8s.registry.source(repo, teamA), "version": map[string]string{"tag": "v1", "digest": digest}, "params": params}}, pullSecret)
	Expect(err).NotTo(HaveOccurred())
	var got resource.VersionResponse
	Expect(json.Unmarshal(run.response, &got)).To(Succeed())
	ran, err := rt.runImageTask(ctx, strings.ReplaceAll(repo, "/", "-"), k8s.registry.repo(repo)+"@"+got.Version.Digest, pullSecret,
		[]string{"show", "/etc"})
	Expect(err).NotTo(HaveOccurred())
	Expect(ran.log).To(ContainSubstring("/etc/marker: " + how + "\n"))
	return figure{how: how, pods: rt.pods - pods, served: k8s.registry.served(mark), seconds: time.Since(start).Seconds()}
}
