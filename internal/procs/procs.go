// Package procs finds and stops the processes an end-to-end suite started.
// A suite's process is recognised by a marker on its command line (the
// suite's state directory), never by its PID alone: after a crash or a
// kill -9 the PID in a PID file may belong to another program by now.
package procs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// poll is how often Stop looks whether a signalled process has gone.
const poll = 50 * time.Millisecond

// afterKill bounds the wait for a process to go after SIGKILL.
const afterKill = 5 * time.Second

// Owned reports whether pid runs and names marker on its command line. A
// zombie counts as gone: an exited child whose parent has gone stays one
// until PID 1 reaps it, and there is nothing left of it to stop.
func Owned(pid int, marker string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(marker))
}

// Stop sends sig to pid, waits up to wait for it to go, then kills it and
// waits a little longer. A process that does not name marker is left alone.
func Stop(pid int, marker string, sig syscall.Signal, wait time.Duration) {
	if !Owned(pid, marker) {
		return
	}
	_ = syscall.Kill(pid, sig)
	if gone(pid, marker, wait) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	gone(pid, marker, afterKill)
}

func gone(pid int, marker string, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); ; time.Sleep(poll) {
		if !Owned(pid, marker) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Recorded is the PID a suite wrote to pidFile, when that process still
// runs and names marker.
func Recorded(pidFile, marker string) (int, bool) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	return pid, Owned(pid, marker)
}

// Strays are the processes, other than this one, that name marker: what a
// killed suite left, such as a containerd's shims.
func Strays(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != syscall.Getpid() && Owned(pid, marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}
