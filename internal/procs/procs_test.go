package procs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refimage/refimage/internal/procs"
)

// A sleep whose command line names a directory of the test's stands for a
// suite's daemon: Owned, Strays and Recorded find it by that marker, and
// Stop ends it; a process without the marker is never touched.
func TestFindsAndStopsOnlyMarkedProcesses(t *testing.T) {
	marker := t.TempDir() + "/"
	ours := exec.Command("sleep", "60")
	ours.Args[0] = marker + "sleep" // the command line names the marker, as a daemon's flags name its state directory
	other := exec.Command("sleep", "60")
	for _, c := range []*exec.Cmd{ours, other} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = c.Wait() }()
		waitForExec(t, c)
	}
	defer func() { _ = other.Process.Kill() }()

	if !procs.Owned(ours.Process.Pid, marker) || procs.Owned(other.Process.Pid, marker) {
		t.Fatalf("Owned: ours %v, other %v", procs.Owned(ours.Process.Pid, marker), procs.Owned(other.Process.Pid, marker))
	}
	if strays := procs.Strays(marker); !slices.Equal(strays, []int{ours.Process.Pid}) {
		t.Fatalf("Strays = %v, want [%d]", strays, ours.Process.Pid)
	}
	pidFile := filepath.Join(t.TempDir(), "other.pid")
	writePID(t, pidFile, other.Process.Pid)
	if _, ok := procs.Recorded(pidFile, marker); ok {
		t.Fatal("Recorded took another program's PID for the suite's")
	}

	procs.Stop(other.Process.Pid, marker, syscall.SIGTERM, time.Second)
	procs.Stop(ours.Process.Pid, marker, syscall.SIGTERM, 10*time.Second)
	if procs.Owned(ours.Process.Pid, marker) {
		t.Fatal("Stop left the suite's process running")
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Fatalf("Stop signalled a process without the marker: %v", err)
	}
}

// waitForExec waits until c's command line reads as c.Args. exec.Cmd.Start
// returns once the child's exec has closed its close-on-exec pipe, which is
// before the kernel has laid out the new program's arguments: until then
// /proc/PID/cmdline reads empty, and Owned rightly says no.
func waitForExec(t *testing.T, c *exec.Cmd) {
	t.Helper()
	want := strings.Join(c.Args, "\x00") + "\x00"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.Process.Pid), "cmdline"))
		if err == nil && string(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d: command line %q, want %q", c.Process.Pid, got, want)
		}
	}
}

func writePID(t *testing.T, path string, pid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
