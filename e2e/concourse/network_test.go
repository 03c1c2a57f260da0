//go:build concourse

package concourse_test

import (
	"os"
	"os/exec"
	"sort"
	"strings"

	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/iptables"
)

const (
	// pool is the containers' network; its first address is the gateway,
	// the one address beyond 127.0.0.1 where the suite listens (the
	// registries).
	pool    = "10.250.0.0/24"
	gateway = "10.250.0.1"
	// bridge is the name Concourse's CNI configuration uses.
	bridge = "concourse0"
	// bridgeMAC is fixed: a bridge without one takes the lowest MAC of its
	// ports, which changes as containers come and go, and containers' ARP
	// entries for the gateway go stale.
	bridgeMAC = "02:00:0a:fa:00:01"
)

// gatewayRule admits to the gateway address only the bridge and the host.
var gatewayRule = []string{"INPUT", "-d", gateway + "/32", "!", "-i", bridge, "-m", "addrtype", "!", "--src-type", "LOCAL", "-j", "DROP"}

// makeBridge creates the bridge with the gateway address before the worker
// does, so the registries can listen on it before the first container.
func makeBridge() {
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"link", "set", bridge, "address", bridgeMAC},
		{"addr", "add", gateway + "/24", "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		_, err := run("ip", args...)
		Expect(err).NotTo(HaveOccurred())
	}
	_, err := run("iptables", append([]string{"-I"}, gatewayRule...)...)
	Expect(err).NotTo(HaveOccurred())
}

// removeNetwork undoes makeBridge and what CNI left of the containers'
// network: NAT rules and chains, forward rules, IP allocations.
func removeNetwork() {
	ipt := func(args ...string) string {
		out, _ := exec.Command("iptables", args...).Output()
		return string(out)
	}
	for _, rule := range lines(ipt("-t", "nat", "-S", "POSTROUTING")) {
		if strings.Contains(rule, `name: \"concourse\"`) || strings.Contains(rule, `name: "concourse"`) {
			deleteRule("nat", rule)
		}
	}
	nat := ipt("-t", "nat", "-S")
	for _, rule := range lines(nat) {
		if chain, ok := strings.CutPrefix(rule, "-N CNI-"); ok && !strings.Contains(nat, "-j CNI-"+chain+"\n") {
			ipt("-t", "nat", "-F", "CNI-"+chain)
			ipt("-t", "nat", "-X", "CNI-"+chain)
		}
	}
	for _, rule := range lines(ipt("-S", "CNI-FORWARD")) {
		if strings.Contains(rule, "10.250.0.") {
			deleteRule("filter", rule)
		}
	}
	for exec.Command("iptables", append([]string{"-D"}, gatewayRule...)...).Run() == nil {
	}
	_ = exec.Command("ip", "link", "del", bridge).Run()
	_ = os.RemoveAll("/var/lib/cni/networks/concourse")
}

// deleteRule deletes a rule as `iptables -S` printed it, quotes and all.
func deleteRule(table, rule string) {
	_ = exec.Command("iptables", iptables.DeleteArgs(table, rule)...).Run()
}

// unmountUnder lazily unmounts every mount below dir, deepest first
// (baggageclaim's overlay and bind mounts of volumes).
func unmountUnder(dir string) {
	out, _ := exec.Command("findmnt", "-rn", "-o", "TARGET").Output()
	var targets []string
	for _, t := range lines(string(out)) {
		if strings.HasPrefix(t, dir+"/") || t == dir {
			targets = append(targets, t)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(targets)))
	for _, t := range targets {
		_ = exec.Command("umount", "-l", t).Run()
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func fields(s string) []string { return strings.Fields(s) }
