package in

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
	t *tree
	owner
	log logrus.FieldLogger
	buf []byte
	// dirs are the modes and mtimes of directories, set once all layers
	// are written (see metadata.go).
	dirs map[string]dirAttrs
	// notes reports the xattrs the filesystem refused (metadata.go),
	// shared with the decoders that stage files.
	notes *xattrNotes
}

// newApplier makes an applier for a tree to come (extractAll opens it).
func newApplier(o owner, notes *xattrNotes, log logrus.FieldLogger) *applier {
	return &applier{owner: o, log: log, buf: make([]byte, 256<<10), dirs: map[string]dirAttrs{}, notes: notes}
}

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
	// staging is the directory of the layer's staged files, open; nil
	// when the layer's spool holds its raw tar stream.
	staging *os.File
	// written holds what this layer wrote and their parents: whiteouts
	// and opaque markers hide lower layers only, never the same layer.
	written map[string]struct{}
}

// entries are a layer's entries in order: its raw tar stream, or the
// records of its staged files (stage.go).
type entries interface {
	// next returns the next entry and where its content is: what
	// content reads, or the file staged in the staging directory; io.EOF
	// after the last entry.
	next() (hdr *tar.Header, content io.Reader, staged string, err error)
}

// tarEntries are the entries of a raw tar stream, every file's content
// read from the stream.
type tarEntries struct{ tr *tar.Reader }

func (t tarEntries) next() (*tar.Header, io.Reader, string, error) {
	hdr, err := t.tr.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read the layer's tar stream: %w", err)
	}
	return hdr, t.tr, "", err
}

// apply writes a layer's entries es, in order; staging is the directory
// of its staged files (nil for a raw tar stream).
func (a *applier) apply(es entries, staging *os.File) error {
	l := layer{applier: a, staging: staging, written: map[string]struct{}{}}
	for {
		hdr, r, staged, err := es.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := l.entry(hdr, r, staged); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
	}
}

// entry applies hdr, whose content is the file staged in the staging
// directory, or else what r reads.
func (l *layer) entry(hdr *tar.Header, r io.Reader, staged string) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	mode := entryMode(hdr)
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
	if path.Base(name) == opaqueMarker || strings.HasPrefix(path.Base(name), whiteoutPrefix) {
		return l.whiteout(name)
	}
	return l.put(name, hdr, r, staged, mode)
}

// put applies an entry that is not a whiteout.
func (l *layer) put(name string, hdr *tar.Header, r io.Reader, staged string, mode fs.FileMode) error {
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
	// Create first and look only when something is in the way: most
	// entries are new, and this spares them a stat.
	err = l.create(at, dir, base, target, hdr, r, staged, mode)
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
			err = l.create(at, dir, base, target, hdr, r, staged, mode)
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

// create makes the entry at base in at, the directory dir; it fails with
// fs.ErrExist when something is already there, without touching it.
func (l *layer) create(at *os.Root, dir, base, target string, hdr *tar.Header, r io.Reader, staged string, mode fs.FileMode) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return at.Mkdir(base, 0o700)
	case tar.TypeReg:
		if staged != "" {
			return l.moveStaged(staged, dir, base)
		}
		return l.writeFile(at, base, r, l.fileAttrs(hdr, mode, l.notes))
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

// moveStaged renames the staged file into the tree as base in dir,
// unless something is there (fs.ErrExist). The file has its content and
// attributes already; a rename keeps them.
func (l *layer) moveStaged(staged, dir, base string) error {
	d, err := l.t.dirFile(dir)
	if err != nil {
		return err
	}
	err = unix.Renameat2(int(l.staging.Fd()), staged, int(d.Fd()), base, unix.RENAME_NOREPLACE)
	switch {
	case errors.Is(err, unix.EEXIST):
		return fs.ErrExist
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("move the staged file into the rootfs: the rootfs is on another filesystem than %s: %w", filepath.Dir(l.staging.Name()), err)
	case err != nil:
		return fmt.Errorf("move the staged file into the rootfs: %w", err)
	}
	return nil
}

// writeFile creates base in at, fills it from r and sets its attributes.
func (l *layer) writeFile(at *os.Root, base string, r io.Reader, attrs fileAttrs) error {
	f, err := at.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return fillFile(f, r, l.buf, attrs)
}

// fillFile copies r into f, a file just created, through buf, gives it
// attrs and closes it.
func fillFile(f *os.File, r io.Reader, buf []byte, attrs fileAttrs) error {
	// Hidden behind a plain Writer, f copies through buf: *os.File's own
	// ReadFrom would copy a tar stream 32 KiB at a time.
	_, err := io.CopyBuffer(struct{ io.Writer }{f}, r, buf)
	if err != nil {
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
