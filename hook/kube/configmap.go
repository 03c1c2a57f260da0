package kube

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnnotationApplied is when ApplySecret or ApplyConfigMap last marked an
// object as in use (RFC 3339, UTC): Collect keeps an object marked within
// its grace period, so that one applied for a pod that is not created yet
// is not deleted under it.
const AnnotationApplied = "refimage.github.io/applied"

// StampInterval is how stale AnnotationApplied may be before an apply
// refreshes it (one Update): an unchanged object costs one Get in between.
// Collect's grace period must be longer, by at least the time a runtime
// takes from an apply to creating its pod.
const StampInterval = 10 * time.Minute

// stamp refreshes m's AnnotationApplied when it is missing, unreadable or
// older than StampInterval, and reports whether it did.
func stamp(m *metav1.ObjectMeta, now time.Time) bool {
	if t, err := time.Parse(time.RFC3339, m.Annotations[AnnotationApplied]); err == nil && now.Sub(t) < StampInterval {
		return false
	}
	m.Annotations = merged(m.Annotations, map[string]string{AnnotationApplied: now.UTC().Format(time.RFC3339)})
	return true
}

// ConfigMapClient is the part of a Kubernetes client ApplyConfigMap uses.
// client-go's typed ConfigMapInterface (clientset.CoreV1().ConfigMaps(ns))
// satisfies it as it is.
type ConfigMapClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error)
	Create(ctx context.Context, configMap *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error)
	Update(ctx context.Context, configMap *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error)
}

// ApplyConfigMap creates cm (InputFiles' ConfigMap), or leaves the one of
// that name as it is: it is named after its contents, so one of that name
// holds the same files. One that holds other data is an error (it is not
// refimage's). Labels are added where missing and never changed, as
// ApplySecret's; AnnotationApplied is refreshed as there. A nil cm applies
// nothing. A ConfigMap deleted between the Get and an Update is created
// again; lost races are retried, three attempts in all.
func ApplyConfigMap(ctx context.Context, c ConfigMapClient, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	if cm == nil {
		return nil, nil
	}
	var err error
	for range applyAttempts {
		var existing *corev1.ConfigMap
		existing, err = c.Get(ctx, cm.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			fresh := cm.DeepCopy()
			stamp(&fresh.ObjectMeta, time.Now())
			var created *corev1.ConfigMap
			created, err = c.Create(ctx, fresh, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return created, wrapCM("create", cm.Name, err)
		}
		if err != nil {
			return nil, wrapCM("get", cm.Name, err)
		}
		if !maps.Equal(existing.Data, cm.Data) {
			return nil, fmt.Errorf("apply configmap %s: it exists with other data: it is not refimage's; delete or rename it", cm.Name)
		}
		want := existing.DeepCopy()
		want.Labels = added(want.Labels, cm.Labels)
		if !stamp(&want.ObjectMeta, time.Now()) && maps.Equal(want.Labels, existing.Labels) {
			return existing, nil
		}
		var updated *corev1.ConfigMap
		updated, err = c.Update(ctx, want, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			continue
		}
		return updated, wrapCM("update", cm.Name, err)
	}
	return nil, fmt.Errorf("apply configmap %s: another writer changed it %d times in a row: %w", cm.Name, applyAttempts, err)
}

func wrapCM(verb, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s configmap %s: %w", verb, name, err)
}
