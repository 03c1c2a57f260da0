package in

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// OCI whiteout markers: ".wh.<name>" deletes name from lower layers,
// ".wh..wh..opq" hides everything lower layers put in its directory.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// applier writes layers, in order, into a tree.
type applier struct {
	t     *tree
	chown bool // running as root: ownership is restored
	// uid and gid own what this process creates: directories carry no
	// setgid bit until finish, so new entries get them, and an entry
	// already owned that way needs no chown.
	uid, gid int
	log      logrus.FieldLogger
	buf      []byte
	// dirs are the modes and mtimes of directories, set once all layers
	// are written (see metadata.go).
	dirs map[string]dirAttrs
	// later says which files later layers replace or delete, whose
	// content is then not written; skipped counts them.
	later   *laterLayers
	skipped int
	// w writes new files beside the applier (writers.go); nil applies
	// every entry in order, on the applier's goroutine.
	w *writers
	// notes reports the xattrs the filesystem refused (metadata.go).
	notes *xattrNotes
}

func newApplier(t *tree, chown bool, log logrus.FieldLogger, o options) *applier {
	a := &applier{t: t, chown: chown, uid: os.Geteuid(), gid: os.Getegid(), log: log,
		buf: make([]byte, 256<<10), dirs: map[string]dirAttrs{}, notes: &xattrNotes{log: log, seen: map[string]bool{}}}
	if !o.inOrder {
		a.w = newWriters(o.writeFault, o.noCopyRange)
	}
	return a
}

// close ends the writers' goroutines; apply leaves nothing pending.
func (a *applier) close() { _ = a.w.stop() }

// appliedType reports whether the applier writes entries of type t;
// it skips the others (devices, and types that are not files).
func appliedType(t byte) bool {
	switch t {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
		return true
	}
	return false
}

// layer is the state of one layer being applied.
type layer struct {
	*applier
	n      int // its index in the image
	stream *layerStream
	// written holds what this layer wrote and their parents: whiteouts
	// and opaque markers hide lower layers only, never the same layer.
	written map[string]struct{}
}

// apply writes layer n, uncompressed. It returns once every file of the
// layer is written, even when it fails.
func (a *applier) apply(n int, r *layerStream) error {
	l := layer{applier: a, n: n, stream: r, written: map[string]struct{}{}}
	// An entry handed to the writers fails before any entry after it.
	fail := func(err error) error {
		if werr := a.w.settle(); werr != nil {
			return werr
		}
		return err
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return a.w.settle()
		}
		if err != nil {
			return fail(fmt.Errorf("read the layer's tar stream: %w", err))
		}
		// The tar reader reads the stream itself, with no buffer: a
		// header leaves it at the start of the entry's content.
		if err := l.entry(hdr, tr, r.off); err != nil {
			if ee := (*entryError)(nil); errors.As(err, &ee) {
				return fail(err)
			}
			return fail(fmt.Errorf("extract %q: %w", hdr.Name, err))
		}
	}
}

// entry applies hdr, whose content r reads and which starts at off in the
// layer's stream.
func (l *layer) entry(hdr *tar.Header, r io.Reader, off int64) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	mode := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if name == "/" {
		return l.rootEntry(hdr, mode)
	}
	if isSparse(hdr) {
		// The reader would expand a sparse file's holes into real zeros: a
		// few bytes of layer could fill the disk.
		return fmt.Errorf("sparse files are not supported: rebuild the image without them")
	}
	switch {
	case hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock:
		l.log.Debugf("skip device %s: devices cannot be created without privileges, and runtimes provide their own", name)
		return nil
	case !appliedType(hdr.Typeflag):
		l.log.Debugf("skip %s: entry type %q is not a file", name, hdr.Typeflag)
		return nil
	}
	marker := path.Base(name) == opaqueMarker || strings.HasPrefix(path.Base(name), whiteoutPrefix)
	if l.w != nil && !marker && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeDir) {
		if done, err := l.concurrently(name, hdr, off, mode); done || err != nil {
			return err
		}
	}
	// What is left sees the tree as an in-order application leaves it.
	if err := l.w.settle(); err != nil {
		return err
	}
	if marker {
		return l.whiteout(name)
	}
	return l.inOrder(name, hdr, r, mode)
}

