package in

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// An entry's metadata is set as container runtimes set it: its owner
// first (chown clears setuid, setgid and file capabilities), then its
// mode, then its extended attributes, then its times, to the nanosecond.
// A directory's mode and times wait until every layer is written (see
// finish): a read-only directory must stay writable until then, and
// writing into a directory changes its mtime.

type dirAttrs struct {
	mode  fs.FileMode
	mtime time.Time
}

// fileAttrs are what is set on a regular file once written.
type fileAttrs struct {
	chown    bool
	uid, gid int
	mode     fs.FileMode
	mtime    time.Time
	xattrs   []xattr
	name     string // the entry's, for warnings
	notes    *xattrNotes
}

// set gives f its owner, mode, xattrs and mtime through the open file,
// which no later rename or symlink can redirect.
func (a fileAttrs) set(f *os.File) error {
	if a.chown {
		if err := f.Chown(a.uid, a.gid); err != nil {
			return err
		}
	}
	// After chown, which clears setuid and setgid.
	if err := f.Chmod(a.mode); err != nil {
		return err
	}
	fd := int(f.Fd())
	for _, x := range a.xattrs {
		err := unix.Fsetxattr(fd, x.name, []byte(x.value), 0)
		if err := a.notes.tolerate(a.name, x.name, err); err != nil {
			return err
		}
	}
	return futimens(fd, a.mtime)
}

// owner is who creates the tree's entries, and whether their owners are
// restored (running as root). Directories carry no setgid bit until
// finish, and staging directories none at all, so a new entry is owned by
// uid and gid, and one the layer gives them needs no chown.
type owner struct {
	chown    bool
	uid, gid int
}

func processOwner() owner {
	return owner{chown: os.Geteuid() == 0, uid: os.Geteuid(), gid: os.Getegid()}
}

func (o owner) fileAttrs(hdr *tar.Header, mode fs.FileMode, notes *xattrNotes) fileAttrs {
	return fileAttrs{chown: o.needsChown(hdr), uid: hdr.Uid, gid: hdr.Gid, mode: mode, mtime: hdr.ModTime,
		xattrs: xattrsOf(hdr), name: hdr.Name, notes: notes}
}

// needsChown reports whether hdr's owner must be set: only as root, and
// only when it is not already the creator's.
func (o owner) needsChown(hdr *tar.Header) bool {
	return o.chown && (hdr.Uid != o.uid || hdr.Gid != o.gid)
}

// setAttrs gives base in at, a directory, symlink or fifo the layer just
// wrote, its owner and xattrs, and a symlink or fifo its mode and mtime; a
// directory's mode and mtime are recorded for finish. existed says base is a
// directory a lower layer made, whose owner is then set again.
func (l *layer) setAttrs(at *os.Root, base, target string, hdr *tar.Header, mode fs.FileMode, existed bool) error {
	if l.needsChown(hdr) || (existed && l.chown) {
		if err := at.Lchown(base, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	if err := l.setXattrs(at, base, hdr); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		l.dirs[target] = dirAttrs{mode: mode, mtime: hdr.ModTime}
	case tar.TypeFifo:
		if err := at.Chmod(base, mode); err != nil {
			return err
		}
		return utimesAt(at, base, hdr.ModTime)
	case tar.TypeSymlink:
		return utimesAt(at, base, hdr.ModTime)
	}
	return nil
}

// rootEntry applies the layer's entry for its root, "./", to the tree's
// root as runtimes do: owner and xattrs now, mode and mtime in finish.
func (l *layer) rootEntry(hdr *tar.Header, mode fs.FileMode) error {
	if hdr.Typeflag != tar.TypeDir {
		l.log.Debugf("skip the root entry: it is of type %q, not a directory", hdr.Typeflag)
		return nil
	}
	// The writers only create files in directories, never change them.
	return l.setAttrs(l.t.root, ".", ".", hdr, mode, true)
}

// utimesAt sets base's access and modification times to mtime, to the
// nanosecond, not following base if it is a symlink.
func utimesAt(at *os.Root, base string, mtime time.Time) error {
	d, err := at.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	ts, err := unix.TimeToTimespec(mtime)
	if err != nil {
		return fmt.Errorf("set the mtime %s: %w", mtime, err)
	}
	if err := unix.UtimesNanoAt(int(d.Fd()), base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set the mtime: %w", err)
	}
	return nil
}

// futimens sets the times of the open file fd to mtime, to the
// nanosecond: utimensat with no path acts on fd itself (x/sys/unix's
// Futimes has microseconds only).
func futimens(fd int, mtime time.Time) error {
	ts, err := unix.TimeToTimespec(mtime)
	if err != nil {
		return fmt.Errorf("set the mtime %s: %w", mtime, err)
	}
	times := [2]unix.Timespec{ts, ts}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&times[0])), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("set the mtime: %w", errno)
	}
	return nil
}

