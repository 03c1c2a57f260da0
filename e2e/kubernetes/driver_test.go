//go:build kubernetes

package kubernetes_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	. "github.com/onsi/ginkgo/v2"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
)

// client-go's SecretInterface is what kube.ApplySecret takes, as it is.
var _ kube.SecretClient = typedcorev1.SecretInterface(nil)

// podTimeout bounds every wait for a pod: a pod that neither ends nor
// reports a pull error by then is a failure, never a hang.
const podTimeout = 2 * time.Minute

// runtime is the part of a Kubernetes Concourse runtime that runs get and
// task steps, wired as docs/hook.md tells a runtime author: Decide, then
// Resolve for a get that needs no pod, then the task pod from hook/kube's
// objects, applied through client-go's typed clients.
type runtime struct {
	api  kubernetes.Interface
	hook *hook.Hook
	ns   string
	// labels go on the hook's Secrets and ConfigMaps: what outlives a
	// build (the team), as docs/hook.md says; build labels the pods only.
	labels map[string]string
	build  string
	// pods counts the pods this runtime created.
	pods int
}

func newRuntime(h *hook.Hook, ns string) *runtime {
	return &runtime{api: k8s.api, hook: h, ns: ns, labels: map[string]string{"concourse.ci/team": ns}, build: randomHex(4)}
}

// get runs a get step through the hook. It fails when the hook says the
// step needs a pod: the caller runs a get pod then (getPod).
func (rt *runtime) get(ctx context.Context, g hook.Get) (*hook.Resolution, hook.Decision, error) {
	d, err := rt.hook.Decide(ctx, g)
	if err != nil {
		return nil, d, fmt.Errorf("get %s: %w", g.Name, err)
	}
	if !d.Skip {
		return nil, d, fmt.Errorf("get %s: %s", g.Name, d.Reason)
	}
	r, err := rt.hook.Resolve(ctx, d)
	if err != nil {
		return nil, d, fmt.Errorf("get %s: %w", g.Name, err)
	}
	return r, d, nil
}

// task is a task step: its image: from a get, its inputs from gets, and
// the arguments of the image's entrypoint (tasktool).
type task struct {
	name   string
	image  *hook.Resolution
	inputs map[string]*hook.Resolution
	args   []string
	// noSecret leaves the pull Secret out (a pod of a runtime that forgot it).
	noSecret bool
}

// inputDir is where a task finds input name, as Concourse lays inputs out.
func inputDir(name string) string { return "/tmp/build/inputs/" + name }

// taskRun is what Kubernetes reported about a finished task pod.
type taskRun struct {
	pod *corev1.Pod
	log string
}

// imageID is the digest reference kubelet recorded for the task's container.
func (t taskRun) imageID() string {
	if len(t.pod.Status.ContainerStatuses) == 0 {
		return ""
	}
	return t.pod.Status.ContainerStatuses[0].ImageID
}

// runTask builds, applies and runs the task's pod and waits for it to end.
// When kubelet cannot pull the image, the hook hears of it (PullFailed), so
// that the next decision proves the digest again, as docs/hook.md asks.
func (rt *runtime) runTask(ctx context.Context, t task) (*taskRun, error) {
	pod, err := rt.taskPod(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.name, err)
	}
	run, err := rt.runPod(ctx, pod)
	if errors.As(err, new(pullFailure)) {
		if perr := rt.hook.PullFailed(t.image.Reference); perr != nil {
			return run, fmt.Errorf("%w; %w", err, perr)
		}
	}
	return run, err
}

// pullFailure is the driver's line for a pod whose image kubelet cannot get.
type pullFailure struct{ line string }

func (p pullFailure) Error() string { return p.line }

// taskPod is the pod spec docs/hook.md gives a runtime author: one call
// per role the get plays, with client-go's typed clients; kube.UseAsImage
// applies the pull Secret and makes the container pull the pinned
// reference with it, kube.UseAsInput applies the ConfigMap and mounts the
// get's files where the task expects its input.
func (rt *runtime) taskPod(ctx context.Context, t task) (*corev1.Pod, error) {
	spec := basePodSpec()
	spec.Containers = []corev1.Container{{Name: "task", Args: t.args}}
	c := &spec.Containers[0]
	opts := []kube.Option{kube.WithNamespace(rt.ns), kube.WithLabels(rt.labels)}
	if t.noSecret {
		c.Image, c.ImagePullPolicy = kube.TaskImage(t.image)
	} else if err := kube.UseAsImage(ctx, rt.api.CoreV1().Secrets(rt.ns), t.image, &spec, c, opts...); err != nil {
		return nil, err
	}
	for name, r := range t.inputs {
		if err := kube.UseAsInput(ctx, rt.api.CoreV1().ConfigMaps(rt.ns), r, inputDir(name), &spec, c, opts...); err != nil {
			return nil, err
		}
	}
	return &corev1.Pod{ObjectMeta: rt.meta("task-"+t.name, "task"), Spec: spec}, nil
}

