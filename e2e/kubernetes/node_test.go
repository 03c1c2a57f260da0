//go:build kubernetes

package kubernetes_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// node is a running single-node Kubernetes: etcd, kube-apiserver, a
// private containerd and kubelet, with the suite's registry.
type node struct {
	s        settings
	pki      *pki
	api      *kubernetes.Clientset
	registry *registry
	// pauseImage is the sandbox image containerd pulls from the in-process
	// registry on 127.0.0.1 (containerd 1.6 pulls the sandbox image without
	// the pod's pull credentials).
	pauseImage string
	// upSeconds is how long the start took, binaries already built.
	upSeconds float64
}

// startNode starts the node; the caller stops it with stopNode whether or
// not this succeeds (host.json is written before the first change).
func startNode(s settings, bin, pauseImage string, users []registryUser, log io.Writer) (*node, error) {
	start := time.Now()
	for _, d := range []string{s.run(), s.logs()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	old, _ := filepath.Glob(filepath.Join(s.logs(), "*.log"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	if _, err := saveHost(s); err != nil {
		return nil, err
	}
	p, err := newPKI(s.path("pki"), users)
	if err != nil {
		return nil, err
	}
	n := &node{s: s, pki: p, pauseImage: pauseImage}
	if err := makeNetwork(s); err != nil {
		return nil, err
	}
	steps := []func() error{
		n.startEtcd,
		func() error { return n.startRegistry(users) },
		n.startContainerd,
		func() error { return n.startAPIServer(bin) },
		func() error { return n.startKubelet(bin) },
		n.waitNodeReady,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return n, err
		}
	}
	n.upSeconds = time.Since(start).Seconds()
	fmt.Fprintf(log, "node %s Ready %.1fs after start\n", nodeName, n.upSeconds)
	return n, nil
}

func (n *node) startEtcd() error {
	peer, client := fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort), fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	cmd := exec.Command("etcd", "--name", nodeName, "--data-dir", n.s.path("etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", nodeName+"="+peer, "--initial-cluster-state", "new",
		"--quota-backend-bytes", strconv.Itoa(256<<20), "--log-level", "warn")
	if err := daemon(n.s, "etcd", cmd); err != nil {
		return err
	}
	return waitFor("etcd", 30*time.Second, func() error {
		if err := alive(n.s, "etcd"); err != nil {
			return err
		}
		return httpOK(http.DefaultClient, client+"/health", nil)
	})
}

// startAPIServer starts kube-apiserver on 127.0.0.1 only, with token
// authentication and AlwaysAllow authorization. There is no
// controller-manager, scheduler or kube-proxy: pods name their node, and
// with the ServiceAccount admission plugin off nothing needs service
// account tokens.
func (n *node) startAPIServer(bin string) error {
	p := n.pki
	cmd := exec.Command(filepath.Join(bin, "kube-apiserver"),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiPort), "--advertise-address="+nodeIP,
		"--tls-cert-file="+p.file("apiserver.crt"), "--tls-private-key-file="+p.file("apiserver.key"),
		"--cert-dir="+n.s.path("apiserver"),
		"--token-auth-file="+p.file("tokens.csv"), "--anonymous-auth=false",
		"--authorization-mode=AlwaysAllow",
		"--service-account-key-file="+p.file("sa.pub"), "--service-account-signing-key-file="+p.file("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range="+serviceCIDR,
		"--disable-admission-plugins=ServiceAccount",
		// The API server reaches the kubelet (logs) at the node IP: the node's name does not resolve.
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority="+p.file("ca.crt"),
		"--profiling=false", "--v=1")
	if err := daemon(n.s, "kube-apiserver", cmd); err != nil {
		return err
	}
	client := n.httpsClient()
	header := http.Header{"Authorization": {"Bearer " + p.adminToken}}
	if err := waitFor("kube-apiserver /readyz", 120*time.Second, func() error {
		if err := alive(n.s, "kube-apiserver"); err != nil {
			return err
		}
		return httpOK(client, fmt.Sprintf("https://127.0.0.1:%d/readyz", apiPort), header)
	}); err != nil {
		return err
	}
	api, err := kubernetes.NewForConfig(n.restConfig())
	if err != nil {
		return fmt.Errorf("client for the API server: %w", err)
	}
	n.api = api
	return nil
}

func (n *node) httpsClient() *http.Client {
	return &http.Client{Transport: httpsTransport(n.pki.caPEM)}
}

func (n *node) restConfig() *rest.Config {
	return &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		BearerToken:     n.pki.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: n.pki.caPEM},
		// No proxy, whatever the environment says: the API server is on loopback.
		Proxy:   func(*http.Request) (*url.URL, error) { return nil, nil },
		QPS:     50,
		Burst:   100,
		Timeout: 30 * time.Second,
	}
}

func (n *node) kubeconfig(user, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster: {server: "https://127.0.0.1:%[2]d", certificate-authority: %[3]q}
users:
- name: %[4]s
  user: {token: %[5]q}
contexts:
- name: %[1]s
  context: {cluster: %[1]s, user: %[4]s}
current-context: %[1]s
`, nodeName, apiPort, n.pki.file("ca.crt"), user, token)
}

func (n *node) waitNodeReady() error {
	return waitFor("node "+nodeName+" Ready", 120*time.Second, func() error {
		if err := alive(n.s, "kubelet"); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		no, err := n.api.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range no.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready yet", nodeName)
	})
}
