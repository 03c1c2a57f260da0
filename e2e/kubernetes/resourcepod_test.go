//go:build kubernetes

package kubernetes_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// resourceStep is a check, get or put that runs as a pod, the way a
// runtime without the hook runs every step: the resource type's image,
// the request JSON on the script's stdin, /opt/resource/{check,in,out}.
type resourceStep struct {
	// script is check, in or out.
	script string
	// image is the resource type's image (refimage's, pinned).
	image   string
	request map[string]any
	// show are directories tasktool shows after the script, besides its own.
	show []string
	// inputImage is an image holding /build/image.tar, copied into the
	// put's source directory by an init container, as a build task's
	// output would be there.
	inputImage string
}

// resourceRun is what a resource pod reported: the script's stdout (the
// container's termination message, read through the API) and the pod's
// log (the script's stderr, then what tasktool show printed of the
// destination directory).
type resourceRun struct {
	pod      *corev1.Pod
	response []byte
	log      string
}

const (
	toolDir  = "/refimage-e2e/bin"
	buildDir = "/tmp/build/step"
)

// runResource runs one resource script in a pod and waits for it. The
// request goes in a Secret (it holds the source's credentials); the pod
// pulls the type's and the tool's images with the runtime's own pull
// Secret for the registry, as such a runtime must.
func (rt *runtime) runResource(ctx context.Context, step resourceStep, pullSecret string) (*resourceRun, error) {
	req, err := json.Marshal(step.request)
	if err != nil {
		return nil, err
	}
	reqSecret, err := rt.api.CoreV1().Secrets(rt.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: rt.meta(step.script+"-request", step.script),
		Data:       map[string][]byte{"request.json": req},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: the request Secret: %w", step.script, err)
	}
	pod := &corev1.Pod{ObjectMeta: rt.meta(step.script, stepLabel(step.script)), Spec: resourcePodSpec(step, reqSecret.Name, pullSecret)}
	run, err := rt.runPod(ctx, pod)
	if run == nil || run.pod == nil {
		return nil, err
	}
	out := &resourceRun{pod: run.pod, log: run.log}
	for _, st := range run.pod.Status.ContainerStatuses {
		if t := st.State.Terminated; t != nil {
			out.response = []byte(t.Message)
		}
	}
	return out, err
}

// stepLabel is the concourse.ci/step label: get pods are what the skip
// path must not create.
func stepLabel(script string) string {
	return map[string]string{"check": "check", "in": "get", "out": "put"}[script]
}

func resourcePodSpec(step resourceStep, requestSecret, pullSecret string) corev1.PodSpec {
	spec := basePodSpec()
	spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
	spec.Volumes = []corev1.Volume{
		{Name: "tool", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "build", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "request", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: requestSecret}}},
	}
	mounts := []corev1.VolumeMount{{Name: "tool", MountPath: toolDir}, {Name: "build", MountPath: buildDir}}
	// tasktool comes from the tool image: the resource's image has no
	// shell to redirect stdin with.
	install := []string{"/tasktool", "install", toolDir}
	if step.inputImage != "" {
		install = append(install, "/build/image.tar", buildDir+"/image")
	}
	spec.InitContainers = []corev1.Container{{Name: "tool", Image: toolRef, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: install, VolumeMounts: mounts}}
	if step.inputImage != "" {
		spec.InitContainers[0].Image = step.inputImage
	}
	args := []string{"resource", "/request/request.json", "/opt/resource/" + step.script}
	if step.script != "check" {
		args = append(append(args, buildDir), step.show...)
	}
	spec.Containers = []corev1.Container{{Name: step.script, Image: step.image, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{toolDir + "/tasktool"}, Args: args,
		VolumeMounts: append(mounts, corev1.VolumeMount{Name: "request", MountPath: "/request", ReadOnly: true})}}
	return spec
}

// runtimePullSecret is the dockerconfigjson Secret a runtime without the
// hook makes for a registry: the step's credentials, under a name of its own.
func (rt *runtime) runtimePullSecret(ctx context.Context, name string, u registryUser) (string, error) {
	auth := base64.StdEncoding.EncodeToString([]byte(u.name + ":" + u.password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{registryHost(): map[string]string{
		"username": u.name, "password": u.password, "auth": auth}}})
	if err != nil {
		return "", err
	}
	_, err = rt.api.CoreV1().Secrets(rt.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rt.ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return "", fmt.Errorf("runtime pull secret: %w", err)
	}
	return name, nil
}
