//go:build concourse

package concourse_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/procs"
)

// settings are where the suite finds Concourse and keeps its state.
type settings struct {
	// dist holds concourse-bin.tar.xz: REFIMAGE_CONCOURSE_DIR, else
	// ../shared/concourse next to the repository.
	dist string
	// state holds binaries, Postgres, keys, logs, PID files and the
	// worker's directory: REFIMAGE_CONCOURSE_STATE, else
	// /tmp/refimage-concourse-e2e. Every process the suite starts names
	// this directory on its command line, which is how a later run finds
	// a stale run's processes.
	state string
	// baseType is the `make base-type` bundle: REFIMAGE_BASE_TYPE, else
	// .cache/base-type.
	baseType string
	// imageLayout is the `make image` OCI layout: .cache/image.
	imageLayout string
	repo        string
}

func settingsFromEnv() settings {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	s := settings{
		dist:        filepath.Join(repo, "..", "shared", "concourse"),
		state:       "/tmp/refimage-concourse-e2e",
		baseType:    filepath.Join(repo, ".cache", "base-type"),
		imageLayout: filepath.Join(repo, ".cache", "image"),
		repo:        repo,
	}
	if d := os.Getenv("REFIMAGE_CONCOURSE_DIR"); d != "" {
		s.dist = d
	}
	if d := os.Getenv("REFIMAGE_CONCOURSE_STATE"); d != "" {
		s.state = d
	}
	if d := os.Getenv("REFIMAGE_BASE_TYPE"); d != "" {
		s.baseType = d
	}
	return s
}

// requireHost fails with what to install or run when the machine lacks
// something the suite needs.
func requireHost(s settings) error {
	for _, bin := range []string{"containerd", "ctr", "runc", "iptables", "ip", "findmnt", "tar", "xz"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed: apt-get install postgresql containernetworking-plugins iptables containerd runc (see .ci/run)", bin)
		}
	}
	if _, err := postgresBin(); err != nil {
		return err
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return fmt.Errorf("the CNI bridge plugin is missing: apt-get install containernetworking-plugins")
	}
	if _, err := os.Stat(filepath.Join(s.dist, "concourse-bin.tar.xz")); err != nil {
		return fmt.Errorf("no concourse-bin.tar.xz in %s: set REFIMAGE_CONCOURSE_DIR to the directory that holds it", s.dist)
	}
	for _, f := range []string{filepath.Join(s.baseType, "rootfs.tgz"), filepath.Join(s.imageLayout, "index.json")} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing: run make base-type (make concourse-e2e does)", f)
		}
	}
	if err := exec.Command("ctr", "-a", containerdSocket, "version").Run(); err == nil {
		return fmt.Errorf("a containerd already answers on %s; the worker starts its own there: stop it first", containerdSocket)
	}
	return nil
}

func postgresBin() (string, error) {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(m) == 0 {
		return "", errors.New("postgres is not installed: apt-get install postgresql")
	}
	return filepath.Dir(m[len(m)-1]), nil
}

// run runs a command to completion and returns its combined output.
func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// daemon starts a long-running process in its own process group (so a ^C
// on the terminal reaches only the suite, which stops it in order), with
// its output in STATE/NAME.log and its PID in STATE/NAME.pid.
func daemon(s settings, name string, cmd *exec.Cmd) {
	logFile, err := os.Create(filepath.Join(s.state, name+".log"))
	Expect(err).NotTo(HaveOccurred())
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	Expect(cmd.Start()).To(Succeed(), "start %s", name)
	go func() { _ = cmd.Wait() }() // reaps it, so that a stopped process is gone
	Expect(os.WriteFile(pidFile(s, name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)).To(Succeed())
}

func pidFile(s settings, name string) string { return filepath.Join(s.state, name+".pid") }

// ownPID is the PID recorded for name, if that process still runs and is
// this suite's (its command line names the state directory).
func ownPID(s settings, name string) (int, bool) {
	return procs.Recorded(pidFile(s, name), s.state+"/")
}

// stopPID sends sig, waits up to wait for the process to go, then kills it.
func stopPID(s settings, pid int, sig syscall.Signal, wait time.Duration) {
	procs.Stop(pid, s.state+"/", sig, wait)
}

// stopNamed stops the process recorded as name, if it is still this suite's.
func stopNamed(s settings, name string, sig syscall.Signal, wait time.Duration) {
	if pid, ok := ownPID(s, name); ok {
		GinkgoWriter.Printf("stopping %s (pid %d)\n", name, pid)
		stopPID(s, pid, sig, wait)
	}
	_ = os.Remove(pidFile(s, name))
}

// strays are the processes left whose command line names the state
// directory: a killed worker's containerd, say.
func strays(s settings) []int { return procs.Strays(s.state + "/") }
