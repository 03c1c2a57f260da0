package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SecretLister is the part of client-go's typed SecretInterface Collect
// uses for pull Secrets; ConfigMapLister the same for ConfigMaps, and
// PodLister the part of PodInterface. client-go's typed clients satisfy them
// as they are.
type SecretLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// ConfigMapLister: see SecretLister.
type ConfigMapLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// PodLister: see SecretLister.
type PodLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error)
}

// Collector removes the pull Secrets and input ConfigMaps refimage made in
// one namespace that no pod can still need. Secrets or ConfigMaps may be
// nil (that kind is not collected); Pods is required.
type Collector struct {
	Secrets    SecretLister
	ConfigMaps ConfigMapLister
	Pods       PodLister
	// Grace is how long after its last apply (AnnotationApplied, else its
	// creation) an object is kept even when no pod refers to it yet: it
	// must cover StampInterval plus the time from an apply to the pod's
	// creation. Zero means one hour.
	Grace time.Duration
	// Now replaces time.Now; for tests.
	Now func() time.Time
}

// selector finds what refimage made, whoever labelled it further.
func selector(component string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelComponent + "=" + component}
}

// Collect deletes, by reference, what no pod in the namespace refers to
// (as an image pull Secret, or as a ConfigMap volume) unless it was applied
// within the grace period. A pod that has finished (Succeeded or Failed)
// pulls nothing more and does not count. Objects are shared by every
// pipeline and team with the same credentials or files, so collecting by
// their labels, or by a build, would delete one another's pod still needs;
// collect with this, or not at all. Each delete is conditional on the
// object's resourceVersion: one applied again meanwhile stays. It returns
// the names it deleted.
func (c Collector) Collect(ctx context.Context) ([]string, error) {
	grace, now := c.Grace, time.Now
	if grace <= 0 {
		grace = time.Hour
	}
	if c.Now != nil {
		now = c.Now
	}
	if c.Pods == nil {
		return nil, errors.New("collect: no pod client: without the pods, nothing is known to be unused")
	}
	used, err := c.used(ctx)
	if err != nil {
		return nil, err
	}
	var candidates []collectable
	if c.Secrets != nil {
		list, err := c.Secrets.List(ctx, selector("pull-secret"))
		if err != nil {
			return nil, fmt.Errorf("collect: list secrets: %w", err)
		}
		for _, s := range list.Items {
			candidates = append(candidates, collectable{"secret", s.ObjectMeta, c.Secrets.Delete})
		}
	}
	if c.ConfigMaps != nil {
		list, err := c.ConfigMaps.List(ctx, selector("get-files"))
		if err != nil {
			return nil, fmt.Errorf("collect: list configmaps: %w", err)
		}
		for _, cm := range list.Items {
			candidates = append(candidates, collectable{"configmap", cm.ObjectMeta, c.ConfigMaps.Delete})
		}
	}
	var deleted []string
	for _, o := range candidates {
		if used[o.kind+"/"+o.meta.Name] || now().Sub(lastApplied(o.meta)) < grace {
			continue
		}
		pre := &metav1.Preconditions{ResourceVersion: &o.meta.ResourceVersion}
		if o.meta.UID != "" {
			pre.UID = &o.meta.UID
		}
		err := o.delete(ctx, o.meta.Name, metav1.DeleteOptions{Preconditions: pre})
		switch {
		case err == nil:
			deleted = append(deleted, o.meta.Name)
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			// gone already, or applied again since the list: keep it
		default:
			return deleted, fmt.Errorf("collect: delete %s %s: %w", o.kind, o.meta.Name, err)
		}
	}
	return deleted, nil
}

// used lists what the namespace's pods that may still pull or mount refer
// to, as "secret/NAME" and "configmap/NAME".
func (c Collector) used(ctx context.Context) (map[string]bool, error) {
	pods, err := c.Pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("collect: list pods: %w", err)
	}
	used := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, s := range p.Spec.ImagePullSecrets {
			used["secret/"+s.Name] = true
		}
		for _, v := range p.Spec.Volumes {
			if v.ConfigMap != nil {
				used["configmap/"+v.ConfigMap.Name] = true
			}
		}
	}
	return used, nil
}

type collectable struct {
	kind   string
	meta   metav1.ObjectMeta
	delete func(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// lastApplied is AnnotationApplied, or the creation time without it.
func lastApplied(m metav1.ObjectMeta) time.Time {
	if t, err := time.Parse(time.RFC3339, m.Annotations[AnnotationApplied]); err == nil {
		return t
	}
	return m.CreationTimestamp.Time
}
