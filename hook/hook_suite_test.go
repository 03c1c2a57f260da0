package hook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

func TestHook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Hook Suite")
}

// testRegistry is ggcr's in-process registry behind the harness's
// counting proxy.
type testRegistry struct {
	*registrytest.Proxy
}

func startRegistry() *testRegistry {
	target := registrytest.NewInProcess()
	DeferCleanup(target.Close)
	proxy := registrytest.NewProxy(target)
	DeferCleanup(proxy.Close)
	return &testRegistry{Proxy: proxy}
}

// Requests returns the requests counted since the last call, and forgets them.
func (r *testRegistry) Requests() registrytest.RequestCounts {
	c := r.Counts()
	r.Reset()
	return c
}

// push writes a random image with labels under tag.
func (r *testRegistry) push(repo, tag string, labels map[string]string) v1.Hash {
	img, err := random.Image(64, 1)
	Expect(err).NotTo(HaveOccurred())
	if labels != nil {
		cfg, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		cfg = cfg.DeepCopy()
		cfg.Config.Labels = labels
		img, err = mutate.ConfigFile(img, cfg)
		Expect(err).NotTo(HaveOccurred())
	}
	ref, err := name.NewTag(r.Repo(repo + ":" + tag))
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(ref, img, r.RemoteOptions()...)).To(Succeed())
	digest, err := img.Digest()
	Expect(err).NotTo(HaveOccurred())
	r.Reset()
	return digest
}

// mustNew is hook.New for options that are valid.
func mustNew(opts ...hook.Option) *hook.Hook {
	h, err := hook.New(opts...)
	Expect(err).NotTo(HaveOccurred())
	return h
}

// versionMap is a version as a plan carries it.
func versionMap(v resource.Version) map[string]string {
	out := map[string]string{}
	if v.Tag != "" {
		out["tag"] = v.Tag
	}
	if v.Digest != "" {
		out["digest"] = v.Digest
	}
	return out
}

// baseGet is the plan of a get of the base type registry-image.
func baseGet(source, params map[string]any, v resource.Version) hook.Get {
	return hook.Get{Type: "registry-image", Source: source, Params: params, Version: versionMap(v),
		TypeImage: hook.TypeImage{BaseType: "registry-image"}}
}

// jsonUnmarshalStrict decodes as refimage resolve does: unknown fields are
// errors.
func jsonUnmarshalStrict(s string, into any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}
