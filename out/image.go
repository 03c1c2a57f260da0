package out

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// singleImageDigestFile is the marker registry-image's in writes into an
// oci-layout of a single image, naming the image to push back.
const singleImageDigestFile = "single-image-digest"

// artifact is what out pushes: one image or one index, with the digest the
// registry will know it by.
type artifact struct {
	path     string // as matched, relative to the put's inputs
	taggable remote.Taggable
	digest   v1.Hash
	kind     string // "image" or "index"
	// bases name the images the artifact says it was built from
	// (org.opencontainers.image.base.name), candidates to mount layers from.
	bases []string
	// cleanup removes what loading left on disk; nil when nothing.
	cleanup func()
}

// Close removes what loading left on disk.
func (a *artifact) Close() {
	if a.cleanup != nil {
		a.cleanup()
	}
}

// findImage expands params.image, a glob relative to srcDir, to exactly one
// path.
func findImage(srcDir, pattern string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(srcDir, pattern))
	if err != nil {
		return "", fmt.Errorf("invalid params.image: %q is not a valid glob pattern: %w", pattern, err)
	}
	rel := make([]string, len(matches))
	for i, m := range matches {
		rel[i], _ = filepath.Rel(srcDir, m)
	}
	switch len(rel) {
	case 0:
		return "", fmt.Errorf("invalid params.image: nothing matches %q in the put's inputs: check the path, which is relative to the put's working directory (e.g. task-output/image.tar)", pattern)
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("invalid params.image: %q matches %d paths (%s): make the pattern match exactly one", pattern, len(rel), strings.Join(rel, ", "))
}

// loadImage reads a Docker/OCI image tarball, or an OCI image layout
// directory, and checks that its manifests and configs parse, so that a
// corrupt image fails before anything is pushed.
func loadImage(srcDir, pattern string) (*artifact, error) {
	path, err := findImage(srcDir, pattern)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(srcDir, path)
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read params.image %s: %w", rel, pathCause(err))
	}
	var a *artifact
	if info.IsDir() {
		a, err = loadLayout(path)
	} else {
		a, err = loadTarball(path)
	}
	if err != nil {
		return nil, fmt.Errorf("load params.image %s: %w", rel, err)
	}
	a.path = rel
	return a, nil
}

// loadTarball reads a Docker tarball (manifest.json), as registry-image
// does, or an OCI image layout archived in a tar, unpacked into a temporary
// directory that a.cleanup removes.
func loadTarball(path string) (*artifact, error) {
	if ok, err := isLayoutTar(path); err == nil && ok {
		dir, err := os.MkdirTemp("", "refimage-out-")
		if err != nil {
			return nil, fmt.Errorf("make a directory to unpack the OCI layout into: %w", err)
		}
		cleanup := func() { os.RemoveAll(dir) }
		if err := unpackLayout(path, dir); err != nil {
			cleanup()
			return nil, fmt.Errorf("an OCI layout archive that cannot be unpacked: %w", err)
		}
		a, err := loadLayout(dir)
		if err != nil {
			cleanup()
			return nil, err
		}
		a.cleanup = cleanup
		return a, nil
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, fmt.Errorf("not a readable image tarball (a Docker tarball with manifest.json, or an OCI image layout archive): %w", pathCause(err))
	}
	return imageArtifact(img)
}

