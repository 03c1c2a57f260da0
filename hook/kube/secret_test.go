package kube_test

import (
	"context"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("ApplySecret", func() {
	ctx := context.Background()
	secretFor := func(password string) *corev1.Secret {
		s, err := kube.PullSecret(resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: password}),
			kube.WithNamespace("ci"), kube.WithLabels(map[string]string{"team": "main"}))
		Expect(err).NotTo(HaveOccurred())
		return s
	}

	It("creates the Secret, then leaves it alone when nothing changed", func() {
		api := newFakeSecrets()
		s := secretFor("p1")
		got, err := kube.ApplySecret(ctx, api, s)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Data).To(Equal(s.Data))
		_, err = kube.ApplySecret(ctx, api, secretFor("p1"))
		Expect(err).NotTo(HaveOccurred())
		Expect(api.calls).To(Equal([]string{"get", "create", "get"}))
	})

	It("updates data, labels and annotations in place, keeping the labels others put there", func() {
		api := newFakeSecrets()
		s := secretFor("p1")
		existing := s.DeepCopy()
		existing.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}
		existing.Labels = map[string]string{"owner": "runtime"}
		api.store(existing)
		s.Annotations = map[string]string{kube.AnnotationExpires: "2030-01-02T03:04:05Z"}
		got, err := kube.ApplySecret(ctx, api, s)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Data).To(Equal(s.Data))
		Expect(got.Labels).To(HaveKeyWithValue("owner", "runtime"))
		Expect(got.Labels).To(HaveKeyWithValue("team", "main"))
		Expect(got.Annotations).To(HaveKeyWithValue(kube.AnnotationExpires, "2030-01-02T03:04:05Z"))
		Expect(got.Annotations).To(HaveKey(kube.AnnotationApplied))
		Expect(api.calls).To(Equal([]string{"get", "update"}))

		other := secretFor("p1")
		other.Labels["team"] = "other-team" // a second pipeline with the same credentials
		got, err = kube.ApplySecret(ctx, api, other)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Labels).To(HaveKeyWithValue("team", "main"), "labels never flip between writers")
		Expect(api.calls).To(Equal([]string{"get", "update", "get"}), "unchanged, and marked applied within StampInterval: one Get")
	})

	It("tries again when another writer creates or changes it first", func() {
		api := newFakeSecrets()
		s := secretFor("p1")
		raced := false
		api.between = func(f *fakeAPI[*corev1.Secret]) {
			if !raced {
				raced = true
				other := s.DeepCopy()
				other.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte("{}")}
				f.store(other)
			}
		}
		got, err := kube.ApplySecret(ctx, api, s)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Data).To(Equal(s.Data))
		Expect(api.calls).To(Equal([]string{"get", "create", "get", "update"}))
	})

	It("refuses a Secret of that name of another type, and gives up after three lost races", func() {
		api := newFakeSecrets()
		s := secretFor("p1")
		opaque := s.DeepCopy()
		opaque.Type = corev1.SecretTypeOpaque
		api.store(opaque)
		_, err := kube.ApplySecret(ctx, api, s)
		Expect(err).To(MatchError(ContainSubstring("it exists with type Opaque, not kubernetes.io/dockerconfigjson")))

		api = newFakeSecrets()
		api.store(s)
		api.between = func(f *fakeAPI[*corev1.Secret]) { f.store(f.objects[s.Name]) } // every Get is stale at once
		changed := secretFor("p1")
		changed.Annotations = map[string]string{kube.AnnotationExpires: "2030-01-02T03:04:05Z"}
		_, err = kube.ApplySecret(ctx, api, changed)
		Expect(err).To(MatchError(ContainSubstring("another writer changed it 3 times in a row")))
		Expect(apierrors.IsConflict(errors.Unwrap(err))).To(BeTrue())
	})

	It("applies nothing for an anonymous pull (PullSecret's nil), and creates again a Secret deleted under it", func() {
		api := newFakeSecrets()
		anonymous, err := kube.PullSecret(resolution("registry.example.test", nil))
		Expect(err).NotTo(HaveOccurred())
		got, err := kube.ApplySecret(ctx, api, anonymous)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeNil())
		Expect(api.calls).To(BeEmpty())

		s := secretFor("p1")
		stale := s.DeepCopy()
		stale.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte("{}")}
		api.store(stale)
		deleted := false
		api.between = func(f *fakeAPI[*corev1.Secret]) { // a collector of old Secrets
			if !deleted {
				deleted = true
				delete(f.objects, s.Name)
			}
		}
		got, err = kube.ApplySecret(ctx, api, s)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Data).To(Equal(s.Data))
		Expect(api.calls).To(Equal([]string{"get", "update", "get", "create"}))
	})
})

var _ = Describe("PullSecret on a hand-made Resolution", func() {
	It("refuses credentials for no registry: no node would use them, and the pod would pull anonymously", func() {
		r := resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "hunter2-secret"})
		r.Registry = ""
		s, err := kube.PullSecret(r)
		Expect(s).To(BeNil())
		Expect(err).To(MatchError(ContainSubstring("the resolution names no registry")))
		Expect(err.Error()).NotTo(ContainSubstring("hunter2-secret"))
	})
})
