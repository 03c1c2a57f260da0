package registrytest

import "syscall"

// childAttr makes the kernel kill the registry when the test binary dies, even
// by SIGKILL or a panic that skips Close, so no registry outlives its test.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
