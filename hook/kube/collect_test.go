package kube_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("Collector", func() {
	ctx := context.Background()

	// Two pipelines of two teams pull with the same credentials: one Secret.
	It("removes a Secret two pipelines share only once neither's pod can need it, and their labels never flip", func() {
		secrets := newFakeSecrets()
		configMaps := newFakeConfigMaps()
		pods := &fakePods{}
		r := resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "shared"})
		pipelineTask := func(team, pod string) corev1.Pod {
			t, err := kube.ForTask(r, kube.Input{MountPath: "/in"}, kube.WithNamespace("ci"), kube.WithLabels(map[string]string{"team": team}))
			Expect(err).NotTo(HaveOccurred())
			Expect(t.Apply(ctx, secrets, configMaps)).To(Succeed())
			p := corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
			p.Name = pod
			t.AsImage(&p.Spec, &p.Spec.Containers[0])
			t.AsInput(&p.Spec, &p.Spec.Containers[0])
			return p
		}
		a := pipelineTask("a", "pipeline-a-task")
		b := pipelineTask("b", "pipeline-b-task")
		Expect(secrets.objects).To(HaveLen(1))
		Expect(configMaps.objects).To(HaveLen(1))
		for _, s := range secrets.objects {
			Expect(s.Labels).To(HaveKeyWithValue("team", "a"), "the first writer's label stays")
		}

		now := time.Now().Add(2 * time.Hour) // past the grace period of both applies
		c := kube.Collector{Secrets: secrets, ConfigMaps: configMaps, Pods: pods, Now: func() time.Time { return now }}
		pods.pods = []corev1.Pod{a, b}
		Expect(c.Collect(ctx)).To(BeEmpty())

		a.Status.Phase = corev1.PodSucceeded // pipeline a is done; b still runs
		pods.pods = []corev1.Pod{a, b}
		Expect(c.Collect(ctx)).To(BeEmpty())
		Expect(secrets.objects).To(HaveLen(1))

		b.Status.Phase = corev1.PodFailed
		pods.pods = []corev1.Pod{a, b}
		deleted, err := c.Collect(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(deleted).To(HaveLen(2))
		Expect(secrets.objects).To(BeEmpty())
		Expect(configMaps.objects).To(BeEmpty())
	})

	// The installation's salt is set for the first time, or changed: the
	// same credentials get a Secret under a new name, and the one named the
	// old way must not stay behind, holding the password, forever.
	DescribeTable("removes the Secrets named under an earlier salt once unused, and keeps the one in use",
		func(before []kube.Option) {
			secrets := newFakeSecrets()
			r := resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "p"})
			old, err := kube.ForTask(r, kube.Input{}, before...)
			Expect(err).NotTo(HaveOccurred())
			Expect(old.Apply(ctx, secrets, nil)).To(Succeed())
			current, err := kube.ForTask(r, kube.Input{}, kube.WithNameSalt("namespace-uid-2"))
			Expect(err).NotTo(HaveOccurred())
			Expect(current.Apply(ctx, secrets, nil)).To(Succeed())
			Expect(secrets.objects).To(HaveLen(2), "the two derivations name two Secrets")

			pod := corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
			current.AsImage(&pod.Spec, &pod.Spec.Containers[0])
			Expect(pod.Spec.ImagePullSecrets).To(HaveLen(1))
			inUse := pod.Spec.ImagePullSecrets[0].Name
			now := time.Now().Add(2 * time.Hour)
			c := kube.Collector{Secrets: secrets, Pods: &fakePods{pods: []corev1.Pod{pod}}, Now: func() time.Time { return now }}
			deleted, err := c.Collect(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(deleted).To(HaveLen(1))
			Expect(deleted[0]).NotTo(Equal(inUse))
			Expect(secrets.objects).To(ConsistOf(HaveField("Name", inUse)))
		},
		Entry("no salt before (the derivation without WithNameSalt)", []kube.Option(nil)),
		Entry("another salt before", []kube.Option{kube.WithNameSalt("namespace-uid-1")}),
	)

	It("keeps what was applied within the grace period for a pod not created yet, and what was applied again since its list", func() {
		secrets := newFakeSecrets()
		t, err := kube.ForTask(resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "p"}), kube.Input{})
		Expect(err).NotTo(HaveOccurred())
		Expect(t.Apply(ctx, secrets, nil)).To(Succeed())
		now := time.Now().Add(30 * time.Minute)
		c := kube.Collector{Secrets: secrets, Pods: &fakePods{}, Now: func() time.Time { return now }}
		Expect(c.Collect(ctx)).To(BeEmpty(), "applied 30 minutes ago, within the default hour")

		now = now.Add(time.Hour)
		secrets.between = nil
		racing := &racingSecrets{fakeSecrets: secrets}
		c.Secrets = racing
		Expect(c.Collect(ctx)).To(BeEmpty(), "applied again between the list and the delete")
		Expect(secrets.objects).To(HaveLen(1))

		c.Secrets = secrets
		Expect(c.Collect(ctx)).To(HaveLen(1))
	})
})

var _ = Describe("Collector without a pod client", func() {
	It("deletes nothing and says why", func() {
		secrets := newFakeSecrets()
		secrets.store(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "refimage-pull-x",
			Labels: map[string]string{kube.LabelManagedBy: kube.ManagedBy, kube.LabelComponent: "pull-secret"}}})
		_, err := kube.Collector{Secrets: secrets}.Collect(context.Background())
		Expect(err).To(MatchError(ContainSubstring("no pod client")))
		Expect(secrets.objects).To(HaveLen(1))
	})
})

// racingSecrets lets an apply land between Collect's list and its delete.
type racingSecrets struct{ *fakeSecrets }

func (r *racingSecrets) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	r.store(r.objects[name])
	return r.fakeSecrets.Delete(ctx, name, opts)
}
