package kube_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("ForTask", func() {
	ctx := context.Background()
	creds := &resource.Credentials{Username: "robot", Password: "s3cret"}

	It("gives a task pod the get as its image and as an input, from one call, applied with the runtime's clients", func() {
		r := resolution("registry.example.test", creds)
		t, err := kube.ForTask(r, kube.Input{MountPath: "/tmp/build/1/app-image"}, kube.WithNamespace("ci"))
		Expect(err).NotTo(HaveOccurred())
		secrets := newFakeSecrets()
		configMaps := newFakeConfigMaps()
		Expect(t.Apply(ctx, secrets, configMaps)).To(Succeed())
		Expect(secrets.objects).To(HaveKey(t.Secret.Name))
		Expect(configMaps.objects).To(HaveKey(t.ConfigMap.Name))
		Expect(configMaps.objects[t.ConfigMap.Name].Data).To(HaveKeyWithValue("digest", digest))

		// The pod as a runtime builds it: an artifact volume at the input's path.
		pod := corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "placeholder", VolumeMounts: []corev1.VolumeMount{
				{Name: "scratch", MountPath: "/scratch"}, {Name: "input-0", MountPath: "/tmp/build/1/app-image"}}}},
			Volumes: []corev1.Volume{{Name: "scratch"}, {Name: "input-0"}},
		}
		c := &pod.Containers[0]
		t.AsImage(&pod, c)
		t.AsImage(&pod, c)
		t.AsInput(&pod, c)
		Expect(c.Image).To(Equal("registry.example.test/team/app@" + digest))
		Expect(c.ImagePullPolicy).To(Equal(corev1.PullIfNotPresent))
		Expect(pod.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: t.Secret.Name}}), "once")
		Expect(c.VolumeMounts).To(Equal([]corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"},
			{Name: "input-0", MountPath: "/tmp/build/1/app-image", ReadOnly: true}}))
		Expect(pod.Volumes).To(HaveLen(2))
		Expect(pod.Volumes[1].Name).To(Equal("input-0"))
		Expect(pod.Volumes[1].ConfigMap.Name).To(Equal(t.ConfigMap.Name))
	})

	It("adds the volume and mount when the pod has none at the input's path, and applies only the roles asked for", func() {
		t, err := kube.ForTask(resolution("registry.example.test", nil), kube.Input{MountPath: "/in"})
		Expect(err).NotTo(HaveOccurred())
		Expect(t.Secret).To(BeNil(), "an anonymous pull")
		configMaps := newFakeConfigMaps()
		Expect(t.Apply(ctx, nil, configMaps)).To(Succeed())
		Expect(t.Apply(ctx, newFakeSecrets(), nil)).To(Succeed())
		pod := corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}}
		t.AsImage(&pod, nil)
		Expect(pod.ImagePullSecrets).To(BeEmpty())
		Expect(pod.Containers[0].Image).To(BeEmpty(), "no container given")
		t.AsInput(&pod, &pod.Containers[0])
		Expect(pod.Volumes).To(Equal([]corev1.Volume{t.Volume}))
		Expect(pod.Containers[0].VolumeMounts).To(Equal([]corev1.VolumeMount{t.Mount}))
	})

	It("fails as PullSecret does on a Resolution that lost its credentials", func() {
		r := resolution("registry.example.test", nil)
		r.AuthRequired = true
		_, err := kube.ForTask(r, kube.Input{})
		Expect(err).To(MatchError(ContainSubstring("needs credentials")))
	})
})

var _ = Describe("UseAsImage and UseAsInput", func() {
	ctx := context.Background()

	It("build, apply and put the objects in the pod in one call each, and do nothing for a get the hook did not resolve", func() {
		secrets := newFakeSecrets()
		configMaps := newFakeConfigMaps()
		pod := corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "from-the-runtime"}}}
		c := &pod.Containers[0]
		Expect(kube.UseAsImage(ctx, secrets, nil, &pod, c)).To(Succeed())
		Expect(kube.UseAsInput(ctx, configMaps, nil, "/in", &pod, c)).To(Succeed())
		Expect(pod).To(Equal(corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "from-the-runtime"}}}))
		Expect(secrets.calls).To(BeEmpty())
		Expect(configMaps.calls).To(BeEmpty())

		r := resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "s3cret"})
		Expect(kube.UseAsImage(ctx, secrets, r, &pod, c, kube.WithNamespace("ci"))).To(Succeed())
		Expect(kube.UseAsInput(ctx, configMaps, r, "/in", &pod, c, kube.WithNamespace("ci"))).To(Succeed())
		Expect(c.Image).To(Equal(r.Reference))
		Expect(pod.ImagePullSecrets).To(HaveLen(1))
		Expect(secrets.objects).To(HaveKey(pod.ImagePullSecrets[0].Name))
		Expect(c.VolumeMounts).To(ConsistOf(HaveField("MountPath", "/in")))
		Expect(configMaps.objects).To(HaveKey(pod.Volumes[0].ConfigMap.Name))

		r.AuthRequired, r.Auth = true, nil
		Expect(kube.UseAsImage(ctx, secrets, r, &pod, c)).To(MatchError(ContainSubstring("use " + r.Reference + " as the task's image")))
	})
})

var _ = Describe("ApplyConfigMap", func() {
	ctx := context.Background()
	configMap := func(labels map[string]string) *corev1.ConfigMap {
		cm, _, _ := kube.InputFiles(resolution("registry.example.test", nil), kube.Input{MountPath: "/in"}, kube.WithNamespace("ci"), kube.WithLabels(labels))
		return cm
	}

	It("creates the ConfigMap, then costs one Get, and never flips labels another writer set", func() {
		api := newFakeConfigMaps()
		got, err := kube.ApplyConfigMap(ctx, api, configMap(map[string]string{"team": "a"}))
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Annotations).To(HaveKey(kube.AnnotationApplied))
		_, err = kube.ApplyConfigMap(ctx, api, configMap(map[string]string{"team": "b"}))
		Expect(err).NotTo(HaveOccurred())
		Expect(api.calls).To(Equal([]string{"get", "create", "get"}))
		Expect(api.objects[got.Name].Labels).To(HaveKeyWithValue("team", "a"))
	})

	It("refreshes a stale applied mark, creates one deleted under it, refuses one of that name with other data, and applies nil as nothing", func() {
		api := newFakeConfigMaps()
		cm := configMap(nil)
		old := cm.DeepCopy()
		old.Annotations = map[string]string{kube.AnnotationApplied: "2020-01-01T00:00:00Z"}
		api.store(old)
		got, err := kube.ApplyConfigMap(ctx, api, cm)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Annotations[kube.AnnotationApplied]).NotTo(Equal("2020-01-01T00:00:00Z"))
		Expect(api.calls).To(Equal([]string{"get", "update"}))

		delete(api.objects, cm.Name)
		_, err = kube.ApplyConfigMap(ctx, api, cm)
		Expect(err).NotTo(HaveOccurred())
		Expect(api.objects).To(HaveKey(cm.Name))

		other := cm.DeepCopy()
		other.Data = map[string]string{"digest": "something else"}
		api.objects[cm.Name] = other
		_, err = kube.ApplyConfigMap(ctx, api, cm)
		Expect(err).To(MatchError(ContainSubstring("it exists with other data: it is not refimage's")))

		got, err = kube.ApplyConfigMap(ctx, api, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeNil())
	})
})