// xattr is an extended attribute from a PAX record SCHILY.xattr.<name>.
type xattr struct{ name, value string }

const paxXattr = "SCHILY.xattr."

// xattrsOf lists hdr's xattrs, sorted by name.
func xattrsOf(hdr *tar.Header) []xattr {
	var out []xattr
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, paxXattr); ok && name != "" {
			out = append(out, xattr{name: name, value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// setXattrs sets hdr's xattrs on base in at, never following base: a
// directory or fifo through a descriptor of its own, a symlink, which
// cannot be opened, through the /proc name of an O_PATH descriptor of it
// (no system call sets an xattr of a name relative to a directory).
func (l *layer) setXattrs(at *os.Root, base string, hdr *tar.Header) error {
	xs := xattrsOf(hdr)
	if len(xs) == 0 {
		return nil
	}
	d, err := at.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	flags := unix.O_RDONLY | unix.O_NONBLOCK // a fifo opens without a writer
	if hdr.Typeflag == tar.TypeSymlink {
		flags = unix.O_PATH
	}
	fd, err := unix.Openat(int(d.Fd()), base, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open to set its xattrs: %w", err)
	}
	defer unix.Close(fd)
	set := func(x xattr) error { return unix.Fsetxattr(fd, x.name, []byte(x.value), 0) }
	if hdr.Typeflag == tar.TypeSymlink {
		proc := "/proc/self/fd/" + strconv.Itoa(fd)
		set = func(x xattr) error { return unix.Setxattr(proc, x.name, []byte(x.value), 0) }
	}
	for _, x := range xs {
		if err := l.notes.tolerate(hdr.Name, x.name, set(x)); err != nil {
			return err
		}
	}
	return nil
}

// xattrNotes reports the xattrs the filesystem or the user's privileges
// refused (ENOTSUP, EPERM), which are left out as runtimes leave them out:
// the first of each name and reason as a warning, the rest counted.
type xattrNotes struct {
	log  logrus.FieldLogger
	mu   sync.Mutex
	seen map[string]bool
	more int
}

// tolerate returns err, the failure to set the xattr name on entry,
// unless the filesystem or the user's privileges refused it.
func (n *xattrNotes) tolerate(entry, name string, err error) error {
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("set the xattr %s: %w", name, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	key := name + "\x00" + err.Error()
	if n.seen[key] {
		n.more++
		return nil
	}
	n.seen[key] = true
	n.log.Warnf("%s: xattr %s left out: %v (the filesystem or this user's privileges do not allow it)", entry, name, err)
	return nil
}

// summary warns of the refusals not reported one by one.
func (n *xattrNotes) summary() {
	if n.more > 0 {
		n.log.Warnf("%d more xattrs left out for the reasons above", n.more)
	}
}

// finish sets the directories' modes and mtimes, deepest first so that a
// directory made unsearchable is not in the way of those below it, and
// the root last.
func (a *applier) finish() error {
	a.notes.summary()
	names := make([]string, 0, len(a.dirs))
	for n := range a.dirs {
		names = append(names, n)
	}
	depth := func(n string) int {
		if n == "." {
			return -1
		}
		return strings.Count(n, "/")
	}
	sort.Slice(names, func(i, j int) bool { return depth(names[i]) > depth(names[j]) })
	for _, n := range names {
		fi, err := a.t.root.Lstat(n)
		if err != nil || !fi.IsDir() {
			continue // removed or replaced by a later layer
		}
		attrs := a.dirs[n]
		if err := a.t.root.Chmod(n, attrs.mode); err != nil {
			return fmt.Errorf("set the mode of %s: %w", n, err)
		}
		if err := a.t.root.Chtimes(n, attrs.mtime, attrs.mtime); err != nil {
			return fmt.Errorf("set the mtime of %s: %w", n, err)
		}
	}
	return nil
}
