//go:build !linux

package registrytest

import "syscall"

// childAttr has nothing to add where Pdeathsig does not exist; Close still
// kills the registry.
func childAttr() *syscall.SysProcAttr {
	return nil
}
