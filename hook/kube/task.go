package kube

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook"
)

// Task is everything a task pod needs from one Resolution: as its image
// (the pinned reference, the pull policy and the pull Secret) and as an
// input (the ConfigMap with the get's files, its volume and mount).
type Task struct {
	Image      string
	PullPolicy corev1.PullPolicy
	// Secret is nil for an anonymous pull.
	Secret    *corev1.Secret
	ConfigMap *corev1.ConfigMap
	Volume    corev1.Volume
	Mount     corev1.VolumeMount
}

// ForTask turns r into everything a task pod needs, in one call: TaskImage,
// PullSecret and InputFiles with the same options. in.MountPath is where a
// task that takes the get as an input finds its files; leave it empty for
// a get used only as the task's image.
func ForTask(r *hook.Resolution, in Input, opts ...Option) (*Task, error) {
	secret, err := PullSecret(r, opts...)
	if err != nil {
		return nil, err
	}
	t := &Task{Secret: secret}
	t.Image, t.PullPolicy = TaskImage(r)
	t.ConfigMap, t.Volume, t.Mount = InputFiles(r, in, opts...)
	return t, nil
}

// Apply creates or updates, with the runtime's own clients, the pull
// Secret (ApplySecret) when secrets is not nil, and the ConfigMap
// (ApplyConfigMap) when configMaps is not nil: pass only the client of the
// role the get plays in the task (image, input, or both).
func (t *Task) Apply(ctx context.Context, secrets SecretClient, configMaps ConfigMapClient) error {
	if secrets != nil {
		if _, err := ApplySecret(ctx, secrets, t.Secret); err != nil {
			return err
		}
	}
	if configMaps != nil {
		if _, err := ApplyConfigMap(ctx, configMaps, t.ConfigMap); err != nil {
			return err
		}
	}
	return nil
}

// AsImage makes the get the image of c (when c is not nil) and lets pod
// pull it: the pinned reference, its pull policy, and the pull Secret in
// the pod's imagePullSecrets (once).
func (t *Task) AsImage(pod *corev1.PodSpec, c *corev1.Container) {
	if c != nil {
		c.Image, c.ImagePullPolicy = t.Image, t.PullPolicy
	}
	if t.Secret == nil {
		return
	}
	ref := corev1.LocalObjectReference{Name: t.Secret.Name}
	if !slices.Contains(pod.ImagePullSecrets, ref) {
		pod.ImagePullSecrets = append(pod.ImagePullSecrets, ref)
	}
}

// AsInput gives c the get's files at the input's path. When c already
// mounts a volume there (the artifact volume a runtime made for the
// input), that volume is replaced by the ConfigMap's, under its name, and
// the mount made read-only; otherwise the volume and mount are added.
func (t *Task) AsInput(pod *corev1.PodSpec, c *corev1.Container) {
	vol, mount := t.Volume, t.Mount
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == mount.MountPath })
	if i >= 0 {
		vol.Name, mount.Name = c.VolumeMounts[i].Name, c.VolumeMounts[i].Name
		c.VolumeMounts[i] = mount
	} else {
		c.VolumeMounts = append(c.VolumeMounts, mount)
	}
	j := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vol.Name })
	if j >= 0 {
		pod.Volumes[j] = vol
	} else {
		pod.Volumes = append(pod.Volumes, vol)
	}
}

// UseAsImage is ForTask, Apply and AsImage in one call, for a task whose
// image: is the get: it applies the pull Secret with secrets and makes c
// pull the pinned reference with it. A nil r (an image the hook did not
// resolve) changes nothing.
func UseAsImage(ctx context.Context, secrets SecretClient, r *hook.Resolution, pod *corev1.PodSpec, c *corev1.Container, opts ...Option) error {
	if r == nil {
		return nil
	}
	t, err := ForTask(r, Input{}, opts...)
	if err == nil {
		err = t.Apply(ctx, secrets, nil)
	}
	if err != nil {
		return fmt.Errorf("use %s as the task's image: %w", r.Reference, err)
	}
	t.AsImage(pod, c)
	return nil
}

// UseAsInput is ForTask, Apply and AsInput in one call, for a task that
// takes the get as an input at mountPath: it applies the ConfigMap with
// configMaps and mounts its files there in c. A nil r (an input the hook
// did not resolve) changes nothing.
func UseAsInput(ctx context.Context, configMaps ConfigMapClient, r *hook.Resolution, mountPath string, pod *corev1.PodSpec, c *corev1.Container, opts ...Option) error {
	if r == nil {
		return nil
	}
	t, err := ForTask(r, Input{MountPath: mountPath}, opts...)
	if err == nil {
		err = t.Apply(ctx, nil, configMaps)
	}
	if err != nil {
		return fmt.Errorf("give the task the files of %s at %s: %w", r.Reference, mountPath, err)
	}
	t.AsInput(pod, c)
	return nil
}
