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

// object is what the fake API stores: a Secret or a ConfigMap.
type object interface {
	*corev1.Secret | *corev1.ConfigMap
	metav1.Object
}

// fakeAPI is an in-memory API of one kind with the API server's answers
// (NotFound, AlreadyExists, Conflict on a stale resourceVersion, a Delete
// that honours its resourceVersion precondition), and a hook to let another
// writer act between a Get and the write that follows.
type fakeAPI[T object] struct {
	objects map[string]T
	version int
	calls   []string
	// between runs after each Get, as another writer would.
	between  func(f *fakeAPI[T])
	resource schema.GroupResource
	copy     func(T) T
}

func (f *fakeAPI[T]) Get(_ context.Context, name string, _ metav1.GetOptions) (T, error) {
	f.calls = append(f.calls, "get")
	o, ok := f.objects[name]
	if f.between != nil {
		defer f.between(f)
	}
	if !ok {
		return nil, apierrors.NewNotFound(f.resource, name)
	}
	return f.copy(o), nil
}

// store writes o as the API server would, with a new resourceVersion.
func (f *fakeAPI[T]) store(o T) T {
	f.version++
	o = f.copy(o)
	o.SetResourceVersion(strconv.Itoa(f.version))
	f.objects[o.GetName()] = o
	return f.copy(o)
}

func (f *fakeAPI[T]) Create(_ context.Context, o T, _ metav1.CreateOptions) (T, error) {
	f.calls = append(f.calls, "create")
	if _, ok := f.objects[o.GetName()]; ok {
		return nil, apierrors.NewAlreadyExists(f.resource, o.GetName())
	}
	return f.store(o), nil
}

func (f *fakeAPI[T]) Update(_ context.Context, o T, _ metav1.UpdateOptions) (T, error) {
	f.calls = append(f.calls, "update")
	have, ok := f.objects[o.GetName()]
	if !ok {
		return nil, apierrors.NewNotFound(f.resource, o.GetName())
	}
	if have.GetResourceVersion() != o.GetResourceVersion() {
		return nil, apierrors.NewConflict(f.resource, o.GetName(), errors.New("the object has been modified"))
	}
	return f.store(o), nil
}

func (f *fakeAPI[T]) Delete(_ context.Context, name string, opts metav1.DeleteOptions) error {
	have, ok := f.objects[name]
	if !ok {
		return apierrors.NewNotFound(f.resource, name)
	}
	if p := opts.Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != have.GetResourceVersion() {
		return apierrors.NewConflict(f.resource, name, errors.New("precondition failed"))
	}
	delete(f.objects, name)
	return nil
}

// list returns copies of the objects the label selector matches.
func (f *fakeAPI[T]) list(opts metav1.ListOptions) ([]T, error) {
	sel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, o := range f.objects {
		if sel.Matches(labels.Set(o.GetLabels())) {
			out = append(out, f.copy(o))
		}
	}
	return out, nil
}

type fakeSecrets struct{ *fakeAPI[*corev1.Secret] }

func newFakeSecrets() *fakeSecrets {
	return &fakeSecrets{&fakeAPI[*corev1.Secret]{objects: map[string]*corev1.Secret{},
		resource: schema.GroupResource{Resource: "secrets"}, copy: (*corev1.Secret).DeepCopy}}
}

func (f *fakeSecrets) List(_ context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	items, err := f.list(opts)
	list := &corev1.SecretList{}
	for _, s := range items {
		list.Items = append(list.Items, *s)
	}
	return list, err
}

type fakeConfigMaps struct{ *fakeAPI[*corev1.ConfigMap] }

func newFakeConfigMaps() *fakeConfigMaps {
	return &fakeConfigMaps{&fakeAPI[*corev1.ConfigMap]{objects: map[string]*corev1.ConfigMap{},
		resource: schema.GroupResource{Resource: "configmaps"}, copy: (*corev1.ConfigMap).DeepCopy}}
}

func (f *fakeConfigMaps) List(_ context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	items, err := f.list(opts)
	list := &corev1.ConfigMapList{}
	for _, cm := range items {
		list.Items = append(list.Items, *cm)
	}
	return list, err
}

// fakePods lists the pods it holds.
type fakePods struct{ pods []corev1.Pod }

func (f *fakePods) List(context.Context, metav1.ListOptions) (*corev1.PodList, error) {
	return &corev1.PodList{Items: f.pods}, nil
}

var (
	_ kube.SecretClient    = (*fakeSecrets)(nil)
	_ kube.SecretLister    = (*fakeSecrets)(nil)
	_ kube.ConfigMapClient = (*fakeConfigMaps)(nil)
	_ kube.ConfigMapLister = (*fakeConfigMaps)(nil)
	_ kube.PodLister       = (*fakePods)(nil)
)