func (rt *runtime) meta(prefix, step string) metav1.ObjectMeta {
	labels := map[string]string{"concourse.ci/step": step, "concourse.ci/build": rt.build}
	for k, v := range rt.labels {
		labels[k] = v
	}
	return metav1.ObjectMeta{GenerateName: prefix + "-", Namespace: rt.ns, Labels: labels}
}

// basePodSpec is what every pod of the node needs: there is no scheduler
// (the pod names its node), no service account tokens, no DNS.
func basePodSpec() corev1.PodSpec {
	no, grace := false, int64(1)
	return corev1.PodSpec{NodeName: nodeName, RestartPolicy: corev1.RestartPolicyNever,
		AutomountServiceAccountToken: &no, EnableServiceLinks: &no, DNSPolicy: corev1.DNSDefault,
		TerminationGracePeriodSeconds: &grace}
}

// runPod creates pod and waits until it ends, or until kubelet reports it
// cannot pull an image, or podTimeout. Every failure is one line naming
// the pod's step, the image and the cause.
func (rt *runtime) runPod(ctx context.Context, pod *corev1.Pod) (*taskRun, error) {
	created, err := rt.api.CoreV1().Pods(rt.ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s: %w", pod.GenerateName, err)
	}
	rt.pods++
	done, err := rt.waitPod(ctx, created.Name)
	if err != nil {
		// The step fails: its pod goes, or kubelet would go on retrying the pull.
		grace := int64(0)
		_ = rt.api.CoreV1().Pods(rt.ns).Delete(ctx, created.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
		return &taskRun{pod: done}, err
	}
	log, err := rt.api.CoreV1().Pods(rt.ns).GetLogs(done.Name, &corev1.PodLogOptions{Container: mainContainer(done)}).DoRaw(ctx)
	if err != nil {
		return &taskRun{pod: done}, fmt.Errorf("pod %s: read its log through the API: %w", done.Name, err)
	}
	run := &taskRun{pod: done, log: string(log)}
	if done.Status.Phase != corev1.PodSucceeded {
		return run, fmt.Errorf("pod %s (image %s) ended %s: %s", done.Name, mainImage(done), done.Status.Phase, lastLine(run.log))
	}
	return run, nil
}

func mainContainer(p *corev1.Pod) string { return p.Spec.Containers[0].Name }
func mainImage(p *corev1.Pod) string     { return p.Spec.Containers[0].Image }

func lastLine(s string) string {
	l := lines(s)
	if len(l) == 0 {
		return "(empty log)"
	}
	return l[len(l)-1]
}

// waitPod polls the pod until it ends or a container waits on an image it
// cannot get; then it returns the pod and, for a pull error, one line.
func (rt *runtime) waitPod(ctx context.Context, name string) (*corev1.Pod, error) {
	deadline := time.Now().Add(podTimeout)
	var p *corev1.Pod
	for time.Now().Before(deadline) {
		got, err := rt.api.CoreV1().Pods(rt.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return p, fmt.Errorf("pod %s: %w", name, err)
		}
		p = got
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			return p, nil
		}
		if err := pullError(p); err != nil {
			return p, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return p, fmt.Errorf("pod %s (image %s): not finished after %s: %s", name, mainImage(p), podTimeout, podState(p))
}

// pullError is kubelet's answer for a container that cannot get its
// image, as one line: the image, the reason and kubelet's message.
func pullError(p *corev1.Pod) error {
	statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, st := range statuses {
		w := st.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerError":
			// kubelet's message names the image three times over; its last
			// clause is the registry's answer.
			fmt.Fprintf(GinkgoWriter, "kubelet on pod %s: %s: %s\n", p.Name, w.Reason, w.Message)
			msg := strings.ReplaceAll(w.Message, "\n", " ")
			return pullFailure{fmt.Sprintf("pod %s: kubelet cannot pull image %s (%s): %s", p.Name, st.Image, w.Reason, msg[strings.LastIndex(msg, ": ")+2:])}
		}
	}
	return nil
}

func podState(p *corev1.Pod) string {
	if p == nil {
		return "never seen"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s", p.Status.Phase)
	for _, st := range p.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil {
			fmt.Fprintf(&b, ", %s waiting: %s %s", st.Name, w.Reason, w.Message)
		}
	}
	return b.String()
}
