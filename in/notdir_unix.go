package in

import (
	"errors"
	"syscall"
)

// isNotDir reports an ENOTDIR: a path through a regular file, which holds
// nothing to delete.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }
