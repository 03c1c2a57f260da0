package registrytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startTimeout bounds how long StartDistribution waits for /v2/ to answer;
// the registry is usually up in a fraction of a second.
const startTimeout = 30 * time.Second

// pollInterval is how often /v2/ is probed while the registry starts.
const pollInterval = 20 * time.Millisecond

// StartDistribution runs the CNCF Distribution registry as a child process
// on a free 127.0.0.1 port, with its storage, configuration and log in a
// fresh temporary directory (Registry.Dir). It returns once /v2/ answers.
// The binary is built on first use (see DistributionBinary).
//
// The port is chosen without a race: this process opens the listening socket
// and hands it to the registry through systemd socket activation, which
// Distribution supports, so no other process can take the port in between.
func StartDistribution(opts ...Option) (*Registry, error) {
	o := collect(opts)
	if strings.Contains(o.username, ":") {
		return nil, fmt.Errorf("start registry: htpasswd user %q contains a colon", o.username)
	}
	bin, err := DistributionBinary()
	if err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	dir, err := os.MkdirTemp("", "registrytest-*")
	if err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	r, err := startIn(dir, bin, o)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start registry: %w", err)
	}
	return r, nil
}

func startIn(dir, bin string, o options) (*Registry, error) {
	cfg, caPEM, err := writeConfig(dir, o)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	defer logFile.Close()

	// Socket activation wants LISTEN_PID to be the registry's own pid, which
	// is unknown before the fork; a shell that sets it to $$ and then execs
	// the registry (keeping the pid) solves that.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, bin, "serve", cfg)
	cmd.Env = childEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childAttr()
	host, err := startWithListener(cmd, o.ip)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	r := &Registry{
		Host:      host,
		Username:  o.username,
		Password:  o.password,
		CACertPEM: caPEM,
		Dir:       dir,
		logPath:   logPath,
	}
	if err := waitReady(r, exited); err != nil {
		stop()
		if errors.Is(err, errExited) {
			err = fmt.Errorf("%w (%v)", err, waitErr)
		}
		return nil, fmt.Errorf("%w; registry log:\n%s", err, r.Log())
	}
	r.stop = func() {
		stop()
		_ = os.RemoveAll(dir)
	}
	return r, nil
}

// startWithListener opens a socket on a free port of ip (127.0.0.1 when
// empty), starts cmd with it as fd 3 (as LISTEN_FDS=1 announces), and closes
// this process's copies, so that the port refuses connections as soon as the child exits.
func startWithListener(cmd *exec.Cmd, ip string) (string, error) {
	if ip == "" {
		ip = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return "", fmt.Errorf("listener file: %w", err)
	}
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	return ln.Addr().String(), nil
}

// childEnv is this process's environment without what would reconfigure
// the registry behind the config file's back (REGISTRY_* overrides any
// setting) or make it reach beyond loopback (OpenTelemetry exporters).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REGISTRY_") || strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "LISTEN_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"LISTEN_FDS=1",
		"OTEL_SDK_DISABLED=true",
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	)
}

var errExited = errors.New("registry exited before answering /v2/")

// waitReady polls /v2/ until the registry answers (200, or 401 when auth is
// on), the process exits, or startTimeout passes.
func waitReady(r *Registry, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// A probe in flight must not outlive the process it probes.
	probeCtx, cancelProbe := context.WithCancel(ctx)
	defer cancelProbe()
	go func() {
		select {
		case <-exited:
			cancelProbe()
		case <-probeCtx.Done():
		}
	}()
	client := &http.Client{Transport: r.Transport(), Timeout: time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(probeCtx, http.MethodGet, r.URL()+"/v2/", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		last = err
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("wait for /v2/ for %s: %w", startTimeout, last)
		case <-tick.C:
		}
	}
}