// inOrder applies an entry on a tree no writer is changing.
func (l *layer) inOrder(name string, hdr *tar.Header, r io.Reader, mode fs.FileMode) error {
	dir, base, err := l.t.parent(name)
	if err != nil {
		return err
	}
	target := join(dir, base)
	// Operations go through the directory's own os.Root: one system call
	// each on a bare name, instead of a walk from the top.
	at, err := l.t.at(dir)
	if err != nil {
		return err
	}
	l.wrote(target)
	if hdr.Typeflag == tar.TypeReg && l.skips(name) {
		r = strings.NewReader("")
	}
	// Create first and look only when something is in the way: most
	// entries are new, and this spares them a stat.
	err = l.create(at, base, target, hdr, r, mode)
	existed := false // a directory kept from a lower layer, with its owner
	if errors.Is(err, fs.ErrExist) {
		if fi, lerr := at.Lstat(base); lerr == nil && fi.IsDir() && hdr.Typeflag == tar.TypeDir {
			err, existed = nil, true
		} else {
			// Replace what is there, a symlink itself and never its target.
			if err := l.remove(target); err != nil {
				return fmt.Errorf("replace %s: %w", name, err)
			}
			if at, err = l.t.at(dir); err != nil {
				return err
			}
			err = l.create(at, base, target, hdr, r, mode)
		}
	}
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeLink:
		return nil // writeFile set the attributes; a link shares its target's
	case tar.TypeDir:
		l.t.remember(name, target)
	case tar.TypeSymlink:
		l.log.Debugf("symlink %s -> %s", name, hdr.Linkname)
	}
	return l.setAttrs(at, base, target, hdr, mode, existed)
}

// create makes the entry at base in at; it fails with fs.ErrExist when
// something is already there, without touching it.
func (l *layer) create(at *os.Root, base, target string, hdr *tar.Header, r io.Reader, mode fs.FileMode) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return at.Mkdir(base, 0o700)
	case tar.TypeReg:
		return l.writeFile(at, base, r, l.fileAttrs(hdr, mode))
	case tar.TypeSymlink:
		// The target is stored as given; it is only ever followed by
		// resolution rooted at the tree.
		return at.Symlink(hdr.Linkname, base)
	case tar.TypeLink:
		return l.hardlink(target, hdr.Linkname)
	case tar.TypeFifo:
		return l.mkfifo(at, base)
	}
	return nil
}

// whiteout applies a whiteout or opaque marker to lower layers. A marker
// in a directory that does not exist, or below a file, hides nothing.
func (l *layer) whiteout(name string) error {
	dir, base, ok, err := l.t.existingParent(name)
	if err != nil || !ok {
		return err
	}
	if base == opaqueMarker {
		l.log.Debugf("opaque %s: hide what lower layers put there", path.Dir(name))
		return l.clearLower(dir)
	}
	victim := strings.TrimPrefix(base, whiteoutPrefix)
	if victim == "" || victim == "." || victim == ".." {
		return fmt.Errorf("whiteout names no file")
	}
	p := join(dir, victim)
	if _, same := l.written[p]; same {
		// The layer's own entry survives its whiteout; below a directory
		// it wrote into, what lower layers put there does not.
		if fi, err := l.t.root.Lstat(p); err == nil && fi.IsDir() {
			l.log.Debugf("whiteout %s: hide what lower layers put there", path.Join(path.Dir(name), victim))
			return l.clearLower(p)
		}
		return nil
	}
	l.log.Debugf("whiteout %s", path.Join(path.Dir(name), victim))
	return l.remove(p)
}

