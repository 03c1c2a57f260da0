//go:build e2e

package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

// credentialsFromSecret reads user:password for host from a pull secret's
// Docker config, as kubelet does before it asks the runtime to pull.
func credentialsFromSecret(s *corev1.Secret, host string) string {
	var config struct {
		Auths map[string]struct{ Auth string }
	}
	Expect(json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &config)).To(Succeed())
	entry, ok := config.Auths[host]
	Expect(ok).To(BeTrue(), "the secret has no entry for %s", host)
	userPass, err := base64.StdEncoding.DecodeString(entry.Auth)
	Expect(err).NotTo(HaveOccurred())
	return string(userPass)
}

// nodeRegistryConfig is the node configuration the hook's warning asks
// for: containerd's hosts.toml that trusts the registry's private CA. It
// also keeps containerd on HTTPS, which it would otherwise drop for a
// loopback host.
func nodeRegistryConfig(host, caPEM string) string {
	dir := GinkgoT().TempDir()
	Expect(os.MkdirAll(filepath.Join(dir, host), 0o755)).To(Succeed())
	ca := filepath.Join(dir, host, "ca.pem")
	Expect(os.WriteFile(ca, []byte(caPEM), 0o644)).To(Succeed())
	hosts := fmt.Sprintf("server = \"https://%s\"\n\n[host.\"https://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = %q\n", host, host, ca)
	Expect(os.WriteFile(filepath.Join(dir, host, "hosts.toml"), []byte(hosts), 0o644)).To(Succeed())
	return dir
}

var _ = Describe("A task pod run by containerd", func() {
	It("pulls the pinned reference with the generated secret's credentials and runs the task in it", func() {
		ctx := context.Background()
		c := startContainerd()
		// The real CNCF registry, TLS with a private CA, htpasswd auth.
		reg, err := registrytest.StartDistribution(registrytest.WithTLS(), registrytest.WithBasicAuth("robot", "e2e-s3cret"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(reg.Close)

		By("job A pushes v1; the tag then moves to v2")
		v1Digest := push(reg, taskImage("v1"), "team/app:latest")
		upstream := resource.Version{Tag: "latest", Digest: v1Digest.String()}
		push(reg, taskImage("v2"), "team/app:latest")

		By("job B's get: the hook decides and resolves with no pod")
		source := map[string]any{"repository": reg.Repo("team/app"), "username": reg.Username, "password": reg.Password,
			"ca_certs": []any{string(reg.CACertPEM)}}
		h, err := hook.New(hook.WithLabeler(nil))
		Expect(err).NotTo(HaveOccurred())
		d, err := h.Decide(ctx, hook.Get{Type: "registry-image", Source: source, TypeImage: hook.TypeImage{BaseType: "registry-image"},
			Version: map[string]string{"tag": upstream.Tag, "digest": upstream.Digest}})
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue())
		res, err := h.Resolve(ctx, d)
		Expect(err).NotTo(HaveOccurred())
		image, policy := kube.TaskImage(res)
		Expect(policy).To(Equal(corev1.PullIfNotPresent))
		secret, err := kube.PullSecret(res, kube.WithNamespace("ci"))
		Expect(err).NotTo(HaveOccurred())
		Expect(secret).NotTo(BeNil())

		By("containerd pulls the pinned reference with the secret's credentials, trusting the registry's CA as a node would")
		hostsDir := nodeRegistryConfig(res.Registry, string(reg.CACertPEM))
		c.ctr("images", "pull", "--snapshotter", "native", "--hosts-dir", hostsDir,
			"--user", credentialsFromSecret(secret, res.Registry), image)

		By("containerd recorded the digest the hook pinned")
		var recorded string
		for _, line := range strings.Split(c.ctr("images", "ls"), "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 3 && fields[0] == image {
				recorded = fields[2]
			}
		}
		Expect(recorded).To(Equal(upstream.Digest))

		By("the task's command runs in that image: v1, not where the tag moved")
		out := c.ctr("run", "--rm", "--snapshotter", "native", image, "task-unit-1", "/task", "unit", "tests")
		Expect(out).To(Equal("task ran: unit tests; marker: v1\n"))
	})
})
