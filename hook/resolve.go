package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Resolution is what an eligible get yields with no pod.
type Resolution struct {
	// Version is the version given, with its digest filled in when it had
	// none (see Resolve).
	Version resource.Version `json:"version"`
	// Files and Metadata are what in writes and prints in reference mode,
	// byte for byte.
	Files    []resource.File          `json:"files"`
	Metadata []resource.MetadataField `json:"metadata"`
	// Reference is the pinned, fully qualified reference
	// (registry/repository@sha256:…, Docker Hub as docker.io/library/…),
	// on the mirror when a registry_mirror served the digest.
	Reference string `json:"reference"`
	// ImageURL is Reference in the form Concourse runtimes use.
	ImageURL string `json:"image_url"`
	// Registry is the host Reference is pulled from, as a pull secret
	// names it.
	Registry string `json:"registry"`
	// Auth are the credentials for Registry (the mirror's when the mirror
	// is used; a cloud token for ECR and ACR); nil for anonymous pulls and
	// for a cloud registry the nodes pull from with their own identity.
	// Never printed, and not in JSON: a Resolution read back from JSON has
	// AuthRequired set and no Auth, and kube.PullSecret refuses it rather
	// than let a pod pull anonymously.
	Auth *resource.Credentials `json:"-"`
	// AuthRequired is true when the pull needs Auth.
	AuthRequired bool `json:"auth_required,omitempty"`
	// AuthExpires is when Auth stops working, for a short-lived cloud
	// token; a pod must start before then, and a pull secret made from it
	// must be refreshed by then (kube puts it on the Secret).
	AuthExpires *time.Time `json:"auth_expires,omitempty"`
	// AuthIdentity says whom Auth belongs to, never a secret: the username,
	// or for a cloud token the identity it was issued to (key id, roles,
	// account, client), since every ECR token has the username AWS.
	AuthIdentity string `json:"auth_identity,omitempty"`
	// Warnings are what a pod spec cannot express, and non-fatal events.
	Warnings []string `json:"warnings,omitempty"`
}

// FilesMap returns Files as name → contents.
func (r *Resolution) FilesMap() map[string]string {
	out := make(map[string]string, len(r.Files))
	for _, f := range r.Files {
		out[f.Name] = string(f.Data)
	}
	return out
}

// ErrNotEligible is returned by Resolve and Check for a decision that
// needs a pod.
var ErrNotEligible = errors.New("the type does not produce a registry image")

// Resolve computes, for a decision to skip and the version the scheduler
// chose (Get.Version, carried by the decision), what in would have
// written, with the same function in calls. A version with a digest is
// returned unchanged, and costs at most one HEAD the first time that digest
// is seen (none after, and none at all with TrustPinnedDigests). A version
// with only a tag is resolved to a digest with one HEAD, and a warning says
// so; a version with neither is an error: the hook never falls back to a
// tag or to latest.
func (h *Hook) Resolve(ctx context.Context, d Decision) (_ *Resolution, err error) {
	// A URL in an error keeps scheme, host and path, never a query's token.
	defer func() { err = registry.Redact(err) }()
	if !d.Eligible {
		return nil, fmt.Errorf("resolve: %w (%s)", ErrNotEligible, d.Reason)
	}
	if !d.Skip {
		return nil, fmt.Errorf("resolve: the decision is to run a pod (%s)", d.Reason)
	}
	if d.Source.Repository == "" {
		return nil, errors.New("resolve: the decision carries no source: pass the Decision that Decide returned, not one read back from JSON")
	}
	v := d.Version
	var warnings []string
	if v.Digest == "" {
		if v.Tag == "" {
			return nil, errors.New("resolve: the version has neither digest nor tag: pass the version check found, e.g. {\"tag\":\"1.2\",\"digest\":\"sha256:…\"}")
		}
		digest, err := h.resolveTag(ctx, d.Source, v.Tag)
		if err != nil {
			return nil, err
		}
		warnings = append(warnings, fmt.Sprintf("version %q had no digest: resolved tag %s to %s with one HEAD; pass versions from check to pin exactly what was tested", v.Tag, v.Tag, digest))
		v.Digest = digest
	}
	ref, err := registry.ResolveReference(ctx, resource.InRequest{Source: d.Source, Params: d.Params, Version: v}, h.openCached)
	if err != nil {
		return nil, err
	}
	res := &Resolution{
		Version:   ref.Response.Version,
		Files:     ref.Files,
		Metadata:  ref.Response.Metadata,
		Reference: PinnedReference(ref.Pinned),
		Registry:  ref.Pinned.RegistryStr(),
		Warnings:  append(warnings, ref.Warnings...),
	}
	res.ImageURL = "docker:///" + res.Reference
	if d.Source.ECR() || d.Source.ACR() {
		if err := h.cloudAuth(res, d.Source, ref.Endpoint); err != nil {
			return nil, err
		}
	} else {
		creds := d.Source.Credentials
		if mirror, ok, _ := d.Source.Mirror(); ok && ref.Pinned.RegistryStr() != name.DefaultRegistry {
			creds = mirror.Credentials
		}
		if creds.Username != "" || creds.Password != "" {
			res.Auth, res.AuthRequired = &creds, true
			res.AuthIdentity = creds.Username
		}
	}
	res.Warnings = append(res.Warnings, nodeWarnings(d.Source, res.Registry)...)
	if p := d.Params.Platform; p != nil || d.Source.Platform != nil {
		chosen := d.Source.PlatformOr(p)
		res.Warnings = append(res.Warnings, fmt.Sprintf("a platform (%s/%s) is set: the task image is pinned to the version's digest, and when that is a multi-arch index kubelet runs the node's own platform; run the task on %s/%s nodes", chosen.OS, chosen.Architecture, chosen.OS, chosen.Architecture))
	}
	return res, nil
}

