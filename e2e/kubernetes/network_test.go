//go:build kubernetes

package kubernetes_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/refimage/refimage/internal/iptables"
)

// isolationRules keep the node to loopback and its bridge: only the bridge
// and this host reach the node IP (registry, kubelet API), pods reach
// nothing on this host but the registry on the node IP (not the kubelet's
// API, which takes anonymous requests), and nothing is forwarded out of
// the bridge, although the bridge plugin turns ip_forward on. Pods have no
// default route besides.
var isolationRules = [][]string{
	{"INPUT", "-d", nodeIP + "/32", "!", "-i", bridgeName, "-m", "addrtype", "!", "--src-type", "LOCAL", "-j", "DROP"},
	{"INPUT", "-i", bridgeName, "!", "-d", nodeIP + "/32", "-j", "REJECT"},
	{"INPUT", "-i", bridgeName, "-p", "tcp", "--dport", strconv.Itoa(kubeletPort), "-j", "REJECT"},
	{"FORWARD", "-i", bridgeName, "-j", "REJECT"},
	{"FORWARD", "-o", bridgeName, "-j", "REJECT"},
}

// makeNetwork creates the bridge that holds the node IP (kubelet rejects a
// loopback node IP, and the bridge is the pods' gateway), the isolation
// rules, and the CNI configuration that attaches pods to it.
func makeNetwork(s settings) error {
	for _, args := range [][]string{
		{"link", "add", bridgeName, "type", "bridge"},
		// A fixed MAC: a bridge without one takes the lowest of its ports'
		// and changes as pods come and go, which stales the pods' ARP entries.
		{"link", "set", bridgeName, "address", bridgeMAC},
		{"addr", "add", nodeIP + "/24", "dev", bridgeName},
		{"link", "set", bridgeName, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, rule := range isolationRules {
		if out, err := exec.Command("iptables", append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -I %s: %w: %s", strings.Join(rule, " "), err, out)
		}
	}
	// Routes: the subnet only, so a pod has no default route at all.
	conf := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "refimage-k8s",
  "plugins": [{
    "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": false,
    "ipam": {"type": "host-local", "dataDir": %q,
      "ranges": [[{"subnet": %q, "rangeStart": "%s.10", "gateway": %q}]],
      "routes": [{"dst": %q}]}
  }]
}`, bridgeName, s.path("cni", "ipam"), podSubnet, subnetPrefix, nodeIP, podSubnet)
	if err := os.MkdirAll(s.path("cni", "net.d"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(s.path("cni", "net.d", "10-refimage-k8s.conflist"), []byte(conf), 0o644)
}

// removeNetwork deletes the bridge and every iptables rule and chain that
// is the node's (the isolation rules, kubelet's KUBE-* chains, anything
// naming the bridge or the subnet) and was not there before the run.
// Other programs' rules are left alone.
func removeNetwork(h hostState, log io.Writer) {
	if exec.Command("ip", "link", "show", bridgeName).Run() == nil {
		if exec.Command("ip", "link", "del", bridgeName).Run() == nil {
			fmt.Fprintf(log, "deleted bridge %s\n", bridgeName)
		}
	}
	undoRules("iptables", h.IPTables, log)
	undoRules("ip6tables", h.IP6Tables, log)
}

var ourRule = regexp.MustCompile(`KUBE-|` + regexp.QuoteMeta(bridgeName) + `|` + regexp.QuoteMeta(subnetPrefix+"."))

// undoRules deletes the node's rules added since before (an iptables-save
// output), then its user-defined chains.
func undoRules(cmd, before string, log io.Writer) {
	now, err := output(cmd + "-save")
	if err != nil {
		return
	}
	old := savedTables(before)
	for _, pass := range []string{"rules", "chains"} {
		table := ""
		for _, line := range lines(now) {
			switch {
			case strings.HasPrefix(line, "*"):
				table = line[1:]
			case pass == "rules" && strings.HasPrefix(line, "-A ") && ourRule.MatchString(line) && !old[table][line]:
				if exec.Command(cmd, iptables.DeleteArgs(table, line)...).Run() == nil {
					fmt.Fprintf(log, "%s -t %s -D %s\n", cmd, table, strings.TrimPrefix(line, "-A "))
				}
			case pass == "chains" && strings.HasPrefix(line, ":") && strings.Contains(line, " - "):
				chain := strings.Fields(line[1:])[0]
				if ourRule.MatchString(chain) && !old[table]["chain "+chain] {
					_ = exec.Command(cmd, "-t", table, "-F", chain).Run()
					if exec.Command(cmd, "-t", table, "-X", chain).Run() == nil {
						fmt.Fprintf(log, "%s -t %s -X %s\n", cmd, table, chain)
					}
				}
			}
		}
	}
}

// savedTables indexes an iptables-save output: per table, its rules as
// printed and "chain NAME" for each chain.
func savedTables(save string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	table := ""
	for _, line := range lines(save) {
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			out[table] = map[string]bool{}
		case strings.HasPrefix(line, ":") && table != "":
			out[table]["chain "+strings.Fields(line[1:])[0]] = true
		case strings.HasPrefix(line, "-A ") && table != "":
			out[table][line] = true
		}
	}
	return out
}

// removeShimSockets removes the sockets killed shims leave in
// /run/containerd/s: containerd 1.6 names each after
// sha256("<containerd socket>/<namespace>/<task id>").
func removeShimSockets(s settings, log io.Writer) {
	tasks, _ := filepath.Glob(s.path("containerd", "state", "io.containerd.runtime.v2.task", "*", "*"))
	for _, t := range tasks {
		sum := sha256.Sum256([]byte(s.containerdSocket() + "/" + filepath.Base(filepath.Dir(t)) + "/" + filepath.Base(t)))
		sock := filepath.Join("/run/containerd/s", hex.EncodeToString(sum[:]))
		if os.Remove(sock) == nil {
			fmt.Fprintf(log, "removed shim socket %s\n", sock)
		}
	}
}
