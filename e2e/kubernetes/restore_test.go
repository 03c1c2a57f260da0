//go:build kubernetes

package kubernetes_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// hostState is what the node changes outside the run directory, saved
// before the first change into run/host.json, so that the next run can
// restore the host after a kill -9 of this one.
type hostState struct {
	Sysctls    map[string]string `json:"sysctls"`
	IPTables   string            `json:"iptables"`
	IP6Tables  string            `json:"ip6tables"`
	Netns      []string          `json:"netns"`
	CNIResults []string          `json:"cni_results"`
	Cgroups    []string          `json:"cgroups"`
	// CreatedDirs did not exist: removed again when empty.
	CreatedDirs []string `json:"created_dirs"`
}

// The sysctls kubelet sets (it tunes the kernel for its OOM and panic
// handling) and the one the CNI bridge plugin turns on (isGateway).
var nodeSysctls = []string{"vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops",
	"kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes", "net.ipv4.ip_forward"}

// Host paths written whatever the flags say: kubelet's device-plugins
// directory and container log links, containerd 1.6's shim sockets, CNI's
// network namespaces and result cache.
var hostDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/run/containerd", "/var/run/netns", "/var/lib/cni"}

func saveHost(s settings) (*hostState, error) {
	h := &hostState{Sysctls: map[string]string{}}
	for _, k := range nodeSysctls {
		v, err := os.ReadFile(sysctlPath(k))
		if err != nil {
			return nil, fmt.Errorf("read sysctl %s: %w", k, err)
		}
		h.Sysctls[k] = strings.TrimSpace(string(v))
	}
	h.IPTables, _ = output("iptables-save")
	h.IP6Tables, _ = output("ip6tables-save")
	h.Netns, _ = filepath.Glob("/var/run/netns/cni-*")
	h.CNIResults, _ = filepath.Glob("/var/lib/cni/results/*")
	h.Cgroups, _ = filepath.Glob("/sys/fs/cgroup/*/kubepods")
	for _, d := range hostDirs {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			h.CreatedDirs = append(h.CreatedDirs, d)
		}
	}
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	return h, os.WriteFile(s.path("host.json"), data, 0o600)
}

func sysctlPath(k string) string { return "/proc/sys/" + strings.ReplaceAll(k, ".", "/") }

func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}

// stopNode stops everything a run started, by recorded PID, and restores
// the host from run/host.json; then it removes the run directory. It is
// what the suite does at its end (success, failure, ^C) and at its start
// when a killed run left a run directory. It reports what it could not undo.
func stopNode(s settings, log io.Writer) error {
	if _, err := os.Stat(s.run()); os.IsNotExist(err) {
		return nil
	}
	var h hostState
	if data, err := os.ReadFile(s.path("host.json")); err == nil {
		_ = json.Unmarshal(data, &h)
	}
	stopNamed(s, "kubelet", 20*time.Second, log) // first, so that it recreates nothing
	stopNamed(s, "containerd", 20*time.Second, log)
	killShims(s, log)
	removeShimSockets(s, log)
	deleteRuncContainers(s, log)
	for _, name := range []string{"kube-apiserver", "etcd", "registry"} {
		stopNamed(s, name, 20*time.Second, log)
	}
	for _, pid := range strays(s) {
		fmt.Fprintf(log, "stopping stray process %d\n", pid)
		stopPID(s, pid, 5*time.Second)
	}
	removeNetns(h, log)
	unmountUnder(s.run(), log)
	removeCgroups(h, log)
	removeNetwork(h, log)
	restoreSysctls(h, log)
	cleanHostPaths(s, h, log)
	if m := mountsUnder(s.run()); len(m) > 0 {
		return fmt.Errorf("mounts remain below %s (%s): left in place", s.run(), strings.Join(m, ", "))
	}
	if p := strays(s); len(p) > 0 {
		return fmt.Errorf("processes %v still name %s: left in place", p, s.run())
	}
	return os.RemoveAll(s.run())
}

