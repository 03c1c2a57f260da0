package runtimetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

// imageTarball writes a random two-layer image as a Docker tarball under
// dir/image/image.tar, as a build task's output would be.
func imageTarball(dir string) {
	img, err := random.Image(256, 2)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.MkdirAll(filepath.Join(dir, "image"), 0o755)).To(Succeed())
	tag, err := name.NewTag("build/output:latest")
	Expect(err).NotTo(HaveOccurred())
	Expect(tarball.WriteToFile(filepath.Join(dir, "image", "image.tar"), tag, img)).To(Succeed())
}

const namespace = "concourse-main"

// client-go's typed clients satisfy kube's interfaces with no adapter.
var (
	_ kube.SecretClient    = typedcorev1.SecretInterface(nil)
	_ kube.ConfigMapClient = typedcorev1.ConfigMapInterface(nil)
	_ kube.SecretLister    = typedcorev1.SecretInterface(nil)
	_ kube.ConfigMapLister = typedcorev1.ConfigMapInterface(nil)
	_ kube.PodLister       = typedcorev1.PodInterface(nil)
)

// rootModule is refimage's root module, which this test-only module replaces
// its requirement with.
const rootModule = "../../.."

// simRuntime is the part of a Kubernetes Concourse runtime that runs a get
// step and a task, with the fake clientset standing in for the API server.
type simRuntime struct {
	api             kubernetes.Interface
	hook            *hook.Hook
	inPath, outPath string
	// ranIn records the in binary's output when a get pod ran.
	ranIn map[string]string
}

type pipelineResource struct {
	name   string
	source map[string]any
}

// put runs a put step as a pod would: the real out binary, the build's
// output as its source directory. It returns the version Concourse records.
func (rt *simRuntime) put(r pipelineResource, params map[string]any) resource.Version {
	src := GinkgoT().TempDir()
	imageTarball(src)
	body, err := json.Marshal(map[string]any{"source": r.source, "params": params})
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(rt.outPath, src)
	cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=127.0.0.1")
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	Expect(cmd.Run()).To(Succeed(), stderr.String())
	var resp resource.VersionResponse
	Expect(json.Unmarshal(stdout.Bytes(), &resp)).To(Succeed())
	return resp.Version
}

// get runs a get step: no pod when the hook says so, else a get pod that
// runs the real in binary. It returns the task pod's image and the
// resolution (nil when a pod ran).
func (rt *simRuntime) get(ctx context.Context, build string, r pipelineResource, params map[string]any, version resource.Version) (*hook.Resolution, error) {
	d, err := rt.hook.Decide(ctx, hook.Get{Name: r.name, Type: "registry-image", Source: r.source, Params: params,
		Version: map[string]string{"tag": version.Tag, "digest": version.Digest}, TypeImage: hook.TypeImage{BaseType: "registry-image"}})
	if err != nil {
		return nil, err
	}
	if d.Skip {
		return rt.hook.Resolve(ctx, d)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "get-" + r.name + "-" + build, Namespace: namespace,
		Labels: map[string]string{"concourse.ci/step": "get"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "in", Image: "refimage", Command: []string{"/opt/resource/in", "/tmp/dest"}}}}}
	if _, err := rt.api.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	// The pod's container: the real in binary with the request on stdin.
	body, err := json.Marshal(map[string]any{"source": r.source, "params": params, "version": version})
	Expect(err).NotTo(HaveOccurred())
	dest := GinkgoT().TempDir()
	cmd := exec.Command(rt.inPath, dest)
	cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=127.0.0.1")
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	Expect(err).NotTo(HaveOccurred(), stderr.String())
	rt.ranIn = map[string]string{"stdout": stdout.String(), "dest": dest}
	return nil, nil
}

// runTask creates the task pod for a task that uses the get as image: and
// as an input, with the objects kube builds.
func (rt *simRuntime) runTask(ctx context.Context, build, task, inputPath string, res *hook.Resolution) *corev1.Pod {
	labels := map[string]string{"concourse.ci/team": "main"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "task-" + task + "-" + build, Namespace: namespace},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: task}}}}
	// One call for everything the task pod needs; client-go's typed clients
	// are kube's client interfaces as they are.
	t, err := kube.ForTask(res, kube.Input{MountPath: inputPath}, kube.WithNamespace(namespace), kube.WithLabels(labels))
	Expect(err).NotTo(HaveOccurred())
	Expect(t.Apply(ctx, rt.api.CoreV1().Secrets(namespace), rt.api.CoreV1().ConfigMaps(namespace))).To(Succeed())
	t.AsImage(&pod.Spec, &pod.Spec.Containers[0])
	t.AsInput(&pod.Spec, &pod.Spec.Containers[0])
	created, err := rt.api.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return created
}