// loadLayout picks what to push from an OCI image layout: the image named
// by a single-image-digest marker; else, when index.json lists exactly one
// manifest, that manifest (image or index) as it is; else index.json itself,
// as an index, which is how ggcr and registry-image write a multi-arch
// layout. Either way the pushed digest is the layout's own.
func loadLayout(path string) (*artifact, error) {
	if _, err := os.Stat(filepath.Join(path, "index.json")); err != nil {
		return nil, fmt.Errorf("a directory, but not an OCI image layout (no index.json): give an image tarball or the layout's directory")
	}
	idx, err := layout.ImageIndexFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("read OCI image layout: %w", pathCause(err))
	}
	if raw, err := os.ReadFile(filepath.Join(path, singleImageDigestFile)); err == nil {
		h, err := v1.NewHash(strings.TrimSpace(string(raw)))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", singleImageDigestFile, err)
		}
		img, err := idx.Image(h)
		if err != nil {
			return nil, fmt.Errorf("read image %s named by %s: %w", h, singleImageDigestFile, err)
		}
		return imageArtifact(img)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", singleImageDigestFile, pathCause(err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index.json: %w", err)
	}
	if len(im.Manifests) == 0 {
		return nil, errors.New("index.json lists no manifest: the layout holds no image")
	}
	if len(im.Manifests) == 1 {
		d := im.Manifests[0]
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("read image %s: %w", d.Digest, err)
			}
			return imageArtifact(img)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			return indexArtifact(child)
		}
		return nil, fmt.Errorf("index.json lists a %q, neither an image nor an index", d.MediaType)
	}
	return indexArtifact(idx)
}

func imageArtifact(img v1.Image) (*artifact, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("compute image digest: %w", err)
	}
	a := &artifact{taggable: img, digest: d, kind: "image"}
	a.addBase(img)
	return a, nil
}

func indexArtifact(idx v1.ImageIndex) (*artifact, error) {
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("compute index digest: %w", err)
	}
	a := &artifact{taggable: idx, digest: d, kind: "index"}
	if err := a.walk(idx); err != nil {
		return nil, err
	}
	return a, nil
}

// walk checks every image an index (and its nested indexes) lists.
func (a *artifact) walk(idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read index manifest: %w", err)
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			if err := a.walk(child); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("read image %s: %w", d.Digest, err)
			}
			if err := checkImage(img); err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			a.addBase(img)
		}
	}
	return nil
}

// checkImage parses the manifest and config, and lists the layers, which
// for a tarball also reads every layer once (its digest is not stored).
func checkImage(img v1.Image) error {
	if _, err := img.Manifest(); err != nil {
		return fmt.Errorf("read manifest: %w", pathCause(err))
	}
	if _, err := img.ConfigFile(); err != nil {
		return fmt.Errorf("read config: %w", pathCause(err))
	}
	if _, err := partial.ConfigLayer(img); err != nil {
		return fmt.Errorf("read config blob: %w", pathCause(err))
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("list layers: %w", pathCause(err))
	}
	for i, l := range layers {
		if _, err := l.Digest(); err != nil {
			return fmt.Errorf("read layer %d: %w", i, pathCause(err))
		}
	}
	return nil
}

// baseNameAnnotation is where BuildKit records the image a build started
// from.
const baseNameAnnotation = "org.opencontainers.image.base.name"

func (a *artifact) addBase(img v1.Image) {
	m, err := img.Manifest()
	if err != nil || m.Annotations[baseNameAnnotation] == "" {
		return
	}
	a.bases = append(a.bases, m.Annotations[baseNameAnnotation])
}

// layerCount counts the distinct layers the artifact references and their
// bytes, for the log line that starts a push.
func (a *artifact) layerCount() (int, int64) {
	var n int
	var total int64
	seen := map[v1.Hash]bool{}
	visitImage := func(img v1.Image) {
		layers, _ := img.Layers()
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil || seen[d] {
				continue
			}
			seen[d] = true
			s, _ := l.Size()
			n++
			total += s
		}
	}
	var visitIndex func(idx v1.ImageIndex)
	visitIndex = func(idx v1.ImageIndex) {
		im, err := idx.IndexManifest()
		if err != nil {
			return
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsIndex() {
				if c, err := idx.ImageIndex(d.Digest); err == nil {
					visitIndex(c)
				}
			} else if img, err := idx.Image(d.Digest); err == nil {
				visitImage(img)
			}
		}
	}
	switch t := a.taggable.(type) {
	case v1.Image:
		visitImage(t)
	case v1.ImageIndex:
		visitIndex(t)
	}
	return n, total
}

// pathCause drops the directories from a file system error, which would
// repeat the build's temporary path, and keeps the file's name.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, filepath.Base(pe.Path), pe.Err)
	}
	return err
}
