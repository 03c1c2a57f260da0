package hook_test

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
)

// A runtime at a get step (JetBridge's atc/exec/get_step.go): the plan's
// source and params are evaluated, the version chosen, and the type is as
// the plan carries it. The hook answers without a pod; with
// TrustPinnedDigests this makes no request at all, so the example runs
// offline.
func Example() {
	ctx := context.Background()

	// Once, when the runtime starts.
	h, err := hook.New(
		hook.WithBaseType("registry-image", "ghcr.io/refimage/refimage", hook.ImplRefimage),
		hook.TrustPinnedDigests(),
	)
	if err != nil {
		panic(err) // the runtime's configuration is wrong: refuse to start
	}

	// At each get step: atc.GetPlan, credentials evaluated.
	plan := hook.Get{
		Name:      "app-image",
		Type:      "registry-image",
		Source:    map[string]any{"repository": "registry.example.test/team/app", "username": "robot", "password": "s3cret"},
		Version:   map[string]string{"tag": "1.2", "digest": "sha256:" + strings.Repeat("ab", 32)},
		TypeImage: hook.TypeImage{BaseType: "registry-image"},
	}
	d, err := h.Decide(ctx, plan)
	if err != nil {
		panic(err) // fail the build with err's message
	}
	if !d.Skip {
		// Run the get pod as before, with d.PodSource(plan.Source) and
		// d.PodParams(plan.Params).
		return
	}
	r, err := h.Resolve(ctx, d)
	if err != nil {
		panic(err) // fail the build
	}
	// Record r.Version and r.Metadata as the step's result, as in's output.

	// The task pod that uses the get as image: and as an input, in one call.
	t, err := kube.ForTask(r, kube.Input{MountPath: "/tmp/build/1a2b/app-image"}, kube.WithNamespace("ci"))
	if err != nil {
		panic(err)
	}
	// t.Apply(ctx, clientset.CoreV1().Secrets("ci"), clientset.CoreV1().ConfigMaps("ci"))
	pod := corev1.PodSpec{Containers: []corev1.Container{{Name: "task"}}}
	t.AsImage(&pod, &pod.Containers[0])
	t.AsInput(&pod, &pod.Containers[0])

	fmt.Printf("%s\nrule: %s, in: %s, version: %s\n", d.Reason, d.Rule, d.In, r.Version.Tag)
	fmt.Println("image:", pod.Containers[0].Image, pod.Containers[0].ImagePullPolicy)
	fmt.Println("pull secret:", t.Secret.Type, pod.ImagePullSecrets[0].Name == t.Secret.Name)
	fmt.Println("input files:", t.ConfigMap.Data["repository"], t.ConfigMap.Data["tag"], "at", pod.Containers[0].VolumeMounts[0].MountPath)
	// Output:
	// no pod: registry-image is a base type that produces images and fetch_artifact is not set
	// rule: base-type, in: refimage, version: 1.2
	// image: registry.example.test/team/app@sha256:abababababababababababababababababababababababababababababababab IfNotPresent
	// pull secret: kubernetes.io/dockerconfigjson true
	// input files: registry.example.test/team/app 1.2 at /tmp/build/1a2b/app-image
}

// Gets that are not the hook's business run their pod, with the reason;
// Decide does not fail them.
func ExampleHook_Decide_pod() {
	h, _ := hook.New()
	for _, plan := range []hook.Get{
		{Type: "s3", Source: map[string]any{"bucket": "b"}, Params: map[string]any{"skip_download": true},
			TypeImage: hook.TypeImage{BaseType: "s3"}},
		{Type: "registry-image", Source: map[string]any{"repository": "registry.example.test/base", "fetch_artifact": true},
			Params: map[string]any{"format": "oci"}, TypeImage: hook.TypeImage{BaseType: "registry-image"}},
	} {
		d, err := h.Decide(context.Background(), plan)
		fmt.Println(d.Skip, err, d.Reason)
		fmt.Println("strip from the stock resource's source:", d.StripSource)
	}
	// Output:
	// false <nil> run a pod: s3 is a base type that produces no image
	// strip from the stock resource's source: []
	// false <nil> run a pod: params.format is "oci", which asks for the image's bytes as fetch_artifact: true does, so the step downloads the image's bytes (registry-image is a base type that produces images)
	// strip from the stock resource's source: [fetch_artifact]
}

// A custom type's image, as a plan carries it: a get of the type's image
// (its source and checked version, and its own type). The operator lists
// the images whose gets produce registry images.
func ExampleHook_Decide_customType() {
	h, _ := hook.New(hook.WithImageType(hook.ImplRefimage, "ghcr.io/refimage/refimage"))
	d, err := h.Decide(context.Background(), hook.Get{
		Type:   "refimage",
		Source: map[string]any{"repository": "registry.example.test/team/app"},
		TypeImage: hook.TypeImage{BaseType: "registry-image", GetPlan: &hook.Get{
			Type:      "registry-image",
			Source:    map[string]any{"repository": "ghcr.io/refimage/refimage"},
			Version:   map[string]string{"digest": "sha256:" + strings.Repeat("cd", 32)},
			TypeImage: hook.TypeImage{BaseType: "registry-image"},
		}},
	})
	fmt.Println(d.Skip, err, d.Rule)
	// Output:
	// true <nil> image-list
}
