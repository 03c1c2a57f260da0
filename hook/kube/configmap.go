package kube

import (
	"context"
	"errors"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
	return apply(ctx, c, applied[*corev1.ConfigMap]{kind: "configmap", name: cm.Name,
		fresh: func(now time.Time) *corev1.ConfigMap {
			fresh := cm.DeepCopy()
			stamp(&fresh.ObjectMeta, now)
			return fresh
		},
		want: func(existing *corev1.ConfigMap, now time.Time) (*corev1.ConfigMap, bool, error) {
			if !maps.Equal(existing.Data, cm.Data) {
				return nil, false, errors.New("it exists with other data: it is not refimage's; delete or rename it")
			}
			want := existing.DeepCopy()
			want.Labels = added(want.Labels, cm.Labels)
			stale := stamp(&want.ObjectMeta, now)
			return want, stale || !maps.Equal(want.Labels, existing.Labels), nil
		},
	})
}
