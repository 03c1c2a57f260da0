package in

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// tree is a rootfs being written. Paths from layers are resolved as a
// container runtime resolves them: inside the tree, every symlink followed
// as if the tree were "/" (an absolute target is read as rooted at the
// tree), by securejoin's resolver. Every file operation then goes through
// an os.Root, so that if resolution were ever wrong the kernel, not a string
// comparison, refuses to leave the tree.
type tree struct {
	root *os.Root
	// dirs caches, for a cleaned directory path of a layer, where it
	// resolved to and that it exists as a directory; any removal of a
	// directory empties it, since a path through it may now resolve
	// differently.
	dirs map[string]string
	// subs are os.Roots opened on resolved directories, so that an
	// operation on a file in one is a single system call on its name;
	// files are the same directories open as files, for the system calls
	// os.Root has no method for (renameat2 from the staging directory).
	subs  map[string]*os.Root
	files map[string]*os.File
}

func openTree(dir string) (*tree, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	// Not setgid, as it would be in a setgid destination: it would give
	// its group to every entry created in it and below, where the layers
	// give them this process's.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return &tree{root: root, dirs: map[string]string{}, subs: map[string]*os.Root{}, files: map[string]*os.File{}}, nil
}

func (t *tree) Close() error {
	t.forget()
	return t.root.Close()
}

// maxSubs bounds the directories held open.
const maxSubs = 128

// at returns an os.Root on dir, a resolved directory name.
func (t *tree) at(dir string) (*os.Root, error) {
	if r, ok := t.subs[dir]; ok {
		return r, nil
	}
	if len(t.subs) >= maxSubs {
		t.closeSubs()
	}
	r, err := t.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	t.subs[dir] = r
	return r, nil
}

// dirFile returns dir, a resolved directory name, open as a file.
func (t *tree) dirFile(dir string) (*os.File, error) {
	if f, ok := t.files[dir]; ok {
		return f, nil
	}
	at, err := t.at(dir)
	if err != nil {
		return nil, err
	}
	f, err := at.Open(".")
	if err != nil {
		return nil, err
	}
	t.files[dir] = f
	return f, nil
}

// forget drops every resolution: after a directory or symlink is removed,
// a path through it may lead elsewhere.
func (t *tree) forget() {
	clear(t.dirs)
	t.closeSubs()
}

func (t *tree) closeSubs() {
	for _, r := range t.subs {
		r.Close()
	}
	for _, f := range t.files {
		f.Close()
	}
	clear(t.subs)
	clear(t.files)
}

// rootVFS lets securejoin look at the tree through the os.Root: it sees
// the tree as "/". It notes whether a name it was asked about is missing.
type rootVFS struct {
	root    *os.Root
	missing bool
}

func (v *rootVFS) Lstat(name string) (os.FileInfo, error) {
	fi, err := v.root.Lstat(rel(name))
	if err != nil {
		v.missing = true
	}
	return fi, err
}

func (v *rootVFS) Readlink(name string) (string, error) { return v.root.Readlink(rel(name)) }

// rel turns a path below "/" into a name for the os.Root.
func rel(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// errClimb is returned for a layer path with a ".." element: no legitimate
// layer has one, so the image is refused rather than guessed at.
var errClimb = errors.New(`it contains "..", which could reach outside the image's root; the layer is malformed or malicious`)

// cleanName checks a path from a layer and cleans it to one rooted at "/";
// a leading "/" is read as the tree's root, as a runtime reads it.
func cleanName(name string) (string, error) {
	// Resolution costs grow with depth squared: a crafted layer of deep
	// names could burn hours. No runtime can use such paths anyway.
	if len(name) > maxNameLength {
		return "", fmt.Errorf("the name is %d bytes long, more than the %d any path can have", len(name), maxNameLength)
	}
	elements := strings.Split(name, "/")
	if len(elements) > maxNameDepth {
		return "", fmt.Errorf("the name is %d directories deep, more than the %d refimage accepts", len(elements), maxNameDepth)
	}
	for _, el := range elements {
		if el == ".." {
			return "", errClimb
		}
	}
	return path.Clean("/" + name), nil
}

const (
	maxNameLength = 4096 // Linux's PATH_MAX
	maxNameDepth  = 256
)

// parent resolves the directory that will hold name (a cleaned path from
// cleanName), creating it if it is missing, and returns it as a name for the
// os.Root with the final element, which is never followed.
func (t *tree) parent(name string) (dir, base string, err error) {
	d, base := path.Split(name)
	d = path.Clean(d)
	if resolved, ok := t.dirs[d]; ok {
		return resolved, base, nil
	}
	dir, complete, err := t.resolve(d)
	if err != nil {
		return "", "", err
	}
	if err := t.root.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create directory %s: %w", d, err)
	}
	// A resolution that went through a missing name is not kept: a
	// symlink's "m/../y" reads as "y" while m is missing, and as
	// something else once a later entry creates m.
	if complete {
		t.dirs[d] = dir
	}
	return dir, base, nil
}

// remember caches the resolution of name, a directory at dir that is not
// a symlink, when its parent's resolution is cached: then it holds as long
// as the parent's does.
func (t *tree) remember(name, dir string) {
	if _, ok := t.dirs[path.Dir(name)]; ok {
		t.dirs[name] = dir
	}
}

// existingParent is parent for whiteouts, which create nothing: it
// reports false when the directory is missing or not a directory, since
// there is then nothing to delete.
func (t *tree) existingParent(name string) (dir, base string, ok bool, err error) {
	d, base := path.Split(name)
	d = path.Clean(d)
	if resolved, ok := t.dirs[d]; ok {
		return resolved, base, true, nil
	}
	dir, _, err = t.resolve(d)
	if err != nil {
		return "", "", false, err
	}
	fi, err := t.root.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || isNotDir(err) || (err == nil && !fi.IsDir()):
		return "", "", false, nil
	case err != nil:
		return "", "", false, err
	}
	return dir, base, true, nil
}

// resolve follows every symlink in d with the tree as "/"; complete says
// that every name on the way existed.
func (t *tree) resolve(d string) (dir string, complete bool, err error) {
	vfs := &rootVFS{root: t.root}
	resolved, err := securejoin.SecureJoinVFS("/", d, vfs)
	if err != nil {
		return "", false, fmt.Errorf("resolve %s: %w", d, err)
	}
	return rel(resolved), !vfs.missing, nil
}

// removeAll deletes p (not following a final symlink) and reports whether
// it was a directory or a symlink. Removing one of those forgets the
// resolved directories, since a path through p may resolve elsewhere once
// p is replaced.
func (t *tree) removeAll(p string) (bool, error) {
	fi, err := t.root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || isNotDir(err):
		return false, nil
	case err != nil:
		return false, err
	}
	structural := fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0
	if structural {
		t.forget()
	}
	return structural, t.root.RemoveAll(p)
}

func join(dir, base string) string {
	if dir == "." {
		return base
	}
	return dir + "/" + base
}
