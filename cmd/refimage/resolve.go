package main

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/resource"
)

// resolveRequest is in's request plus what the runtime knows of the type,
// and where the Kubernetes objects go.
type resolveRequest struct {
	// Source is the credential-evaluated source.
	Source  map[string]any   `json:"source"`
	Params  map[string]any   `json:"params,omitempty"`
	Version resource.Version `json:"version"`
	// Type is the resource's type name; Produces its own declaration.
	Type          string              `json:"type"`
	Produces      string              `json:"produces,omitempty"`
	ResourceTypes []hook.ResourceType `json:"resource_types,omitempty"`
	// TypeImage asks the other question: can the image of the custom type
	// Type itself (its resource_types entry's source, at Version) be
	// resolved with no pod? Source and Params are then not used.
	TypeImage  bool         `json:"type_image,omitempty"`
	Kubernetes *kubeRequest `json:"kubernetes,omitempty"`
}

type kubeRequest struct {
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// InputPath is where a task takes the get as an input; empty: no
	// ConfigMap.
	InputPath string `json:"input_path,omitempty"`
	// NodesPullFromECR and NodesPullFromACR say the nodes pull from that
	// cloud's registries with their own identity: no pull secret is made.
	NodesPullFromECR bool `json:"nodes_pull_from_ecr,omitempty"`
	NodesPullFromACR bool `json:"nodes_pull_from_acr,omitempty"`
}

// Secrets lets the CLI wiring redact the source's credentials.
// The types' sources count too: a type_image request uses them.
func (r resolveRequest) Secrets() []string {
	sources := []map[string]any{r.Source}
	for _, t := range r.ResourceTypes {
		sources = append(sources, t.Source, t.Defaults)
	}
	var out []string
	for _, values := range sources {
		var src resource.Source
		if b, err := json.Marshal(values); err == nil {
			_ = json.NewDecoder(bytes.NewReader(b)).Decode(&src)
		}
		out = append(out, src.Secrets()...)
	}
	return out
}

func (r resolveRequest) DebugEnabled() bool { return false }

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

// resolve answers one request: the decision, and for a step with no pod
// what in would have written, the pinned reference and the objects.
func resolve(ctx context.Context, env cli.Env, req resolveRequest, opts ...hook.Option) (any, error) {
	// Amazon ECR and Azure ACR sources get their tokens here, redacted
	// from stderr; options from the caller come after and may replace them.
	base := []hook.Option{hook.WithClientOptions(env.ClientOptions()...)}
	if k := req.Kubernetes; k != nil && k.NodesPullFromECR {
		base = append(base, hook.NodesPullFromECR())
	}
	if k := req.Kubernetes; k != nil && k.NodesPullFromACR {
		base = append(base, hook.NodesPullFromACR())
	}
	h := hook.New(append(base, opts...)...)
	var d hook.Decision
	var err error
	if req.TypeImage {
		d, err = h.DecideTypeImage(ctx, req.ResourceTypes, req.Type)
	} else {
		d, err = h.Decide(ctx, hook.GetStep{
			Resource:        hook.Resource{Type: req.Type, Source: req.Source, Produces: req.Produces},
			ResourceTypes:   req.ResourceTypes,
			Params:          req.Params,
			EvaluatedSource: req.Source,
		})
	}
	if err != nil {
		return nil, err
	}
	resp := resolveResponse{Decision: d}
	if !d.Skip {
		env.Log.Info(d.Reason)
		return resp, nil
	}
	res, err := h.Resolve(ctx, d, req.Version)
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		env.Log.Warn(w)
	}
	resp.Version, resp.Files, resp.Metadata = &res.Version, res.FilesMap(), res.Metadata
	resp.Reference, resp.ImageURL, resp.Warnings = res.Reference, res.ImageURL, res.Warnings
	resp.AuthExpires = res.AuthExpires

	k := req.Kubernetes
	if k == nil {
		k = &kubeRequest{}
	}
	kopts := []kube.Option{kube.WithNamespace(k.Namespace), kube.WithLabels(k.Labels)}
	objs := &kubeObjects{}
	objs.Image, objs.ImagePullPolicy = kube.TaskImage(res)
	if objs.Secret, err = kube.PullSecret(res, kopts...); err != nil {
		return nil, err
	}
	if k.InputPath != "" {
		cm, vol, mount := kube.InputFiles(res, kube.Input{MountPath: k.InputPath}, kopts...)
		objs.ConfigMap, objs.Volume, objs.VolumeMount = cm, &vol, &mount
	}
	resp.Kubernetes = objs
	// Logged last, so that a failure is the only line on stderr.
	env.Log.Info(d.Reason)
	return resp, nil
}
