//go:build concourse

package concourse_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	webURL  = "http://127.0.0.1:8080"
	pgPort  = "5433"
	workerN = "e2e-worker"
)

// concourse is a running web + worker, driven through fly.
type concourse struct {
	s   settings
	fly string
}

// start brings up Postgres, web and a worker, in the order and with the
// flags of ../shared/concourse/reference-up.sh (whose comments give the
// reasons), each recorded by PID for stopAll.
func start(s settings) *concourse {
	for _, d := range []string{"bin", "home", "keys"} {
		Expect(os.MkdirAll(filepath.Join(s.state, d), 0o755)).To(Succeed())
	}
	if _, err := os.Stat(filepath.Join(s.state, "bin", "concourse")); err != nil {
		_, err := run("tar", "-xJf", filepath.Join(s.dist, "concourse-bin.tar.xz"), "-C", filepath.Join(s.state, "bin"))
		Expect(err).NotTo(HaveOccurred())
	}
	startPostgres(s)
	startWeb(s)
	c := &concourse{s: s, fly: filepath.Join(s.state, "bin", "fly")}
	Eventually(func() error {
		_, err := c.run("login", "-c", webURL, "-u", "test", "-p", "test")
		return err
	}, time.Minute, time.Second).Should(Succeed())
	makeBridge()
	startWorker(s)
	Eventually(func() (string, error) { return c.run("workers") }, 2*time.Minute, 2*time.Second).
		Should(MatchRegexp(workerN + `\s.*running`))
	return c
}

// asPostgres runs cmd as the postgres user, which Postgres insists on.
func asPostgres(cmd *exec.Cmd) *exec.Cmd {
	u, err := user.Lookup("postgres")
	Expect(err).NotTo(HaveOccurred(), "the postgres user (apt-get install postgresql)")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"}
	return cmd
}

// startPostgres runs a fresh cluster on 127.0.0.1:5433, in the foreground
// (no pg_ctl), so its PID is the postmaster's.
func startPostgres(s settings) {
	bin, err := postgresBin()
	Expect(err).NotTo(HaveOccurred())
	pg, sock := filepath.Join(s.state, "pg"), filepath.Join(s.state, "pgsock")
	Expect(os.RemoveAll(pg)).To(Succeed())
	for _, d := range []string{pg, sock} {
		Expect(os.MkdirAll(d, 0o700)).To(Succeed())
		_, err := run("chown", "postgres:postgres", d)
		Expect(err).NotTo(HaveOccurred())
	}
	out, err := asPostgres(exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(pg, "data"),
		"-U", "postgres", "--auth=trust", "-E", "UTF8")).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	daemon(s, "postgres", asPostgres(exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(pg, "data"),
		"-c", "listen_addresses=127.0.0.1", "-p", pgPort, "-k", sock)))
	Eventually(func() error {
		return asPostgres(exec.Command(filepath.Join(bin, "pg_isready"), "-h", "127.0.0.1", "-p", pgPort)).Run()
	}, time.Minute, 500*time.Millisecond).Should(Succeed())
	out, err = asPostgres(exec.Command("/usr/bin/createdb", "-h", "127.0.0.1", "-p", pgPort, "concourse")).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
}

func startWeb(s settings) {
	keys := filepath.Join(s.state, "keys")
	concourseBin := filepath.Join(s.state, "bin", "concourse")
	for _, k := range []struct{ kind, file string }{{"rsa", "session_signing_key"}, {"ssh", "tsa_host_key"}, {"ssh", "worker_key"}} {
		_ = os.Remove(filepath.Join(keys, k.file))
		_, err := run(concourseBin, "generate-key", "-t", k.kind, "-f", filepath.Join(keys, k.file))
		Expect(err).NotTo(HaveOccurred())
	}
	pub, err := os.ReadFile(filepath.Join(keys, "worker_key.pub"))
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(keys, "authorized_worker_keys"), pub, 0o600)).To(Succeed())
	daemon(s, "web", exec.Command(concourseBin, "web",
		"--bind-ip", "127.0.0.1", "--bind-port", "8080", "--external-url", webURL, "--peer-address", "127.0.0.1",
		"--tsa-bind-ip", "127.0.0.1", "--tsa-bind-port", "2222", "--tsa-peer-address", "127.0.0.1",
		"--tsa-host-key", filepath.Join(keys, "tsa_host_key"),
		"--tsa-authorized-keys", filepath.Join(keys, "authorized_worker_keys"),
		"--session-signing-key", filepath.Join(keys, "session_signing_key"),
		"--postgres-host", "127.0.0.1", "--postgres-port", pgPort, "--postgres-user", "postgres",
		"--postgres-database", "concourse",
		"--add-local-user", "test:test", "--main-team-local-user", "test", "--cluster-name", "e2e"))
	Eventually(func() error {
		resp, err := http.Get(webURL + "/api/v1/info")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/api/v1/info: %s", resp.Status)
		}
		return nil
	}, time.Minute, time.Second).Should(Succeed())
}

const containerdConfig = `version = 2
oom_score = -999
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
`

