package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/resource"
)

// resolveRequest is a get plan as a Concourse 7+ runtime holds it (the
// fields of atc.GetPlan, credentials evaluated), plus the runtime's
// configuration of the hook and where the Kubernetes objects go.
type resolveRequest struct {
	hook.Get
	Runtime    *runtimeRequest `json:"runtime,omitempty"`
	Kubernetes *kubeRequest    `json:"kubernetes,omitempty"`
}

// runtimeRequest is hook.New's options as JSON.
type runtimeRequest struct {
	// BaseTypes are the base types that produce images (registry-image,
	// the stock resource, when none is given).
	BaseTypes []struct {
		Name  string              `json:"name"`
		Image string              `json:"image"`
		In    hook.Implementation `json:"in"`
	} `json:"base_types,omitempty"`
	// ImageTypes is the operator's list of type images that produce
	// registry images.
	ImageTypes []struct {
		Repository string              `json:"repository"`
		In         hook.Implementation `json:"in"`
	} `json:"image_types,omitempty"`
	// Policy is "skip-by-default" (the default) or "skip-on-request".
	Policy             string `json:"policy,omitempty"`
	TrustPinnedDigests bool   `json:"trust_pinned_digests,omitempty"`
}

type kubeRequest struct {
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// NameSalt is the installation's salt for pull Secret names, e.g. the
	// namespace's UID (see kube.WithNameSalt).
	NameSalt string `json:"name_salt,omitempty"`
	// InputPath is where a task takes the get as an input; empty: no
	// ConfigMap.
	InputPath string `json:"input_path,omitempty"`
	// NodesPullFromECR and NodesPullFromACR say the nodes pull from that
	// cloud's registries with their own identity: no pull secret is made.
	NodesPullFromECR bool `json:"nodes_pull_from_ecr,omitempty"`
	NodesPullFromACR bool `json:"nodes_pull_from_acr,omitempty"`
}

// Secrets lets the CLI wiring redact the credentials of the step's source
// and of every type image's source in the plan.
func (r resolveRequest) Secrets() []string {
	var out []string
	for g := &r.Get; g != nil; g = g.TypeImage.GetPlan {
		var src resource.Source
		if b, err := json.Marshal(g.Source); err == nil {
			_ = json.NewDecoder(bytes.NewReader(b)).Decode(&src)
		}
		out = append(out, src.Secrets()...)
	}
	return out
}

func (r resolveRequest) DebugEnabled() bool { return false }

// Validate rejects what a runtime would only find out later: a request with
// no type (an empty object, or null), and Kubernetes settings the API
// server refuses.
func (r resolveRequest) Validate() error {
	if r.Type == "" && r.TypeImage.BaseType == "" {
		return errors.New(`read type: it is required: pass the get plan's type, e.g. {"type": "registry-image", "image": {"base_type": "registry-image"}, …}`)
	}
	k := r.Kubernetes
	if k == nil {
		return nil
	}
	if k.Namespace != "" {
		if errs := validation.IsDNS1123Label(k.Namespace); len(errs) > 0 {
			return fmt.Errorf("read kubernetes.namespace: %q is not a namespace name: %s", k.Namespace, errs[0])
		}
	}
	for key, value := range k.Labels {
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return fmt.Errorf("read kubernetes.labels: %q is not a label key: %s", key, errs[0])
		}
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return fmt.Errorf("read kubernetes.labels.%s: %q is not a label value: %s", key, value, errs[0])
		}
	}
	if k.InputPath != "" && !path.IsAbs(k.InputPath) {
		return fmt.Errorf("read kubernetes.input_path: %q is not absolute: give the input's path in the task's container, e.g. /tmp/build/1/app-image", k.InputPath)
	}
	return nil
}

type resolveResponse struct {
	Decision  hook.Decision            `json:"decision"`
	Version   *resource.Version        `json:"version,omitempty"`
	Files     map[string]string        `json:"files,omitempty"`
	Metadata  []resource.MetadataField `json:"metadata,omitempty"`
	Reference string                   `json:"reference,omitempty"`
	ImageURL  string                   `json:"image_url,omitempty"`
	// AuthExpires is when the pull secret's cloud token stops working.
	AuthExpires *time.Time   `json:"auth_expires,omitempty"`
	Warnings    []string     `json:"warnings,omitempty"`
	Kubernetes  *kubeObjects `json:"kubernetes,omitempty"`
}

