package kube_test

import (
	"context"
	"errors"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/refimage/refimage/hook/kube"
)

// fakeConfigMaps is an in-memory ConfigMaps API with the API server's
// answers, as fakeSecrets is for Secrets, with List and a Delete that
// honours a resourceVersion precondition.
type fakeConfigMaps struct {
	objects map[string]*corev1.ConfigMap
	version int
	calls   []string
}

var configMapsResource = schema.GroupResource{Resource: "configmaps"}

func (f *fakeConfigMaps) Get(_ context.Context, name string, _ metav1.GetOptions) (*corev1.ConfigMap, error) {
	f.calls = append(f.calls, "get")
	cm, ok := f.objects[name]
	if !ok {
		return nil, apierrors.NewNotFound(configMapsResource, name)
	}
	return cm.DeepCopy(), nil
}

func (f *fakeConfigMaps) store(cm *corev1.ConfigMap) *corev1.ConfigMap {
	f.version++
	cm = cm.DeepCopy()
	cm.ResourceVersion = strconv.Itoa(f.version)
	f.objects[cm.Name] = cm
	return cm.DeepCopy()
}

func (f *fakeConfigMaps) Create(_ context.Context, cm *corev1.ConfigMap, _ metav1.CreateOptions) (*corev1.ConfigMap, error) {
	f.calls = append(f.calls, "create")
	if _, ok := f.objects[cm.Name]; ok {
		return nil, apierrors.NewAlreadyExists(configMapsResource, cm.Name)
	}
	return f.store(cm), nil
}

func (f *fakeConfigMaps) Update(_ context.Context, cm *corev1.ConfigMap, _ metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	f.calls = append(f.calls, "update")
	have, ok := f.objects[cm.Name]
	if !ok {
		return nil, apierrors.NewNotFound(configMapsResource, cm.Name)
	}
	if have.ResourceVersion != cm.ResourceVersion {
		return nil, apierrors.NewConflict(configMapsResource, cm.Name, errors.New("the object has been modified"))
	}
	return f.store(cm), nil
}

func (f *fakeConfigMaps) List(_ context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	sel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, err
	}
	list := &corev1.ConfigMapList{}
	for _, cm := range f.objects {
		if sel.Matches(labels.Set(cm.Labels)) {
			list.Items = append(list.Items, *cm.DeepCopy())
		}
	}
	return list, nil
}

func (f *fakeConfigMaps) Delete(_ context.Context, name string, opts metav1.DeleteOptions) error {
	have, ok := f.objects[name]
	if !ok {
		return apierrors.NewNotFound(configMapsResource, name)
	}
	if p := opts.Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != have.ResourceVersion {
		return apierrors.NewConflict(configMapsResource, name, errors.New("precondition failed"))
	}
	delete(f.objects, name)
	return nil
}

func (f *fakeSecrets) List(_ context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	sel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, err
	}
	list := &corev1.SecretList{}
	for _, s := range f.objects {
		if sel.Matches(labels.Set(s.Labels)) {
			list.Items = append(list.Items, *s.DeepCopy())
		}
	}
	return list, nil
}

func (f *fakeSecrets) Delete(_ context.Context, name string, opts metav1.DeleteOptions) error {
	have, ok := f.objects[name]
	if !ok {
		return apierrors.NewNotFound(secretsResource, name)
	}
	if p := opts.Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != have.ResourceVersion {
		return apierrors.NewConflict(secretsResource, name, errors.New("precondition failed"))
	}
	delete(f.objects, name)
	return nil
}

// fakePods lists the pods it holds.
type fakePods struct{ pods []corev1.Pod }

func (f *fakePods) List(context.Context, metav1.ListOptions) (*corev1.PodList, error) {
	return &corev1.PodList{Items: f.pods}, nil
}

var (
	_ kube.ConfigMapClient = (*fakeConfigMaps)(nil)
	_ kube.ConfigMapLister = (*fakeConfigMaps)(nil)
	_ kube.SecretLister    = (*fakeSecrets)(nil)
	_ kube.PodLister       = (*fakePods)(nil)
)
