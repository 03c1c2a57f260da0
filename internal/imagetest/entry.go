package imagetest

import (
	"archive/tar"
	"fmt"
	"strings"
	"time"
)

// FixedTime is the timestamp used wherever a caller gives none (entry
// modification times, image creation, history), so that digests never depend
// on the clock.
var FixedTime = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// Entry is one tar header and its content, as it will appear in a layer.
// Fields are written as given, with no cleaning, so that tests can plant
// hostile paths ("../x", "/etc/x") and links.
type Entry struct {
	Path     string
	Type     byte  // tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo
	Mode     int64 // permission and setuid/setgid/sticky bits, e.g. 0o4755
	UID, GID int
	ModTime  time.Time // zero means FixedTime
	Linkname string    // target of a symlink or hard link
	Content  []byte    // regular files only
	// Size, when larger than len(Content), pads the file with zero bytes up
	// to Size: a test can declare a big file without holding it in memory.
	Size               int64
	Devmajor, Devminor int64             // character and block devices
	PAXRecords         map[string]string // e.g. "SCHILY.xattr.security.capability"
}

// File is a regular file with mode 0644.
func File(path, content string) Entry {
	return Entry{Path: path, Type: tar.TypeReg, Mode: 0o644, Content: []byte(content)}
}

// Dir is a directory with mode 0755.
func Dir(path string) Entry {
	return Entry{Path: path, Type: tar.TypeDir, Mode: 0o755}
}

// Symlink is a symbolic link at path pointing to target, which is written
// as given (relative, absolute or escaping).
func Symlink(path, target string) Entry {
	return Entry{Path: path, Type: tar.TypeSymlink, Mode: 0o777, Linkname: target}
}

// Hardlink is a hard link at path to target, a path inside the archive.
func Hardlink(path, target string) Entry {
	return Entry{Path: path, Type: tar.TypeLink, Mode: 0o644, Linkname: target}
}

// CharDevice is a character device node, e.g. CharDevice("dev/null", 1, 3).
func CharDevice(path string, major, minor int64) Entry {
	return Entry{Path: path, Type: tar.TypeChar, Mode: 0o666, Devmajor: major, Devminor: minor}
}

// BlockDevice is a block device node.
func BlockDevice(path string, major, minor int64) Entry {
	return Entry{Path: path, Type: tar.TypeBlock, Mode: 0o660, Devmajor: major, Devminor: minor}
}

// Fifo is a named pipe.
func Fifo(path string) Entry {
	return Entry{Path: path, Type: tar.TypeFifo, Mode: 0o644}
}

// Whiteout is the OCI marker that deletes path from lower layers: an empty
// file named ".wh.<base>" in path's directory. The directory part is kept
// verbatim (not cleaned) so that whiteouts aimed outside the root survive.
func Whiteout(path string) Entry {
	dir, base := splitRaw(path)
	return Entry{Path: dir + ".wh." + base, Type: tar.TypeReg, Mode: 0o644}
}

// Opaque is the OCI marker that hides every lower-layer entry of dir.
func Opaque(dir string) Entry {
	dir = strings.TrimSuffix(dir, "/")
	if dir != "" {
		dir += "/"
	}
	return Entry{Path: dir + ".wh..wh..opq", Type: tar.TypeReg, Mode: 0o644}
}

// WithMode returns e with its mode replaced.
func (e Entry) WithMode(mode int64) Entry { e.Mode = mode; return e }

// WithOwner returns e owned by uid:gid.
func (e Entry) WithOwner(uid, gid int) Entry { e.UID, e.GID = uid, gid; return e }

// WithModTime returns e with its modification time replaced. A time with
// a fraction of a second is written in a PAX record, to the nanosecond.
func (e Entry) WithModTime(t time.Time) Entry { e.ModTime = t; return e }

// WithXattr returns e with the extended attribute name (e.g.
// "security.capability") set to value, as a PAX record
// SCHILY.xattr.<name>, which is how image builders write them.
func (e Entry) WithXattr(name, value string) Entry {
	records := make(map[string]string, len(e.PAXRecords)+1)
	for k, v := range e.PAXRecords {
		records[k] = v
	}
	records["SCHILY.xattr."+name] = value
	e.PAXRecords = records
	return e
}

// splitRaw splits at the last slash without cleaning, keeping the slash on
// dir; path.Split would do the same but we want to be explicit that ".."
// elements must survive.
func splitRaw(p string) (dir, base string) {
	i := strings.LastIndex(p, "/")
	return p[:i+1], p[i+1:]
}

// header converts e to the tar header that will be written; it rejects
// entries the tar writer would silently misrepresent.
func (e Entry) header() (*tar.Header, error) {
	size := int64(len(e.Content))
	if e.Size != 0 {
		if e.Size < size {
			return nil, fmt.Errorf("check entry %q: Size %d is less than its %d content bytes", e.Path, e.Size, size)
		}
		size = e.Size
	}
	if size != 0 && e.Type != tar.TypeReg {
		return nil, fmt.Errorf("check entry %q: type %q cannot carry content", e.Path, e.Type)
	}
	modTime := e.ModTime
	if modTime.IsZero() {
		modTime = FixedTime
	}
	// Without a format, the tar writer rounds times to the second.
	format := tar.FormatUnknown
	if modTime.Nanosecond() != 0 {
		format = tar.FormatPAX
	}
	return &tar.Header{
		Format:     format,
		Typeflag:   e.Type,
		Name:       e.Path,
		Linkname:   e.Linkname,
		Size:       size,
		Mode:       e.Mode,
		Uid:        e.UID,
		Gid:        e.GID,
		ModTime:    modTime,
		Devmajor:   e.Devmajor,
		Devminor:   e.Devminor,
		PAXRecords: e.PAXRecords,
	}, nil
}
