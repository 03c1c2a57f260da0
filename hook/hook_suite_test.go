package hook_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestHook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Hook Suite")
}

// testRegistry is ggcr's in-process registry on loopback, counting the
// requests it serves (pings excluded) by method.
type testRegistry struct {
	Host string
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string
}

func startRegistry() *testRegistry {
	r := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v2/" {
			r.mu.Lock()
			r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
			r.mu.Unlock()
		}
		inner.ServeHTTP(w, req)
	}))
	DeferCleanup(r.srv.Close)
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// Requests returns the requests since the last call, and forgets them.
func (r *testRegistry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// push writes a random image with labels (and annotations) under tag.
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
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(ref, img)).To(Succeed())
	digest, err := img.Digest()
	Expect(err).NotTo(HaveOccurred())
	r.Requests()
	return digest
}
