//go:build kubernetes

package kubernetes_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hostSnapshot prints the host state the node touches, restricted to
// what is the node's (other suites may run on the host meanwhile): its
// bridge, iptables rules and chains that name KUBE-, the bridge or the
// subnet, kubelet's sysctls, kubepods cgroups, the mounts and processes
// that name the state directory, and the host paths kubelet and
// containerd write. The suite compares a snapshot taken before the node
// starts with one taken after it stops.
func hostSnapshot(s settings) string {
	var b strings.Builder
	_, err := os.Stat("/sys/class/net/" + bridgeName)
	fmt.Fprintf(&b, "bridge %s exists: %v\n", bridgeName, err == nil)
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		out, _ := output(cmd)
		for _, l := range lines(out) {
			if ourRule.MatchString(l) {
				// chain lines carry packet counters: keep the name only
				fmt.Fprintf(&b, "%s: %s\n", cmd, strings.Fields(l)[0])
			}
		}
	}
	for _, k := range nodeSysctls {
		v, _ := os.ReadFile(sysctlPath(k))
		fmt.Fprintf(&b, "%s=%s\n", k, strings.TrimSpace(string(v)))
	}
	cg, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	fmt.Fprintf(&b, "kubepods cgroups: %v\n", cg)
	fmt.Fprintf(&b, "mounts under %s: %v\n", s.state, mountsUnder(s.state))
	fmt.Fprintf(&b, "processes naming %s: %v\n", s.run(), strays(s))
	for _, d := range append(hostDirs, "/var/lib/kubelet/device-plugins/kubelet.sock", "/run/containerd/s") {
		_, err := os.Stat(d)
		fmt.Fprintf(&b, "%s exists: %v\n", d, err == nil)
	}
	netns, _ := filepath.Glob("/var/run/netns/cni-*")
	fmt.Fprintf(&b, "cni netns: %v\n", netns)
	_, err = os.Stat(s.run())
	fmt.Fprintf(&b, "%s exists: %v\n", s.run(), err == nil)
	return b.String()
}

// deletePods deletes the suite's pods through the API and waits until
// kubelet has stopped them (a pod leaves the API once its containers and
// sandbox are gone), so that kubelet tears down their network itself.
func (n *node) deletePods(log io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	grace := int64(1)
	for _, ns := range []string{podNamespace, otherTeamNS} {
		_ = n.api.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{})
	}
	err := waitFor("pods gone", 45*time.Second, func() error {
		left := 0
		for _, ns := range []string{podNamespace, otherTeamNS} {
			pods, err := n.api.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			left += len(pods.Items)
		}
		if left > 0 {
			return fmt.Errorf("%d pods left", left)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(log, "WARN %v: stopping the node all the same\n", err)
	}
}
