package registrytest

import "syscall"

// childAttr makes the kernel kill the registry when the test binary dies, even
// by SIGKILL or a panic that skips Close, so no registry outlives its test.
// (Strictly, the signal follows the OS thread that forked; the Go runtime only
// retires threads that a goroutine locked and never unlocked, which this
// package never does.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
