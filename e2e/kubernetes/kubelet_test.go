//go:build kubernetes

package kubernetes_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startContainerd starts a containerd of the node's own: config, root,
// state, socket and runc root in the run directory.
func (n *node) startContainerd() error {
	s := n.s
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.path("containerd"), 0o755); err != nil {
		return err
	}
	config := containerdConfig(s, n.pauseImage, runc) + registryConfig(n.pauseImage, n.pki.file("ca.crt"))
	if err := os.WriteFile(s.path("containerd", "config.toml"), []byte(config), 0o644); err != nil {
		return err
	}
	if err := daemon(s, "containerd", exec.Command("containerd", "--config", s.path("containerd", "config.toml"))); err != nil {
		return err
	}
	return waitFor("containerd socket", socketTimeout, func() error {
		if err := alive(s, "containerd"); err != nil {
			return err
		}
		c, err := net.Dial("unix", s.containerdSocket())
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func containerdConfig(s settings, pauseImage, runc string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
plugin_dir = ""
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  # without CAP_SYS_RESOURCE runc cannot lower oom_score_adj (the sandbox asks for -998): clamp instead of failing
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = %q
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
    max_conf_num = 1
`, s.path("containerd", "root"), s.path("containerd", "state"), s.containerdSocket(), s.containerdSocket()+".ttrpc",
		pauseImage, runc, s.path("runc"), s.path("cni", "net.d"))
}

// registryConfig tells the CRI plugin how to reach the registries: the
// pause image's over plain HTTP, the suite's with the run's CA. It is the
// CRI's registry section, not a certs.d directory (config_path):
// containerd 1.6 ignores a hosts.toml's top-level ca, and a [host] entry
// is followed by the server without it, so a deleted digest (404 from the
// host) would be reported as the server's certificate error.
func registryConfig(pauseImage, caFile string) string {
	pauseHost := strings.SplitN(pauseImage, "/", 2)[0]
	return fmt.Sprintf(`  [plugins."io.containerd.grpc.v1.cri".registry.mirrors.%[1]q]
    endpoint = ["http://%[1]s"]
  [plugins."io.containerd.grpc.v1.cri".registry.configs.%[2]q.tls]
    ca_file = %[3]q
`, pauseHost, registryHost(), caFile)
}

// startKubelet starts kubelet with the node's token, on cgroup v1 with the
// cgroupfs driver, its API on the node IP with a serving certificate of the
// run's CA (the API server verifies it when it reads a pod's log).
func (n *node) startKubelet(bin string) error {
	s, p := n.s, n.pki
	dir := s.path("kubelet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# kubelet 1.35 refuses to start on cgroup v1 unless told otherwise
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
tlsCertFile: %q
tlsPrivateKeyFile: %q
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://%s
podLogsDir: %q
resolvConf: ""
registerNode: true
syncFrequency: 10s
fileCheckFrequency: 20s
nodeStatusUpdateFrequency: 10s
imageMinimumGCAge: 2m
evictionHard: {memory.available: 100Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
maxPods: 30
volumePluginDir: %q
`, nodeIP, kubeletPort, healthzPort, p.file("kubelet.crt"), p.file("kubelet.key"), s.containerdSocket(),
		s.path("pod-logs"), s.path("kubelet", "volume-plugins"))
	files := map[string]string{"config.yaml": config, "kubeconfig": n.kubeconfig("node", p.nodeToken)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(bin, "kubelet"),
		"--config="+filepath.Join(dir, "config.yaml"), "--kubeconfig="+filepath.Join(dir, "kubeconfig"),
		"--root-dir="+s.path("kubelet", "root"), "--cert-dir="+s.path("kubelet", "pki"),
		"--hostname-override="+nodeName, "--node-ip="+nodeIP, "--v=2")
	if err := daemon(s, "kubelet", cmd); err != nil {
		return err
	}
	return waitFor("kubelet healthz", 60*time.Second, func() error {
		if err := alive(s, "kubelet"); err != nil {
			return err
		}
		return httpOK(noProxyClient(), fmt.Sprintf("http://127.0.0.1:%d/healthz", healthzPort), nil)
	})
}
