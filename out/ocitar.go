package out

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
)

// layoutEntry is a name an OCI image layout holds: its two metadata files
// and content-addressed blobs. Nothing else is taken from an archive, so
// no entry can write outside the directory it is unpacked into.
var layoutEntry = regexp.MustCompile(`^(oci-layout|index\.json|blobs/[a-z0-9]+/[a-f0-9]{32,128})$`)

// isLayoutTar reports whether the tar file at p holds an OCI image layout
// (as `docker buildx build --output type=oci` writes) and no manifest.json,
// which would make it a Docker tarball.
func isLayoutTar(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var hasLayout, hasIndex bool
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hasLayout && hasIndex, nil
		}
		if err != nil {
			return false, err
		}
		switch path.Clean(h.Name) {
		case "manifest.json":
			return false, nil
		case "oci-layout":
			hasLayout = true
		case "index.json":
			hasIndex = true
		}
	}
}

// unpackLayout writes the layout entries of the tar file at p into dir.
func unpackLayout(p, dir string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name := path.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || !layoutEntry.MatchString(name) {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", name, pathCause(err))
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	}
}
