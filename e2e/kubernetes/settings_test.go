//go:build kubernetes

package kubernetes_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The Kubernetes release the node runs: kube-apiserver and kubelet are
// built from the k8s.io/kubernetes module at this tag; its staging modules
// (k8s.io/api, k8s.io/client-go, ...) are published as v0.<minor>.<patch>.
const (
	k8sVersion     = "v1.35.4"
	stagingVersion = "v0.35.4"
)

// The node's names, addresses and ports. Everything listens on 127.0.0.1
// except what pods must reach (the registry) and what the API server must
// reach at the node's address (the kubelet API): those listen on the
// node IP, which lives on the suite's own bridge, and an iptables rule
// admits to it only the bridge and this host.
const (
	nodeName      = "refimage-node"
	bridgeName    = "refimagek8s0"
	subnetPrefix  = "10.88.79"
	nodeIP        = subnetPrefix + ".1"
	podSubnet     = subnetPrefix + ".0/24"
	serviceCIDR   = "10.96.0.0/24"
	serviceIP     = "10.96.0.1"
	etcdPort      = 23791
	etcdPeerPort  = 23801
	apiPort       = 16444
	kubeletPort   = 10260
	healthzPort   = 10258
	registryPort  = 5443
	podNamespace  = "concourse-main"
	otherTeamNS   = "concourse-other"
	bridgeMAC     = "02:00:0a:58:4f:01"
	socketTimeout = 30 * time.Second
)

// settings are where the suite keeps its state and finds its inputs.
type settings struct {
	// state holds run/ (PKI, etcd, containerd, kubelet, registry storage,
	// PIDs, the host's saved state; removed after every run) and logs/
	// (kept): REFIMAGE_K8S_STATE, else /tmp/refimage-k8s-e2e. Every
	// process the suite starts names run/ on its command line, which is
	// how a later run recognises a killed run's processes.
	state string
	// cache holds the Kubernetes binaries and the wrapper module they are
	// built from: REFIMAGE_K8S_CACHE, else ~/.cache/refimage-k8s.
	cache string
	// repo is the refimage checkout; imageLayout its `make image` output.
	repo        string
	imageLayout string
}

func settingsFromEnv() settings {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	home, _ := os.UserHomeDir()
	s := settings{
		state:       "/tmp/refimage-k8s-e2e",
		cache:       filepath.Join(home, ".cache", "refimage-k8s"),
		repo:        repo,
		imageLayout: filepath.Join(repo, ".cache", "image"),
	}
	if d := os.Getenv("REFIMAGE_K8S_STATE"); d != "" {
		s.state = d
	}
	if d := os.Getenv("REFIMAGE_K8S_CACHE"); d != "" {
		s.cache = d
	}
	return s
}

func (s settings) run() string  { return filepath.Join(s.state, "run") }
func (s settings) logs() string { return filepath.Join(s.state, "logs") }
func (s settings) path(parts ...string) string {
	return filepath.Join(append([]string{s.run()}, parts...)...)
}
func (s settings) containerdSocket() string { return s.path("containerd", "containerd.sock") }

// debianPackages is what .ci/run installs for this suite.
const debianPackages = "etcd-server containerd runc containernetworking-plugins iptables iproute2"

// requireHost names the first thing missing for the node to start, with
// how to get it. The suite fails on it: under make k8s-e2e a missing
// prerequisite is a failure, never a skip.
func requireHost(s settings) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the suite starts a Kubernetes node (network namespaces, mounts, cgroups, iptables): run make k8s-e2e as root")
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &fs); err != nil || fs.Type == 0x63677270 {
		return fmt.Errorf("/sys/fs/cgroup is cgroup v2 or missing: the node runs kubelet with the cgroupfs driver on cgroup v1")
	}
	for _, bin := range []string{"etcd", "containerd", "containerd-shim-runc-v2", "runc", "iptables", "iptables-save", "ip6tables-save", "ip", "go"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed: apt-get install %s (as .ci/run does)", bin, debianPackages)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", p)); err != nil {
			return fmt.Errorf("the CNI plugin %s is missing in /usr/lib/cni: apt-get install containernetworking-plugins", p)
		}
	}
	if _, err := os.Stat(filepath.Join(s.imageLayout, "index.json")); err != nil {
		return fmt.Errorf("%s is missing: run make image (make k8s-e2e does)", filepath.Join(s.imageLayout, "index.json"))
	}
	for _, port := range []int{etcdPort, etcdPeerPort, apiPort, healthzPort} {
		if err := portFree("127.0.0.1", port); err != nil {
			return err
		}
	}
	if _, err := net.InterfaceByName(bridgeName); err == nil {
		return fmt.Errorf("a network interface %s exists and no earlier run of this suite recorded it: delete it (ip link del %s)", bridgeName, bridgeName)
	}
	return nil
}

func portFree(ip string, port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
	if err != nil {
		return fmt.Errorf("TCP port %s:%d is in use (%w): stop what listens there", ip, port, err)
	}
	return ln.Close()
}

// lines splits s into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
