//go:build e2e

package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// containerd is a private containerd: its own root, state, socket and
// config under a temp dir, so it touches no system instance. It plays
// kubelet's part: kubelet asks the container runtime to pull and run, with
// the credentials of the pod's pull secret.
type containerd struct {
	socket string
	dir    string
}

const ctrNamespace = "refimage-e2e"

func startContainerd() *containerd {
	for _, bin := range []string{"containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			Fail(fmt.Sprintf("%s is not installed: run `apt-get install -y containerd runc` (as root) before make e2e", bin))
		}
	}
	// A short path: a unix socket's path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "rie2e")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	c := &containerd{dir: dir, socket: filepath.Join(dir, "c.sock")}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.socket, c.socket+".ttrpc")
	Expect(os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600)).To(Succeed())
	session, err := gexec.Start(exec.Command("containerd", "--config", filepath.Join(dir, "config.toml")), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { session.Terminate().Wait(time.Minute) })
	// Readiness is containerd's own announcement, not a guess.
	Eventually(session.Err, time.Minute).Should(gbytes.Say("containerd successfully booted"))
	return c
}

// ctr runs a ctr command against this containerd and returns its stdout.
func (c *containerd) ctr(args ...string) string {
	cmd := exec.Command("ctr", append([]string{"--address", c.socket, "--namespace", ctrNamespace}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	Expect(err).NotTo(HaveOccurred(), "ctr %s: %s", strings.Join(redactUser(args), " "), stderr.String())
	return stdout.String()
}

// redactUser keeps the credentials given with --user out of failure messages.
func redactUser(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if i > 0 && out[i-1] == "--user" {
			out[i] = "[redacted]"
		}
	}
	return out
}
