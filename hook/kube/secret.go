package kube

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/refimage/refimage/hook"
)

// SecretName is the name of r's pull Secret: "refimage-pull-" and 20 hex
// digits derived from the whole credential set — the registry, the
// identity, the username and the password (a static password), so that two
// accounts with one username (_json_key, oauth2accesstoken,
// gitlab-ci-token, GHCR tokens) never share a Secret, and a new password
// gets a new Secret rather than overwriting one a running pod still pulls
// with. A short-lived token (r.AuthExpires set) is left out: the Secret of
// one identity keeps its name when the token is refreshed, and is updated
// in place. Each field is length-prefixed, so no two credential sets give
// one input (joined with a separator, user "x\x00y" with password "z" and
// user "x" with password "y\x00z" would).
//
// The derivation is Argon2id (1 pass, 8 MiB) salted with the installation's
// salt (WithNameSalt), so a name cannot be turned back into a password by
// guessing faster than Argon2id allows, and a list of names precomputed
// from common passwords serves one installation only. Results are memoised
// in this process. The name is stable: the same credentials and salt give
// the same name in every process.
func SecretName(r *hook.Resolution, opts ...Option) string {
	var user, pass string
	if r.Auth != nil {
		user, pass = r.Auth.Username, r.Auth.Password
	}
	if r.AuthExpires != nil {
		pass = ""
	}
	o := collect(opts)
	return "refimage-pull-" + names.derive(o.nameSalt, lengthPrefixed(r.Registry, r.AuthIdentity, user, pass))
}

// lengthPrefixed encodes fields so that the encoding of one list of
// fields is never that of another: each field's length (8 bytes, big
// endian), then its bytes.
func lengthPrefixed(fields ...string) string {
	var b []byte
	for _, f := range fields {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	return string(b)
}

// nameCache memoises derived names, keyed by a SHA-256 of the salt and the
// material (in memory only), bounded by emptying it when full.
type nameCache struct {
	mu   sync.Mutex
	seen map[[32]byte]string
}

var names = &nameCache{seen: map[[32]byte]string{}}

// nameSaltPrefix versions the derivation; the installation's salt follows
// it. (v1 joined the fields with NUL and had no installation salt.)
const nameSaltPrefix = "refimage pull secret name v2\x00"

func (c *nameCache) derive(salt, material string) string {
	key := sha256Sum(lengthPrefixed(salt, material))
	c.mu.Lock()
	name, ok := c.seen[key]
	c.mu.Unlock()
	if ok {
		return name
	}
	name = hex.EncodeToString(argon2.IDKey([]byte(material), []byte(nameSaltPrefix+salt), 1, 8*1024, 1, 10))
	c.mu.Lock()
	if len(c.seen) >= 1024 {
		clear(c.seen)
	}
	c.seen[key] = name
	c.mu.Unlock()
	return name
}

// SecretClient is the part of a Kubernetes client ApplySecret uses.
// client-go's typed SecretInterface (clientset.CoreV1().Secrets(ns))
// satisfies it as it is.
type SecretClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error)
	Create(ctx context.Context, secret *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error)
	Update(ctx context.Context, secret *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error)
}

// ApplySecret creates secret, or updates the Secret of that name in place:
// its data and annotations; of its labels, only keys it lacks are added, so
// that two writers sharing one Secret (two pipelines or teams with the same
// credentials) never flip each other's labels. Every apply marks the Secret
// as in use (AnnotationApplied, refreshed at most every StampInterval), for
// Collect. An unchanged Secret costs one Get. A Secret of that name of
// another type is an error: it is not refimage's. A nil secret (PullSecret's
// answer for an anonymous pull) applies nothing and returns nil. A Secret
// deleted between the Get and the Update (a collector of old Secrets) is
// created again.
func ApplySecret(ctx context.Context, c SecretClient, secret *corev1.Secret) (*corev1.Secret, error) {
	if secret == nil {
		return nil, nil
	}
	return apply(ctx, c, applied[*corev1.Secret]{kind: "secret", name: secret.Name,
		fresh: func(now time.Time) *corev1.Secret {
			fresh := secret.DeepCopy()
			stamp(&fresh.ObjectMeta, now)
			return fresh
		},
		want: func(existing *corev1.Secret, now time.Time) (*corev1.Secret, bool, error) {
			if existing.Type != secret.Type {
				return nil, false, fmt.Errorf("it exists with type %s, not %s: it is not refimage's; delete or rename it", existing.Type, secret.Type)
			}
			want := existing.DeepCopy()
			want.Data = secret.Data
			want.Labels = added(want.Labels, secret.Labels)
			want.Annotations = merged(want.Annotations, secret.Annotations)
			stale := stamp(&want.ObjectMeta, now)
			unchanged := maps.EqualFunc(want.Data, existing.Data, bytesEqual) && maps.Equal(want.Labels, existing.Labels) &&
				maps.Equal(want.Annotations, existing.Annotations)
			return want, stale || !unchanged, nil
		},
	})
}