// deleteRuncContainers force-deletes what runc still holds in the run's
// runc root (containers of a containerd that was killed).
func deleteRuncContainers(s settings, log io.Writer) {
	roots, _ := filepath.Glob(s.path("runc", "*"))
	for _, root := range roots {
		out, _ := output("runc", "--root", root, "list", "-q")
		for _, id := range lines(out) {
			if exec.Command("runc", "--root", root, "delete", "-f", id).Run() == nil {
				fmt.Fprintf(log, "runc delete %s\n", id)
			}
		}
	}
}

// removeNetns unmounts and removes the pods' network namespaces that were
// not there before the run; their veths go with them.
func removeNetns(h hostState, log io.Writer) {
	now, _ := filepath.Glob("/var/run/netns/cni-*")
	for _, n := range now {
		if contains(h.Netns, n) {
			continue
		}
		_ = syscall.Unmount(n, syscall.MNT_DETACH)
		if os.Remove(n) == nil {
			fmt.Fprintf(log, "removed netns %s\n", n)
		}
	}
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mounts")
	var out []string
	for _, l := range lines(string(data)) {
		f := strings.Fields(l)
		if len(f) > 1 {
			// /proc/mounts escapes spaces and such as octal; the suite's paths have none.
			if f[1] == dir || strings.HasPrefix(f[1], dir+"/") {
				out = append(out, f[1])
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func unmountUnder(dir string, log io.Writer) {
	for _, m := range mountsUnder(dir) {
		if err := syscall.Unmount(m, 0); err != nil {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
		fmt.Fprintf(log, "umount %s\n", m)
	}
}

// removeCgroups removes the kubepods hierarchy kubelet created in each v1
// controller, deepest first (a cgroup directory goes with rmdir only).
func removeCgroups(h hostState, log io.Writer) {
	now, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	for _, d := range now {
		if contains(h.Cgroups, d) {
			continue
		}
		removeEmptyDirs(d) // a cgroup directory goes with rmdir, once its children have
		if _, err := os.Stat(d); err == nil {
			fmt.Fprintf(log, "WARN could not remove cgroup %s\n", d)
		}
	}
}

func restoreSysctls(h hostState, log io.Writer) {
	for k, v := range h.Sysctls {
		cur, err := os.ReadFile(sysctlPath(k))
		if err != nil || strings.TrimSpace(string(cur)) == v {
			continue
		}
		if err := os.WriteFile(sysctlPath(k), []byte(v), 0o644); err == nil {
			fmt.Fprintf(log, "restored %s=%s\n", k, v)
		}
	}
}

// cleanHostPaths removes what the run left outside its directory: log
// links into it, kubelet's device-plugin socket, CNI result entries that
// are new, and the directories the run created, if nothing else wrote there.
func cleanHostPaths(s settings, h hostState, log io.Writer) {
	links, _ := filepath.Glob("/var/log/containers/*")
	for _, l := range links {
		if t, err := os.Readlink(l); err == nil && strings.HasPrefix(t, s.run()+"/") {
			_ = os.Remove(l)
		}
	}
	_ = os.Remove("/var/lib/kubelet/device-plugins/kubelet.sock")
	results, _ := filepath.Glob("/var/lib/cni/results/*")
	for _, r := range results {
		base := filepath.Base(r)
		if !contains(h.CNIResults, r) && (strings.HasPrefix(base, "refimage-k8s-") || strings.HasPrefix(base, "cni-loopback-")) {
			_ = os.Remove(r)
		}
	}
	for _, d := range h.CreatedDirs {
		removeEmptyDirs(d)
		if _, err := os.Stat(d); err == nil {
			fmt.Fprintf(log, "WARN %s is not empty, left in place\n", d)
		}
	}
}

// removeEmptyDirs removes dir and its subdirectories, deepest first, where
// they are empty; files (someone else's) stop it.
func removeEmptyDirs(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, p := range dirs {
		_ = syscall.Rmdir(p)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