// startWorker runs a worker with the containerd runtime and refimage's
// bundle as its registry-image base type, as docs/ship.md tells platform
// teams: a resource-types directory with a registry-image subdirectory.
func startWorker(s settings) {
	types := filepath.Join(s.state, "resource-types")
	Expect(os.RemoveAll(types)).To(Succeed())
	Expect(os.MkdirAll(types, 0o755)).To(Succeed())
	_, err := run("cp", "-r", s.baseType, filepath.Join(types, "registry-image"))
	Expect(err).NotTo(HaveOccurred())
	conf := filepath.Join(s.state, "containerd.toml")
	Expect(os.WriteFile(conf, []byte(containerdConfig), 0o644)).To(Succeed())
	work := filepath.Join(s.state, "worker")
	Expect(os.MkdirAll(work, 0o755)).To(Succeed())
	keys := filepath.Join(s.state, "keys")
	daemon(s, "worker", exec.Command(filepath.Join(s.state, "bin", "concourse"), "worker",
		"--name", workerN, "--work-dir", work,
		"--bind-ip", "127.0.0.1", "--debug-bind-ip", "127.0.0.1", "--healthcheck-bind-ip", "127.0.0.1",
		"--tsa-host", "127.0.0.1:2222", "--tsa-public-key", filepath.Join(keys, "tsa_host_key.pub"),
		"--tsa-worker-private-key", filepath.Join(keys, "worker_key"),
		"--resource-types", types,
		"--runtime", "containerd", "--containerd-config", conf, "--containerd-bin", "/usr/bin/containerd",
		"--containerd-init-bin", filepath.Join(s.state, "bin", "init"), "--containerd-cni-plugins-dir", "/usr/lib/cni",
		"--containerd-network-pool", pool, "--containerd-mtu", "1500", "--containerd-external-ip", "127.0.0.1",
		// containers reach the registry on the gateway; without this the
		// worker also flushes the host's INPUT chain
		"--containerd-allow-host-access",
		// no usable resolver, and every address beyond this host refused
		"--containerd-dns-server", "127.0.0.1",
		"--containerd-restricted-network", "0.0.0.0/1", "--containerd-restricted-network", "128.0.0.0/1",
		"--baggageclaim-bind-ip", "127.0.0.1", "--baggageclaim-debug-bind-ip", "127.0.0.1",
		"--baggageclaim-driver", "overlay"))
}

// stopAll stops whatever a run (this one or a stale one) left: containers,
// the worker, web, Postgres, then any process
// still naming the state directory; then the worker's mounts, the NAT
// rules and the bridge. Each step tolerates finding nothing.
func stopAll(s settings) {
	if _, ok := ownPID(s, "worker"); ok {
		killContainers()
		// TERM, not a retire (USR2): Postgres, and web's memory of this
		// worker with it, goes next.
		stopNamed(s, "worker", syscall.SIGTERM, 10*time.Second)
	}
	stopNamed(s, "web", syscall.SIGTERM, 30*time.Second)
	stopNamed(s, "postgres", syscall.SIGINT, 30*time.Second)
	for _, pid := range strays(s) {
		GinkgoWriter.Printf("stopping stray pid %d\n", pid)
		stopPID(s, pid, syscall.SIGTERM, 10*time.Second)
	}
	killShims()
	unmountUnder(shimTasks)
	unmountUnder(filepath.Join(s.state, "worker"))
	_ = os.RemoveAll(filepath.Join(s.state, "worker")) // a restarted worker cannot remove old volumes
	removeNetwork()
}

const containerdSocket = "/run/containerd/containerd.sock"

// killContainers kills the tasks and deletes the containers of the
// worker's containerd, as the reference script does before retiring it.
func killContainers() {
	ctr := func(args ...string) string {
		cmd := exec.Command("ctr", append([]string{"-a", containerdSocket, "-n", "concourse"}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			GinkgoWriter.Printf("ctr %s: %v %s\n", strings.Join(args, " "), err, stderr.String())
			return ""
		}
		return string(out)
	}
	tasks := fields(ctr("task", "ls", "-q"))
	for _, id := range tasks {
		ctr("task", "kill", "-s", "SIGKILL", id)
	}
	for _, id := range tasks {
		ctr("task", "delete", "-f", id)
	}
	for _, id := range fields(ctr("container", "ls", "-q")) {
		ctr("container", "delete", id)
	}
}

// shimTasks holds the bundles (and rootfs mounts) of the containers of the
// worker's containerd, in its namespace "concourse".
const shimTasks = "/run/containerd/io.containerd.runtime.v2.task/concourse"

// killShims kills what outlives the worker's containerd: the shims of its
// namespace on its socket (no other containerd may use that socket while
// the suite runs, see requireHost) and the container processes under them.
func killShims() {
	entries, _ := os.ReadDir("/proc")
	parents := map[int][]int{}
	var shims []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 1 {
				ppid, _ := strconv.Atoi(f[1])
				parents[ppid] = append(parents[ppid], pid)
			}
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(cmdline), "\x00")
		if strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") &&
			strings.Contains(string(cmdline), "-namespace\x00concourse\x00") &&
			strings.Contains(string(cmdline), "-address\x00"+containerdSocket+"\x00") {
			shims = append(shims, pid)
		}
	}
	for _, shim := range shims {
		GinkgoWriter.Printf("killing the shim %d of a container the worker left, and its processes\n", shim)
		for _, child := range parents[shim] {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(shim, syscall.SIGKILL)
	}
}
