//go:build kubernetes

package kubernetes_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/refimage/refimage/internal/procs"
)

// daemon starts a long-running process in its own process group (a ^C on
// the terminal reaches only the suite, which stops the node in order), with
// its output in logs/NAME.log and its PID in run/pids/NAME.pid. Every
// command line names the run directory: that is how stopPID tells the
// suite's process from another one that reused the PID.
func daemon(s settings, name string, cmd *exec.Cmd) error {
	if err := os.MkdirAll(s.path("pids"), 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(s.logs(), name+".log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "NO_PROXY=127.0.0.1,localhost,"+podSubnet, "no_proxy=127.0.0.1,localhost,"+podSubnet)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }() // reaps it, so a stopped process is gone, not a zombie
	return os.WriteFile(s.path("pids", name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

// ours reports whether pid runs and names the run directory on its
// command line. A zombie counts as gone.
func ours(s settings, pid int) bool { return procs.Owned(pid, s.run()+"/") }

// stopNamed stops the process recorded as name: SIGTERM, up to wait for it
// to go, then SIGKILL. A PID that is no longer the suite's is left alone.
func stopNamed(s settings, name string, wait time.Duration, log io.Writer) {
	f := s.path("pids", name+".pid")
	if pid, ok := procs.Recorded(f, s.run()+"/"); ok {
		fmt.Fprintf(log, "stopping %s (pid %d)\n", name, pid)
		stopPID(s, pid, wait)
	}
	_ = os.Remove(f)
}

func stopPID(s settings, pid int, wait time.Duration) {
	procs.Stop(pid, s.run()+"/", syscall.SIGTERM, wait)
}

// strays are processes whose command line names the run directory and
// that no PID file records: a killed containerd's shims, say.
func strays(s settings) []int { return procs.Strays(s.run() + "/") }

// shims are containerd-shim-runc-v2 processes attached to the suite's
// containerd socket; their command line names the socket, which is in the
// run directory, so strays finds them too, but they go first and with
// SIGKILL: a shim outlives containerd by design.
func killShims(s settings, log io.Writer) {
	for _, pid := range strays(s) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte("containerd-shim")) {
			fmt.Fprintf(log, "killing shim %d\n", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitFor polls check every 100 ms until it succeeds or timeout passes; it
// returns check's last error, named after what was awaited.
func waitFor(what string, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alive fails when the recorded process has exited, so a wait for a
// daemon that died at start ends at once with its log's tail.
func alive(s settings, name string) error {
	data, err := os.ReadFile(s.path("pids", name+".pid"))
	if err != nil {
		return err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if !ours(s, pid) {
		log, _ := os.ReadFile(filepath.Join(s.logs(), name+".log"))
		return fmt.Errorf("%w: %s exited; its log ends:\n%s", errExited, name, tail(string(log), 3000))
	}
	return nil
}

var errExited = errors.New("process exited")

// httpsTransport trusts only caPEM and never goes through a proxy: every
// address the suite dials is on this host.
func httpsTransport(caPEM []byte) *http.Transport {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t
}

func noProxyClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &http.Client{Transport: t, Timeout: 5 * time.Second}
}

// httpOK gets url with client and fails unless the status is 200.
func httpOK(client *http.Client, url string, header http.Header) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header = header
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}