type kubeObjects struct {
	Image           string              `json:"image"`
	ImagePullPolicy corev1.PullPolicy   `json:"image_pull_policy"`
	Secret          *corev1.Secret      `json:"secret"`
	ConfigMap       *corev1.ConfigMap   `json:"config_map,omitempty"`
	Volume          *corev1.Volume      `json:"volume,omitempty"`
	VolumeMount     *corev1.VolumeMount `json:"volume_mount,omitempty"`
}

// hookOptions turns the request's runtime configuration into hook options.
func (r resolveRequest) hookOptions(env cli.Env) ([]hook.Option, error) {
	// Amazon ECR and Azure ACR sources get their tokens here, redacted
	// from stderr.
	opts := []hook.Option{hook.WithClientOptions(env.ClientOptions()...)}
	if k := r.Kubernetes; k != nil && k.NodesPullFromECR {
		opts = append(opts, hook.NodesPullFromECR())
	}
	if k := r.Kubernetes; k != nil && k.NodesPullFromACR {
		opts = append(opts, hook.NodesPullFromACR())
	}
	rt := r.Runtime
	if rt == nil {
		return opts, nil
	}
	for _, b := range rt.BaseTypes {
		opts = append(opts, hook.WithBaseType(b.Name, b.Image, b.In))
	}
	for _, t := range rt.ImageTypes {
		opts = append(opts, hook.WithImageType(t.In, t.Repository))
	}
	switch rt.Policy {
	case "", hook.SkipByDefault.String():
	case hook.SkipOnRequest.String():
		opts = append(opts, hook.WithPolicy(hook.SkipOnRequest))
	default:
		return nil, fmt.Errorf("read runtime.policy: %q is neither %q nor %q", rt.Policy, hook.SkipByDefault, hook.SkipOnRequest)
	}
	if rt.TrustPinnedDigests {
		opts = append(opts, hook.TrustPinnedDigests())
	}
	return opts, nil
}

// resolve answers one request: the decision, and for a step with no pod
// what in would have written, the pinned reference and the objects.
func resolve(ctx context.Context, env cli.Env, req resolveRequest, extra ...hook.Option) (any, error) {
	opts, err := req.hookOptions(env)
	if err != nil {
		return nil, err
	}
	h, err := hook.New(append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	d, err := h.Decide(ctx, req.Get)
	if err != nil {
		return nil, err
	}
	resp := resolveResponse{Decision: d}
	if !d.Skip {
		env.Log.Info(d.Reason)
		return resp, nil
	}
	res, err := h.Resolve(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		env.Log.Warn(w)
	}
	resp.Version, resp.Files, resp.Metadata = &res.Version, res.FilesMap(), res.Metadata
	resp.Reference, resp.ImageURL, resp.Warnings = res.Reference, res.ImageURL, res.Warnings
	resp.AuthExpires = res.AuthExpires
	if resp.Kubernetes, err = objects(res, req.Kubernetes); err != nil {
		return nil, err
	}
	// Logged last, so that a failure is the only line on stderr.
	env.Log.Info(d.Reason)
	return resp, nil
}

// objects builds the Kubernetes objects a task pod needs.
func objects(res *hook.Resolution, k *kubeRequest) (*kubeObjects, error) {
	if k == nil {
		k = &kubeRequest{}
	}
	kopts := []kube.Option{kube.WithNamespace(k.Namespace), kube.WithLabels(k.Labels), kube.WithNameSalt(k.NameSalt)}
	objs := &kubeObjects{}
	objs.Image, objs.ImagePullPolicy = kube.TaskImage(res)
	var err error
	if objs.Secret, err = kube.PullSecret(res, kopts...); err != nil {
		return nil, err
	}
	if k.InputPath != "" {
		cm, vol, mount := kube.InputFiles(res, kube.Input{MountPath: k.InputPath}, kopts...)
		objs.ConfigMap, objs.Volume, objs.VolumeMount = cm, &vol, &mount
	}
	return objs, nil
}
