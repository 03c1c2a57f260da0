package resourceimage

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is one file or directory of the image.
type Entry struct {
	// Path is absolute, as in the image ("/etc/passwd").
	Path string
	// Mode holds the permission bits, fs.ModeDir for a directory and
	// fs.ModeSticky where it applies.
	Mode fs.FileMode
	// Data is a file's content; Source, when set, names a file to read it
	// from instead.
	Data   []byte
	Source string
}

// passwd and group know root, whom Concourse runs resources as, and
// nobody, so that runtimes that look a user up by name find one.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	group  = "root:x:0:\nnobody:x:65534:\n"
)

// StaticEntries are the entries every platform shares: the directories a
// minimal Linux userland expects, the users, and the CA bundle.
func StaticEntries() ([]Entry, error) {
	ca, err := CABundle()
	if err != nil {
		return nil, err
	}
	return sorted([]Entry{
		{Path: "/etc", Mode: fs.ModeDir | 0o755},
		{Path: "/etc/group", Mode: 0o644, Data: []byte(group)},
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Path: "/etc/ssl", Mode: fs.ModeDir | 0o755},
		{Path: "/etc/ssl/certs", Mode: fs.ModeDir | 0o755},
		{Path: CABundlePath, Mode: 0o644, Data: ca},
		{Path: "/root", Mode: fs.ModeDir | 0o700},
		{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}), nil
}

// BinaryEntries are the entries of one platform's compiled binaries, with
// the directories that hold them.
func BinaryEntries(c Compiled) []Entry {
	dirs := map[string]bool{}
	var out []Entry
	for _, b := range Binaries {
		src, ok := c[b.Name]
		if !ok {
			continue
		}
		out = append(out, Entry{Path: b.Path, Mode: 0o755, Source: src})
		for d := path.Dir(b.Path); d != "/"; d = path.Dir(d) {
			if !dirs[d] {
				dirs[d] = true
				out = append(out, Entry{Path: d, Mode: fs.ModeDir | 0o755})
			}
		}
	}
	return sorted(out)
}

// sorted orders entries by path, so that a directory precedes what it
// holds and the tar stream does not depend on the order of the code.
func sorted(es []Entry) []Entry {
	sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
	return es
}

// WriteTree writes entries under dir, as a Docker build stage would lay
// them out; the Dockerfile copies such a tree into its final stage.
func WriteTree(dir string, entries []Entry) error {
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(e.Path, "/")))
		if e.Mode.IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("write tree: %w", err)
			}
		} else {
			data, err := e.content()
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return fmt.Errorf("write tree: %w", err)
			}
		}
	}
	// Set modes last, deepest first: the umask must not change them, and a
	// directory must stay writable until its files are in.
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(e.Path, "/")))
		if err := os.Chmod(p, e.Mode&(fs.ModePerm|fs.ModeSticky)); err != nil {
			return fmt.Errorf("write tree: %w", err)
		}
	}
	return nil
}

func (e Entry) content() ([]byte, error) {
	if e.Source == "" {
		return e.Data, nil
	}
	b, err := os.ReadFile(e.Source)
	if err != nil {
		return nil, fmt.Errorf("read %s for %s: %w", e.Source, e.Path, err)
	}
	return b, nil
}
