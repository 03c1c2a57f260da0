//go:build kubernetes

package kubernetes_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

// The suite runs a real single-node Kubernetes (etcd, kube-apiserver and
// kubelet built from the k8s.io/kubernetes module, a private containerd,
// the CNCF registry) and a runtime driver that uses the hook against it:
// make k8s-e2e, as root. See README.md, "Development".
func TestKubernetes(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Kubernetes Suite")
}

var (
	k8s *node
	// The registry's accounts: two pipelines' robots.
	teamA, teamB registryUser
	// tool is the tasktool binary every suite image holds.
	tool string
	// refimageRepo and refimageDigest: `make image`, pushed to the registry.
	refimageRepo, refimageDigest string
	// toolRef is the tool image, pinned; builderRef holds /build/image.tar
	// too, the image a put pushes.
	toolRef, builderRef string
)

var _ = BeforeSuite(func() {
	s := settingsFromEnv()
	// A killed run's processes, mounts, rules and bridge, before anything else.
	Expect(stopNode(s, GinkgoWriter)).To(Succeed(), "clean up what an earlier run left in %s", s.run())
	Expect(requireHost(s)).To(Succeed())
	before := hostSnapshot(s)

	buildStart := time.Now()
	bin, err := kubeBinaries(s, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	fmt.Fprintf(GinkgoWriter, "Kubernetes binaries ready in %.1fs\n", time.Since(buildStart).Seconds())
	tool, err = buildTaskTool(GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())

	pauseReg := registrytest.NewInProcess()
	DeferCleanup(pauseReg.Close)
	pause, err := toolImage(tool, nil, nil, "pause")
	Expect(err).NotTo(HaveOccurred())
	pauseDigest, err := imagetest.Push(pauseReg.Repo("k8s-e2e/pause:1"), pause, pauseReg.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())

	teamA = registryUser{"pipeline-a", "a-" + randomHex(12)}
	teamB = registryUser{"pipeline-b", "b-" + randomHex(12)}
	// Also after ^C: Ginkgo then gives cleanup its grace period.
	DeferCleanup(func(SpecContext) {
		if k8s != nil && k8s.api != nil {
			k8s.deletePods(GinkgoWriter)
		}
		Expect(stopNode(s, GinkgoWriter)).To(Succeed())
		Expect(hostSnapshot(s)).To(Equal(before), "the host after the run differs from before it")
	}, GracePeriod(2*time.Minute))
	k8s, err = startNode(s, bin, pauseReg.Repo("k8s-e2e/pause@"+pauseDigest), []registryUser{teamA, teamB}, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())

	refimageRepo = "refimage/refimage"
	refimageDigest, err = pushLayout(s.imageLayout, k8s.registry.repo(refimageRepo)+":dev", k8s.registry.remote(teamA))
	Expect(err).NotTo(HaveOccurred())
	toolRef, builderRef = pushTools()
	for _, ns := range []string{podNamespace, otherTeamNS} {
		_, err := k8s.api.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
	}
})
