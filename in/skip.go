package in

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// A layer's file whose content a later layer replaces or deletes need not
// be written: once a later layer's tar stream is fully on disk, its headers
// are read by seeking past the contents, which costs no decompression.
// Only the content is left out: the file is still created with its
// attributes, so that the tree every later entry sees has the same shape.
// The content of a lower layer's file can be seen again only through a
// hard link made before it is replaced, or if the "replacing" entry is in
// fact somewhere else; both are ruled out below, and where in doubt the
// content is written.

// layerIndex is what a layer does, by cleaned path as written in the
// layer (not resolved): enough to know whether it replaces or deletes a
// file of a lower layer.
type layerIndex struct {
	paths map[string]pathOps
	// linkBases are the final names of hard link targets. link(2) does
	// not follow a target's final element, so a link that reaches a file
	// through any symlinks still names it by its own final name.
	linkBases map[string]struct{}
}

// pathOps is what a layer does at one path.
type pathOps uint8

const (
	entryAt   pathOps = 1 << iota // an entry of any type: replaces what is there
	nonDirAt                      // a non-directory entry: deletes what is below
	whiteout                      // deletes what is there and below
	opaqueDir                     // deletes what is below
)

// indexLayer reads the headers of a complete tar stream, mirroring the
// applier's decisions. Whiteouts and opaque markers are counted only
// before the layer's first entry: the applier lets a layer's own entries
// survive them, and which entries those are depends on symlinks that only
// the tree at that time knows.
func indexLayer(p string) (*layerIndex, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x := &layerIndex{paths: map[string]pathOps{}, linkBases: map[string]struct{}{}}
	sawEntry := false
	tr := tar.NewReader(f) // an *os.File: contents are skipped by seeking
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return x, nil
		}
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", p, err)
		}
		name, err := cleanName(hdr.Name)
		if err != nil || name == "/" || !appliedType(hdr.Typeflag) {
			continue // the applier skips it, or fails the layer
		}
		dir, base := path.Split(name)
		dir = path.Clean(dir)
		switch {
		case base == opaqueMarker:
			if !sawEntry {
				x.paths[dir] |= opaqueDir
			}
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			if !sawEntry {
				x.paths[path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))] |= whiteout
			}
			continue
		}
		sawEntry = true
		x.paths[name] |= entryAt
		if hdr.Typeflag != tar.TypeDir {
			x.paths[name] |= nonDirAt
		}
		if hdr.Typeflag == tar.TypeLink {
			x.linkBases[path.Base(path.Clean("/"+hdr.Linkname))] = struct{}{}
		}
	}
}

// removes reports whether the layer replaces or deletes what is at p, a
// cleaned path.
func (x *layerIndex) removes(p string) bool {
	if x.paths[p]&(entryAt|whiteout) != 0 {
		return true
	}
	for a := path.Dir(p); ; a = path.Dir(a) {
		if x.paths[a]&(nonDirAt|whiteout|opaqueDir) != 0 {
			return true
		}
		if a == "/" {
			return false
		}
	}
}

func (x *layerIndex) links(base string) bool {
	_, ok := x.linkBases[base]
	return ok
}

// laterLayers answers, for the layer being applied, whether a later layer
// replaces or deletes a path, from the layers whose tar streams are
// complete, and indexed, at the time of asking.
type laterLayers struct {
	spools []*spool
	off    bool
}

func (ll *laterLayers) index(i int) *layerIndex {
	if !ll.spools[i].done() {
		return nil
	}
	return ll.spools[i].index
}

// replaced reports whether a layer after layer i replaces or deletes p (a
// cleaned path) with no hard link to it in between: layer i's own stream
// and every layer up to the replacing one must be known, so that no link
// can hide in a part not yet read.
func (ll *laterLayers) replaced(i int, p string) bool {
	if ll == nil || ll.off {
		return false
	}
	base := path.Base(p)
	if own := ll.index(i); own == nil || own.links(base) {
		return false
	}
	for k := i + 1; k < len(ll.spools); k++ {
		x := ll.index(k)
		if x == nil || x.links(base) {
			return false
		}
		if x.removes(p) {
			return true
		}
	}
	return false
}

// literal reports whether every directory above name (a cleaned path)
// is a directory and not a symlink, so that name is where the layer wrote
// it and a later layer's entry of the same name is the same file. Checked
// from the top, so that each Lstat goes through directories only.
func (t *tree) literal(name string) bool {
	parts := strings.Split(strings.Trim(name, "/"), "/")
	for i := 1; i < len(parts); i++ {
		fi, err := t.root.Lstat(strings.Join(parts[:i], "/"))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