// cloudAuth puts the step's cloud token in the resolution, with its expiry,
// unless the nodes pull from that cloud with their own identity.
func (h *Hook) cloudAuth(res *Resolution, src resource.Source, ep *registry.Endpoint) error {
	kind, nodes, option := "Amazon ECR", h.nodePulls.ecr, "NodesPullFromECR"
	if src.ACR() {
		kind, nodes, option = "Azure ACR", h.nodePulls.acr, "NodesPullFromACR"
	}
	if nodes {
		res.Warnings = append(res.Warnings, fmt.Sprintf("no pull secret for %s: the nodes pull from %s with their own identity (%s); they need pull access to it", res.Registry, kind, option))
		return nil
	}
	if ep == nil || ep.Auth == nil {
		return fmt.Errorf("resolve %s: the registry connection reported no %s token for the pull secret", res.Reference, kind)
	}
	cfg, err := ep.Auth.Authorization()
	if err != nil {
		return fmt.Errorf("read the %s token for %s: %w", kind, res.Registry, err)
	}
	res.Auth, res.AuthRequired = &resource.Credentials{Username: cfg.Username, Password: cfg.Password}, true
	c := src.CloudCredentials
	res.AuthIdentity = strings.Join(append([]string{kind, c.AWSAccessKeyID, c.AWSAccountID, c.AWSRegion, c.AzureClientID, c.AzureTenantID}, c.RoleARNs()...), "|")
	if !ep.Expires.IsZero() {
		t := ep.Expires.UTC()
		res.AuthExpires = &t
		res.Warnings = append(res.Warnings, fmt.Sprintf("the pull secret holds a short-lived %s token that expires at %s: a pod that starts later cannot pull; resolve again for a fresh secret, or let the nodes pull with their own identity (%s)", kind, t.Format(time.RFC3339), option))
	}
	return nil
}

// PinnedReference is d fully qualified, with Docker Hub written as
// docker.io, the form kubelet and containerd normalise to.
func PinnedReference(d name.Digest) string {
	host := d.Context().RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	return host + "/" + d.Context().RepositoryStr() + "@" + d.DigestStr()
}

// nodeWarnings lists what kubelet needs from the node for src, which no pod
// spec can carry.
func nodeWarnings(src resource.Source, registry string) []string {
	var out []string
	if src.Insecure {
		out = append(out, fmt.Sprintf("source.insecure is true: kubelet can pull from %s only if every node's container runtime is configured to treat it as an insecure registry; a pod spec cannot say so", registry))
	}
	if len(src.CACerts) > 0 {
		out = append(out, fmt.Sprintf("source.ca_certs is set: every node's container runtime must trust the CA of %s; a pod spec cannot carry a CA", registry))
	}
	return out
}

// resolveTag finds the digest tag points to with one HEAD, on the mirror
// first when one applies, as in and check use it.
func (h *Hook) resolveTag(ctx context.Context, src resource.Source, tag string) (string, error) {
	candidates := []resource.Source{src}
	if mirror, ok, err := src.Mirror(); err != nil {
		return "", err
	} else if ok {
		candidates = []resource.Source{mirror, src}
	}
	var firstErr error
	for _, c := range candidates {
		reg, err := h.openCached(ctx, c)
		if err != nil {
			return "", err
		}
		repo, err := repositoryOf(reg, c)
		if err != nil {
			return "", err
		}
		ref := repo.Tag(tag)
		digest, found, err := reg.Digest(ref)
		switch {
		case err != nil:
			err = registry.Explain(fmt.Sprintf("look up %s", ref), repo, err)
		case !found:
			err = fmt.Errorf("look up %s: tag %s is not in %s", ref, tag, repo)
		default:
			return digest.String(), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", firstErr
}

func insecureOpt(src resource.Source) []name.Option {
	if src.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}
