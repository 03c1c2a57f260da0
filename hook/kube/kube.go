package kube

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/refimage/refimage/hook"
)

// Labels refimage puts on every object it builds, so that a runtime's
// garbage collector can find them.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelComponent = "app.kubernetes.io/component"
	ManagedBy      = "refimage"
)

// dockerHubKey is the key Docker Hub credentials go under in a Docker
// config; kubelet and containerd's CRI map it to docker.io.
const dockerHubKey = "https://index.docker.io/v1/"

type options struct {
	namespace string
	labels    map[string]string
	nameSalt  string
}

// Option configures the objects' metadata.
type Option func(*options)

// WithNamespace sets the objects' namespace.
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithLabels adds labels (the runtime's team, pipeline or build, for
// garbage collection) to the ones refimage sets.
func WithLabels(labels map[string]string) Option {
	return func(o *options) { o.labels = maps.Clone(labels) }
}

// WithNameSalt sets the installation's salt for pull Secret names (see
// SecretName): a value unique to the installation, stable across restarts,
// and not guessable from outside, such as the UID of the namespace the
// Secrets live in (kubectl get namespace ci -o jsonpath='{.metadata.uid}').
// Every process of one installation must pass the same salt, or they name
// one credential set's Secret differently. Without it, names are salted
// with refimage's constant only, as one precomputed list would serve every
// installation that omits it.
func WithNameSalt(salt string) Option { return func(o *options) { o.nameSalt = salt } }

func collect(opts []Option) options {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func meta(name, component string, opts []Option) metav1.ObjectMeta {
	o := collect(opts)
	labels := map[string]string{}
	maps.Copy(labels, o.labels)
	labels[LabelManagedBy] = ManagedBy
	labels[LabelComponent] = component
	return metav1.ObjectMeta{Name: name, Namespace: o.namespace, Labels: labels}
}

// TaskImage returns the container image and pull policy for a task that
// uses the get as its image: the pinned reference, and IfNotPresent, which
// is safe because a digest names the same bytes forever. A reference that
// is not pinned (which Resolve never returns) gets Always.
func TaskImage(r *hook.Resolution) (string, corev1.PullPolicy) {
	if !strings.Contains(r.Reference, "@sha256:") {
		return r.Reference, corev1.PullAlways
	}
	return r.Reference, corev1.PullIfNotPresent
}

// AnnotationExpires is the annotation of a pull Secret that holds a
// short-lived token: when it stops working (RFC 3339, UTC), so that a
// runtime can refresh the Secret before then.
const AnnotationExpires = "refimage.github.io/expires"

// PullSecret returns a kubernetes.io/dockerconfigjson Secret holding the
// credentials for the registry the reference is pulled from (the mirror's
// when the mirror served it), or nil for an anonymous pull. Its name is
// derived from the whole credential set (see SecretName); no secret appears
// in a name, label or annotation. A short-lived token's expiry is the
// annotation AnnotationExpires.
//
// A Resolution that needs credentials but carries none (one read back from
// JSON, which never holds them) is an error: the pod would otherwise pull
// anonymously.
func PullSecret(r *hook.Resolution, opts ...Option) (*corev1.Secret, error) {
	if r.Auth == nil {
		if r.AuthRequired {
			return nil, fmt.Errorf("build the pull secret for %s: the resolution needs credentials (%s) but carries none, as after a JSON round trip: resolve again in process", r.Registry, identity(r))
		}
		return nil, nil
	}
	if r.Registry == "" {
		return nil, fmt.Errorf("build the pull secret for %s: the resolution names no registry, so no node would use the credentials: pass the Resolution that Resolve returned", r.Reference)
	}
	config, err := DockerConfig(r)
	if err != nil {
		return nil, err
	}
	m := meta(SecretName(r, opts...), "pull-secret", opts)
	if r.AuthExpires != nil {
		m.Annotations = map[string]string{AnnotationExpires: r.AuthExpires.UTC().Format(time.RFC3339)}
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: m,
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: config},
	}, nil
}

func identity(r *hook.Resolution) string {
	if r.AuthIdentity == "" {
		return "no identity recorded"
	}
	return "for " + r.AuthIdentity
}

type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// DockerConfig returns the Docker config JSON of the pull secret: one
// entry, for the registry the reference is pulled from.
func DockerConfig(r *hook.Resolution) ([]byte, error) {
	if r.Auth == nil {
		return nil, fmt.Errorf("build docker config for %s: the pull is anonymous", r.Registry)
	}
	key := r.Registry
	if key == "index.docker.io" || key == "docker.io" {
		key = dockerHubKey
	}
	auth := dockerAuth{Username: r.Auth.Username, Password: r.Auth.Password,
		Auth: base64.StdEncoding.EncodeToString([]byte(r.Auth.Username + ":" + r.Auth.Password))}
	return json.Marshal(map[string]map[string]dockerAuth{"auths": {key: auth}})
}

// Input is where a task takes the get as an input.
type Input struct {
	// MountPath is the input's absolute path in the task's container.
	MountPath string
	// VolumeName names the pod volume; empty means one derived from the files.
	VolumeName string
}

// InputFiles returns a ConfigMap with the files in writes (repository, tag,
// digest), and the volume and mount that put them at the task's input
// path. The ConfigMap is named after its contents, so the same version
// yields the same object. The files are read-only, as a ConfigMap volume is.
func InputFiles(r *hook.Resolution, in Input, opts ...Option) (*corev1.ConfigMap, corev1.Volume, corev1.VolumeMount) {
	data := r.FilesMap()
	parts := make([]string, 0, 2*len(r.Files))
	items := make([]corev1.KeyToPath, 0, len(r.Files))
	for _, f := range r.Files {
		parts = append(parts, f.Name, string(f.Data))
		items = append(items, corev1.KeyToPath{Key: f.Name, Path: f.Name})
	}
	name := "refimage-files-" + shortHash(parts...)
	volumeName := in.VolumeName
	if volumeName == "" {
		volumeName = name
	}
	mode := int32(0o444)
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(name, "get-files", opts),
		Data:       data,
	}
	vol := corev1.Volume{Name: volumeName, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: items, DefaultMode: &mode,
	}}}
	mount := corev1.VolumeMount{Name: volumeName, MountPath: in.MountPath, ReadOnly: true}
	return cm, vol, mount
}

// shortHash is a DNS-label-safe digest of parts, 16 hex digits; for
// contents that hold no secret.
func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
