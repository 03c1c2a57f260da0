package in

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// fullDownload writes the image in the requested format. With a
// registry_mirror it tries the mirror first and, when anything fails there,
// starts again from the origin on a clean destination.
func fullDownload(ctx context.Context, req resource.InRequest, dest string, o options) (resource.VersionResponse, error) {
	mirror, hasMirror, err := req.Source.Mirror()
	if err != nil {
		return resource.VersionResponse{}, err
	}
	if hasMirror {
		fields, _, err := downloadFrom(ctx, mirror, req, dest, o)
		if err == nil {
			return respond(req, req.Source, dest, fields)
		}
		cerr := clean(dest)
		if ctx.Err() != nil {
			if cerr != nil {
				o.log.Warnf("could not clean up the cancelled download: %v", cerr)
			}
			return resource.VersionResponse{}, err
		}
		o.log.Warnf("download from mirror %s failed, using the origin: %v", mirror.Repository, err)
		if cerr != nil {
			return resource.VersionResponse{}, fmt.Errorf("clean up after the mirror failed: %w", cerr)
		}
	}
	fields, repo, err := downloadFrom(ctx, req.Source, req, dest, o)
	if err != nil {
		// Leave no half-written image behind for anything to mistake.
		if cerr := clean(dest); cerr != nil {
			o.log.Warnf("could not clean up the failed download: %v", cerr)
		}
		return resource.VersionResponse{}, err
	}
	return respond(req, req.Source.Shown(repo), dest, fields)
}

// respond writes the version files, last, so that a destination holding
// them holds a complete image. shown is the source as the files name it
// (an ECR repository with its derived host).
func respond(req resource.InRequest, shown resource.Source, dest string, extra []resource.MetadataField) (resource.VersionResponse, error) {
	if err := writeFiles(dest, resource.VersionFiles(shown, req.Version)); err != nil {
		return resource.VersionResponse{}, err
	}
	return resource.VersionResponse{
		Version:  req.Version,
		Metadata: append(resource.VersionMetadata(shown, req.Version), extra...),
	}, nil
}

// clean removes what a failed attempt may have left.
func clean(dest string) error {
	for _, n := range []string{"rootfs", "oci", "image.tar", "metadata.json", "labels.json", blobsDir} {
		if err := removeAll(filepath.Join(dest, n)); err != nil {
			return fmt.Errorf("remove %s: %w", n, err)
		}
	}
	return nil
}

// removeAll removes p and everything below it, read-only directories
// included: once the last layer is applied, a rootfs has its directories'
// own modes, and a non-root user cannot empty a 0555 one.
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// downloadFrom writes the image from src's registry and returns the
// metadata that label_regex and annotation_regex select, and the repository
// the client resolved src to.
func downloadFrom(ctx context.Context, src resource.Source, req resource.InRequest, dest string, o options) ([]resource.MetadataField, name.Repository, error) {
	client, err := registry.NewClient(ctx, src, o.clientOptions(req.Params.Platform)...)
	if err != nil {
		return nil, name.Repository{}, err
	}
	ref := client.Repository.Digest(req.Version.Digest)
	// Before the first byte is written: an image that does not verify
	// leaves the destination empty.
	if err := registry.VerifySignature(src, ref, client); err != nil {
		return nil, name.Repository{}, err
	}
	o.log.Infof("fetching %s", ref)
	desc, err := remote.Get(ref, client.Remote...)
	if err != nil {
		return nil, name.Repository{}, explainFetch(ref, err)
	}

	var img v1.Image
	image := func() (v1.Image, error) {
		if img != nil {
			return img, nil
		}
		var err error
		if img, err = desc.Image(); err != nil {
			return nil, explainFetch(ref, err)
		}
		return img, nil
	}

	switch req.Params.FormatOrDefault() {
	case resource.FormatRootfs:
		if _, err := image(); err != nil {
			return nil, name.Repository{}, err
		}
		err = writeRootfs(ctx, img, client.OpenBlob, dest, o)
	case resource.FormatOCI:
		if _, err := image(); err != nil {
			return nil, name.Repository{}, err
		}
		// ggcr streams every blob into the file; a blob that breaks off
		// or fails verification restarts the file.
		err = retrying(ctx, o.retry, o.log, "write image.tar", func() error {
			return writeOCI(img, tagOf(client.Repository, req.Version), dest)
		}, func() {})
	case resource.FormatOCILayout:
		err = retrying(ctx, o.retry, o.log, "write the OCI layout", func() error {
			return writeOCILayout(desc, dest)
		}, func() { _ = os.RemoveAll(filepath.Join(dest, "oci")) })
	}
	if err != nil {
		return nil, name.Repository{}, registry.Explain(fmt.Sprintf("download %s", ref), ref.Repository, err)
	}
	fields, err := selectedMetadata(src, image)
	return fields, client.Repository, err
}

// tagOf is the tag image.tar records, "latest" for a digest-only version as
// registry-image's.
func tagOf(repo name.Repository, v resource.Version) name.Tag {
	if v.Tag == "" {
		return repo.Tag("latest")
	}
	return repo.Tag(v.Tag)
}

// explainFetch names the repository and digest when the manifest is gone,
// and classifies other registry errors.
func explainFetch(ref name.Digest, err error) error {
	if registry.IsNotFound(err) {
		return registry.DigestGone(ref)
	}
	return registry.Explain(fmt.Sprintf("fetch %s", ref), ref.Repository, err)
}

// selectedMetadata returns the labels and annotations the source's regexes
// select, reading the image only when they ask.
func selectedMetadata(src resource.Source, image func() (v1.Image, error)) ([]resource.MetadataField, error) {
	if !src.WantsImageMetadata() {
		return nil, nil
	}
	img, err := image()
	if err != nil {
		return nil, err
	}
	return resource.ImageMetadata(src, img)
}
