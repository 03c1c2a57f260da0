package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/resource"
)

// Registry is the registry access that reference mode needs; *Client has it.
type Registry interface {
	// Digest answers with a HEAD request whether ref exists, and its digest.
	Digest(ref name.Reference) (v1.Hash, bool, error)
	// Image fetches ref's manifest (resolving an index to the platform's
	// image); its config is fetched only when asked for.
	Image(ref name.Reference) (v1.Image, error)
}

// OpenFunc connects to the registry of a source.
type OpenFunc func(ctx context.Context, src resource.Source) (Registry, error)

// Reference is everything in writes and prints in reference-only mode, and
// the pinned reference a pod would pull.
type Reference struct {
	// Files are repository, tag and digest, byte for byte as registry-image
	// writes them.
	Files    []resource.File
	Response resource.VersionResponse
	// Pinned is where the digest was found: the mirror's repository when a
	// registry_mirror has it, the source's otherwise.
	Pinned name.Digest
	// Warnings are non-fatal events (a mirror that failed) for the caller
	// to log.
	Warnings []string
	// Endpoint is where Pinned was found and the credentials that found
	// it, when the registry reports them (see Resolved): the runtime hook
	// turns a cloud token into a pull secret with it. Never log its Auth.
	Endpoint *Endpoint
}

// ResolveReference computes reference-only in: it proves the version's
// digest exists with one manifest HEAD (or, when label_regex,
// annotation_regex or fetch_metadata need it, one manifest GET and a config
// GET instead; fetch_metadata then adds metadata.json and labels.json to
// the files), verifies its signature when source.verify is set (a manifest
// GET and a blob GET per signature read), downloads no layer, and returns
// the version unchanged. It has no side
// effects besides those requests, so the in binary and the runtime hook
// share it and cannot drift.
func ResolveReference(ctx context.Context, req resource.InRequest, open OpenFunc) (*Reference, error) {
	src, version := req.Source, req.Version
	if _, err := v1.NewHash(version.Digest); err != nil {
		return nil, fieldErrorf("version.digest", "%q is not a digest (%v): it must look like sha256:<64 hex digits>", version.Digest, err)
	}
	// The step's platform picks the image whose labels label_regex reads.
	if req.Params.Platform != nil {
		src.Platform = req.Params.Platform
	}
	// The step's fetch_metadata is the source's from here on, so that a
	// registry connection (the hook's cache) knows the config is wanted.
	on, _ := resource.FetchMetadata(req.Params, src)
	src.FetchMetadata = &on

	candidates := []resource.Source{src}
	if mirror, ok, err := src.Mirror(); err != nil {
		return nil, err
	} else if ok {
		candidates = []resource.Source{mirror, src}
	}
	var warnings []string
	for i, candidate := range candidates {
		isMirror := i == 0 && len(candidates) == 2
		ref, err := proveVersion(ctx, src, candidate, version, open)
		if err != nil && isMirror {
			warnings = append(warnings, fmt.Sprintf("mirror %s: %v; using the origin", candidate.Repository, Redact(err)))
			continue
		}
		if err != nil {
			return nil, err
		}
		ref.Warnings = warnings
		return ref, nil
	}
	panic("unreachable: the origin is always a candidate")
}

// proveVersion opens candidate (the source or its mirror) and proves the
// version's digest is there.
func proveVersion(ctx context.Context, src, candidate resource.Source, version resource.Version, open OpenFunc) (*Reference, error) {
	reg, err := open(ctx, candidate)
	if err != nil {
		return nil, err
	}
	repo, err := candidate.ParseRepository()
	if err != nil {
		return nil, fmt.Errorf("parse repository %q: %w", candidate.Repository, err)
	}
	var endpoint *Endpoint
	if resolved, ok := reg.(Resolved); ok {
		ep := resolved.Endpoint()
		endpoint = &ep
		repo = ep.Repository
	} else if candidate.ECR() {
		return nil, fmt.Errorf("open %s: the registry connection does not say which ECR host it resolved to (it must implement Resolved)", candidate.Repository)
	}
	pinned := repo.Digest(version.Digest)
	withFiles, _ := resource.FetchMetadata(resource.GetParams{}, src)
	extra, imageFiles, err := proveDigest(candidate, pinned, reg, withFiles)
	if err != nil {
		return nil, err
	}
	// Verified where it was found: a mirror without the signature falls
	// back to the origin, as a mirror without the digest does.
	if err := VerifySignature(candidate, pinned, reg); err != nil {
		return nil, err
	}
	// A mirror's digest is written under the source's repository; an ECR
	// source's under the registry it resolved to.
	shown := src.Shown(repo)
	return &Reference{
		Files:    append(resource.VersionFiles(shown, version), imageFiles...),
		Response: resource.VersionResponse{Version: version, Metadata: append(resource.VersionMetadata(shown, version), extra...)},
		Pinned:   pinned,
		Endpoint: endpoint,
	}, nil
}

// proveDigest checks that pinned exists with one HEAD or, when the
// source's regexes or fetch_metadata (withFiles) need the manifest or
// config, by reading them (a manifest GET, and a config GET for labels and
// files; never a layer); it returns the metadata the regexes select and,
// withFiles, metadata.json and labels.json.
func proveDigest(src resource.Source, pinned name.Digest, reg Registry, withFiles bool) ([]resource.MetadataField, []resource.File, error) {
	if !src.WantsImageMetadata() && !withFiles {
		_, found, err := reg.Digest(pinned)
		if err != nil {
			return nil, nil, Explain(fmt.Sprintf("look up %s", pinned), pinned.Repository, err)
		}
		if !found {
			return nil, nil, DigestGone(pinned)
		}
		return nil, nil, nil
	}
	img, err := reg.Image(pinned)
	if IsNotFound(err) {
		return nil, nil, DigestGone(pinned)
	}
	if err != nil {
		return nil, nil, Explain(fmt.Sprintf("fetch %s", pinned), pinned.Repository, err)
	}
	fields, err := resource.ImageMetadata(src, img)
	if err != nil {
		return nil, nil, Explain(fmt.Sprintf("read the labels and annotations of %s", pinned), pinned.Repository, err)
	}
	if !withFiles {
		return fields, nil, nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, nil, Explain(fmt.Sprintf("read the config of %s", pinned), pinned.Repository, err)
	}
	files, err := resource.ImageFiles(cfg)
	return fields, files, err
}

// DigestGone is the error for a pinned digest the registry no longer has.
func DigestGone(pinned name.Digest) error {
	return &RegistryError{Op: fmt.Sprintf("fetch %s", pinned), Status: 404,
		Err:  fmt.Errorf("digest %s is not in %s", pinned.DigestStr(), pinned.Repository),
		Hint: "the image was deleted or the repository changed since check found it; run check again"}
}
