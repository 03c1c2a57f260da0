package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature"
)

// openCached opens a registry lazily: a digest already proven to exist with
// the same credentials costs no request, not even the auth ping.
//
// A cloud source connects at once: its registry host (ECR's, when
// aws_account_id is absent) and its pull token come from the token exchange.
func (h *Hook) openCached(ctx context.Context, src resource.Source) (registry.Registry, error) {
	r := &cachedRegistry{h: h, ctx: ctx, src: src, who: credentialKey(src)}
	if src.ECR() || src.ACR() {
		if _, err := r.connect(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// credentialKey identifies credentials in memory without holding them: a
// proof of existence made with one account (or cloud identity) is not
// reused for another.
func credentialKey(src resource.Source) string {
	b, _ := json.Marshal(struct {
		resource.Credentials
		resource.CloudCredentials
	}{src.Credentials, src.CloudCredentials})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Endpoint implements registry.Resolved: the connection's for a cloud
// source (connected by openCached), else the source's repository and
// credentials, with no request.
func (r *cachedRegistry) Endpoint() registry.Endpoint {
	if resolved, ok := r.client.(registry.Resolved); ok {
		return resolved.Endpoint()
	}
	// A validated source parses; StaticResolver makes no request.
	ep, _ := registry.StaticResolver{}.Resolve(r.ctx, r.src, nil)
	return ep
}

// repositoryOf is where reg's source lives: ECR's derived host included.
func repositoryOf(reg registry.Registry, src resource.Source) (name.Repository, error) {
	if resolved, ok := reg.(registry.Resolved); ok {
		return resolved.Endpoint().Repository, nil
	}
	repo, err := resource.NewRepository(src.Repository, insecureOpt(src)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("parse repository %q: %w", src.Repository, err)
	}
	return repo, nil
}

type cachedRegistry struct {
	h      *Hook
	ctx    context.Context
	src    resource.Source
	who    string
	client registry.Registry
}

func (r *cachedRegistry) connect() (registry.Registry, error) {
	if r.client != nil {
		return r.client, nil
	}
	c, err := r.h.open(r.ctx, r.src)
	if err != nil {
		return nil, err
	}
	r.client = c
	return c, nil
}

func (r *cachedRegistry) Digest(ref name.Reference) (v1.Hash, bool, error) {
	d, pinned := ref.(name.Digest)
	key := ref.Name() + "\x00" + r.who
	if pinned {
		// Trusted, or proven before with these credentials: no request.
		if _, ok := r.h.proven.getAt(key, r.h.now()); ok || r.h.trust {
			h, err := v1.NewHash(d.DigestStr())
			return h, true, err
		}
	}
	c, err := r.connect()
	if err != nil {
		return v1.Hash{}, false, err
	}
	h, found, err := c.Digest(ref)
	if err == nil && found {
		// A tag's HEAD proves its digest exists too: resolving a tag and
		// then proving the digest costs one request, not two.
		r.h.proven.putUntil(ref.Context().Digest(h.String()).Name()+"\x00"+r.who, struct{}{}, r.h.now().Add(r.h.proveEvery))
	}
	return h, found, err
}

func (r *cachedRegistry) Image(ref name.Reference) (v1.Image, error) {
	_, pinned := ref.(name.Digest)
	// An index resolves to one image per platform.
	p := r.src.PlatformOr(nil)
	// The config is fetched lazily, with the context of the call that
	// fetched the image: an image cached for others must hold it already
	// when they will read it (label_regex, fetch_metadata), or a cancelled first caller
	// would fail every later one.
	withConfig := r.src.LabelRegex != "" || r.src.FetchMetadata != nil && *r.src.FetchMetadata
	key := fmt.Sprintf("%s\x00%s\x00%s/%s\x00%t", ref.Name(), r.who, p.OS, p.Architecture, withConfig)
	if pinned {
		if img, ok := r.h.images.getAt(key, r.h.now()); ok {
			return img, nil
		}
	}
	c, err := r.connect()
	if err != nil {
		return nil, err
	}
	img, err := c.Image(ref)
	if err != nil || !pinned {
		return img, err
	}
	if withConfig {
		if _, err := img.RawConfigFile(); err != nil {
			return img, nil // not cached: the caller meets the error itself
		}
	}
	r.h.images.putUntil(key, img, r.h.now().Add(r.h.proveEvery))
	return img, nil
}

// VerifySignature implements resource.SignatureVerifier: a digest verified
// with a set of keys costs no request again, whatever the credentials that
// ask (a digest names immutable content, and its signature was read once).
// A failure is not remembered: an image signed later verifies.
func (r *cachedRegistry) VerifySignature(pinned name.Digest, keys *signature.Keys) error {
	key := pinned.Name() + "\x00" + keys.ID()
	if _, ok := r.h.verified.get(key); ok {
		return nil
	}
	if err := registry.CheckSignature(pinned, keys, r); err != nil {
		return err
	}
	r.h.verified.put(key, struct{}{})
	return nil
}

// Referrers implements registry.ReferrersLister when the connection does,
// so that signatures stored as Sigstore bundles verify through the hook
// too. Never cached: only a verified result is.
func (r *cachedRegistry) Referrers(d name.Digest) ([]v1.Descriptor, error) {
	c, err := r.connect()
	if err != nil {
		return nil, err
	}
	lister, ok := c.(registry.ReferrersLister)
	if !ok {
		return nil, nil
	}
	return lister.Referrers(d)
}

// PullFailed tells the hook that a pod failed to pull reference (a
// Resolution's Reference: registry/repo@sha256:…), e.g. kubelet's
// ErrImagePull: the next decision that needs that digest proves it again
// rather than trust an earlier proof until DefaultProveInterval ends, so a
// digest deleted from the registry fails with refimage's "digest gone"
// message. It makes no request.
func (h *Hook) PullFailed(reference string) error {
	d, err := name.NewDigest(reference)
	if err != nil {
		return fmt.Errorf("forget the proof of %q: it is not a pinned reference (registry/repo@sha256:…): %w", reference, err)
	}
	prefix := d.Name() + "\x00"
	h.proven.deletePrefix(prefix)
	h.images.deletePrefix(prefix)
	return nil
}
