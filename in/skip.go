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
	entries map[string]struct{} // an entry of any type: replaces what is there
	nonDirs map[string]struct{} // a non-directory entry: deletes what is below
	deletes map[string]struct{} // whiteouts: delete what is there and below
	opaques map[string]struct{} // opaque markers: delete what is below
	// linkBases are the final names of hard link targets. link(2) does
	// not follow a target's final element, so a link that reaches a file
	// through any symlinks still names it by its own final name.
	linkBases map[string]struct{}
}

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
	x := &layerIndex{entries: map[string]struct{}{}, nonDirs: map[string]struct{}{},
		deletes: map[string]struct{}{}, opaques: map[string]struct{}{}, linkBases: map[string]struct{}{}}
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
				x.opaques[dir] = struct{}{}
			}
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			if !sawEntry {
				x.deletes[path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))] = struct{}{}
			}
			continue
		}
		sawEntry = true
		x.entries[name] = struct{}{}
		if hdr.Typeflag != tar.TypeDir {
			x.nonDirs[name] = struct{}{}
		}
		if hdr.Typeflag == tar.TypeLink {
			x.linkBases[path.Base(path.Clean("/"+hdr.Linkname))] = struct{}{}
		}
	}
}

// removes reports whether the layer replaces or deletes what is at p, a
// cleaned path.
func (x *layerIndex) removes(p string) bool {
	if _, ok := x.entries[p]; ok {
		return true
	}
	if _, ok := x.deletes[p]; ok {
		return true
	}
	for a := path.Dir(p); ; a = path.Dir(a) {
		if _, ok := x.opaques[a]; ok {
			return true
		}
		if a == "/" {
			return false
		}
		if _, ok := x.nonDirs[a]; ok {
			return true
		}
		if _, ok := x.deletes[a]; ok {
			return true
		}
	}
}

func (x *layerIndex) links(base string) bool {
	_, ok := x.linkBases[base]
	return ok
}

// laterLayers answers, for the layer being applied, whether a later layer
// replaces or deletes a path, from the layers whose tar streams are
// complete at the time of asking.
type laterLayers struct {
	spools  []*spool
	indexes []*layerIndex // built on first need
	off     bool
}

func (ll *laterLayers) index(i int) (*layerIndex, bool) {
	if ll.indexes[i] == nil {
		if !ll.spools[i].done() {
			return nil, false
		}
		x, err := indexLayer(ll.spools[i].path)
		if err != nil {
			return nil, false // then the content is written
		}
		ll.indexes[i] = x
	}
	return ll.indexes[i], true
}

// replaced reports whether a layer after layer i replaces or deletes p (a
// cleaned path) with no hard link to it in between: layer i's own stream
// and every layer up to the replacing one must be complete, so that no
// link can hide in a part not yet known.
func (ll *laterLayers) replaced(i int, p string) bool {
	if ll == nil || ll.off {
		return false
	}
	base := path.Base(p)
	own, ok := ll.index(i)
	if !ok || own.links(base) {
		return false
	}
	for k := i + 1; k < len(ll.spools); k++ {
		x, ok := ll.index(k)
		if !ok || x.links(base) {
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