var _ = Describe("A simulated runtime driving a two-job pipeline", Ordered, func() {
	var (
		ctx      = context.Background()
		reg      *registrytest.Registry
		rt       *simRuntime
		appImage pipelineResource
		upstream resource.Version
	)
	BeforeAll(func() {
		// Built in the root module (go build -C), with the versions its go.mod
		// pins, as the resource image ships them.
		inPath, err := gexec.Build("github.com/refimage/refimage/cmd/in", "-C", rootModule)
		Expect(err).NotTo(HaveOccurred())
		outPath, err := gexec.Build("github.com/refimage/refimage/cmd/out", "-C", rootModule)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
		// The real CNCF registry, TLS with a private CA, htpasswd auth.
		reg, err = registrytest.StartDistribution(registrytest.WithTLS(), registrytest.WithBasicAuth("robot", "s3cret-pass"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(reg.Close)
		appImage = pipelineResource{name: "app-image", source: map[string]any{
			"repository": reg.Repo("team/app"), "username": reg.Username, "password": reg.Password,
			"ca_certs": []any{string(reg.CACertPEM)}, "tag": "latest",
		}}
		h, err := hook.New(hook.WithLabeler(nil), hook.WithBaseType("registry-image", "refimage", hook.ImplRefimage))
		Expect(err).NotTo(HaveOccurred())
		rt = &simRuntime{api: fake.NewClientset(), hook: h, inPath: inPath, outPath: outPath}

		By("job A: put app-image pushes v1 with the out binary")
		upstream = rt.put(appImage, map[string]any{"image": "image/image.tar"})
		Expect(upstream.Tag).To(Equal("latest"))
		By("the tag then moves on: a later build of A pushes v2")
		Expect(rt.put(appImage, map[string]any{"image": "image/image.tar"}).Digest).NotTo(Equal(upstream.Digest))
	})

	It("job B: get with passed: [A] runs no pod, and the task pod pulls the pinned reference", func() {
		res, err := rt.get(ctx, "2", appImage, nil, upstream)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).NotTo(BeNil())
		pods, err := rt.api.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "concourse.ci/step=get"})
		Expect(err).NotTo(HaveOccurred())
		Expect(pods.Items).To(BeEmpty())
		Expect(res.Warnings).To(ConsistOf(ContainSubstring("source.ca_certs is set: every node's container runtime must trust the CA of " + reg.Host)))

		pod := rt.runTask(ctx, "2", "unit", "/tmp/build/2/app-image", res)
		want := reg.Host + "/team/app@" + upstream.Digest
		Expect(pod.Spec.Containers[0].Image).To(Equal(want))
		Expect(pod.Spec.Containers[0].ImagePullPolicy).To(Equal(corev1.PullIfNotPresent))

		By("the ConfigMap holds the files in writes")
		cm, err := rt.api.CoreV1().ConfigMaps(namespace).Get(ctx, pod.Spec.Volumes[0].ConfigMap.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(cm.Data).To(Equal(map[string]string{"repository": reg.Host + "/team/app", "tag": "latest", "digest": upstream.Digest}))
		Expect(pod.Spec.Containers[0].VolumeMounts[0].MountPath).To(Equal("/tmp/build/2/app-image"))

		By("the pull secret, written out as a Docker config, lets a registry client pull that digest, as kubelet would")
		secret, err := rt.api.CoreV1().Secrets(namespace).Get(ctx, pod.Spec.ImagePullSecrets[0].Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(secret.Labels).To(HaveKeyWithValue("concourse.ci/team", "main"))
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "config.json"), secret.Data[corev1.DockerConfigJsonKey], 0o600)).To(Succeed())
		GinkgoT().Setenv("DOCKER_CONFIG", dir)
		ref, err := name.NewDigest(pod.Spec.Containers[0].Image)
		Expect(err).NotTo(HaveOccurred())
		img, err := remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(reg.Transport()))
		Expect(err).NotTo(HaveOccurred())
		got, err := img.Digest()
		Expect(err).NotTo(HaveOccurred())
		Expect(got.String()).To(Equal(upstream.Digest))
		layers, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(layers).To(HaveLen(2))

		By("without the secret the registry refuses the pull")
		GinkgoT().Setenv("DOCKER_CONFIG", GinkgoT().TempDir())
		_, err = remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(reg.Transport()))
		var terr *transport.Error
		Expect(errors.As(err, &terr)).To(BeTrue(), "%v", err)
		Expect(terr.StatusCode).To(Equal(http.StatusUnauthorized))

		By("the collector, with client-go's clients, keeps what the task pod uses and removes it once the pod is gone")
		later := time.Now().Add(2 * time.Hour)
		c := kube.Collector{Secrets: rt.api.CoreV1().Secrets(namespace), ConfigMaps: rt.api.CoreV1().ConfigMaps(namespace),
			Pods: rt.api.CoreV1().Pods(namespace), Now: func() time.Time { return later }}
		Expect(c.Collect(ctx)).To(BeEmpty())
		Expect(rt.api.CoreV1().Pods(namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})).To(Succeed())
		Expect(c.Collect(ctx)).To(ConsistOf(secret.Name, cm.Name))
	})

	It("job B with fetch_artifact: true runs a get pod with the real in binary", func() {
		res, err := rt.get(ctx, "3", appImage, map[string]any{"fetch_artifact": true}, upstream)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(BeNil())
		pods, err := rt.api.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "concourse.ci/step=get"})
		Expect(err).NotTo(HaveOccurred())
		Expect(pods.Items).To(HaveLen(1))
		Expect(rt.ranIn["stdout"]).To(ContainSubstring(upstream.Digest))
		Expect(filepath.Join(rt.ranIn["dest"], "rootfs")).To(BeADirectory())
	})
})