// concurrently applies a new file, or a directory, without waiting for
// the writers when it commutes with every file they are writing (see
// writers.go); false means it must wait for them.
func (l *layer) concurrently(name string, hdr *tar.Header, off int64, mode fs.FileMode) (bool, error) {
	dir, base, ok := l.t.cachedParent(name)
	if !ok || l.t.full(dir) {
		return false, nil
	}
	target := join(dir, base)
	if l.w.busy(target) {
		return false, nil
	}
	at, err := l.t.at(dir)
	if err != nil {
		return false, nil
	}
	fi, err := at.Lstat(base)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	switch {
	case hdr.Typeflag == tar.TypeReg && !exists:
		l.wrote(target)
		return true, l.newFile(at, name, base, target, hdr, off, mode)
	case hdr.Typeflag == tar.TypeDir && !exists:
		l.wrote(target)
		if err := at.Mkdir(base, 0o700); err != nil {
			return true, err
		}
	case hdr.Typeflag == tar.TypeDir && fi.IsDir():
		l.wrote(target) // kept from a lower layer, with its owner
	default:
		return false, nil
	}
	l.t.remember(name, target)
	return true, l.setAttrs(at, base, target, hdr, mode, exists)
}

// newFile hands a file where nothing is to the writers.
func (l *layer) newFile(at *os.Root, name, base, target string, hdr *tar.Header, off int64, mode fs.FileMode) error {
	size := hdr.Size
	if l.skips(name) {
		size = 0
	}
	return l.w.hand(&fileJob{at: at, base: base, target: target, name: hdr.Name,
		spool: l.stream, off: off, size: size, attrs: l.fileAttrs(hdr, mode)})
}

// skips reports whether the content of the regular file name is left
// out because a later layer replaces it (see skip.go); the file is still
// created, with its attributes, but empty.
func (l *layer) skips(name string) bool {
	if l.later.replaced(l.n, name) && l.t.literal(name) {
		l.skipped++
		return true
	}
	return false
}

// writeFile creates base in at, fills it from r and sets its attributes.
func (l *layer) writeFile(at *os.Root, base string, r io.Reader, attrs fileAttrs) error {
	f, err := at.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// Hidden behind a plain Writer, f copies through buf: *os.File's own
	// ReadFrom would copy a tar stream 32 KiB at a time.
	if _, err = io.CopyBuffer(struct{ io.Writer }{f}, r, l.buf); err != nil {
		err = fmt.Errorf("write: %w", err)
	} else {
		err = attrs.set(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hardlink links target to linkname, a path in the image resolved like any
// other (its final element not followed, as link(2) does).
func (l *layer) hardlink(target, linkname string) error {
	clean, err := cleanName(linkname)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", linkname, err)
	}
	if clean == "/" {
		return fmt.Errorf("hard link to the root directory")
	}
	dir, base, err := l.t.parent(clean)
	if err != nil {
		return err
	}
	l.log.Debugf("hard link %s -> %s", target, clean)
	err = l.t.root.Link(join(dir, base), target)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("hard link to %s: %w", clean, err)
	}
	return err
}

func (l *layer) mkfifo(at *os.Root, base string) error {
	d, err := at.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Mkfifoat(int(d.Fd()), base, 0o600); err != nil {
		return fmt.Errorf("mkfifo: %w", err)
	}
	return nil
}

// remove deletes p and forgets the directory attributes recorded under
// it, so that finish never applies them to what replaces p.
func (a *applier) remove(p string) error {
	structural, err := a.t.removeAll(p)
	if err != nil || !structural {
		return err
	}
	for k := range a.dirs {
		if k == p || strings.HasPrefix(k, p+"/") {
			delete(a.dirs, k)
		}
	}
	return nil
}

// wrote records p and its parents as this layer's.
func (l *layer) wrote(p string) {
	for p != "." && p != "/" && p != "" {
		if _, ok := l.written[p]; ok {
			return
		}
		l.written[p] = struct{}{}
		p = path.Dir(p)
	}
}

// clearLower empties dir of what lower layers put there, keeping this
// layer's entries. The directory itself stays, with its mode and owner.
func (l *layer) clearLower(dir string) error {
	d, err := l.t.root.Open(dir)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, n := range names {
		p := join(dir, n)
		if _, ours := l.written[p]; !ours {
			if err := l.remove(p); err != nil {
				return err
			}
			continue
		}
		if fi, err := l.t.root.Lstat(p); err == nil && fi.IsDir() {
			if err := l.clearLower(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// isSparse reports a GNU sparse file, old format or PAX.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
