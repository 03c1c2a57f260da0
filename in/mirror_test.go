package in_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// toOrigin sends what is meant for Docker Hub to a loopback registry, so
// that the fallback to the origin can be tested without the internet.
type toOrigin struct{ host string }

func (t toOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "index.docker.io" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = "http", t.host
	}
	return http.DefaultTransport.RoundTrip(r)
}

var _ = Describe("registry_mirror in a full download", func() {
	var mirror, origin *fakeRegistry
	var digest string
	var logs *bytes.Buffer

	BeforeEach(func() {
		mirror, origin = newFakeRegistry(), newFakeRegistry()
		img := image(layer(imagetest.Gzip, imagetest.File("hello", "world")))
		digest = push(mirror.repo("library/app"), "latest", img)
		push(origin.repo("library/app"), "latest", img)
		mirror.reset()
		origin.reset()
		logs = &bytes.Buffer{}
	})
	runCtx := func(ctx context.Context) (string, error) {
		log := logrus.New()
		log.Out = logs
		yes := true
		dest := GinkgoT().TempDir()
		_, err := in.Run(ctx, resource.InRequest{
			Source:  resource.Source{Repository: "app", RegistryMirror: &resource.RegistryMirror{Host: mirror.host()}},
			Params:  resource.GetParams{FetchArtifact: &yes},
			Version: resource.Version{Tag: "latest", Digest: digest},
		}, dest, in.WithLogger(log), in.WithClientOptions(registry.WithTransport(toOrigin{host: origin.host()})))
		return dest, err
	}
	run := func() (string, error) { return runCtx(context.Background()) }

	It("downloads from the mirror when it has the image", func() {
		dest, err := run()
		Expect(err).NotTo(HaveOccurred())
		Expect(os.ReadFile(filepath.Join(dest, "rootfs/hello"))).To(BeEquivalentTo("world"))
		Expect(origin.requestsTo()).To(BeEmpty())
		Expect(mirror.requestsTo()).NotTo(BeEmpty())
	})

	It("falls back to the origin when the mirror fails, on a clean destination", func() {
		mirror.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusNotFound)
			return true
		})
		dest, err := run()
		Expect(err).NotTo(HaveOccurred())
		Expect(logs.String()).To(ContainSubstring("using the origin"))
		Expect(os.ReadFile(filepath.Join(dest, "rootfs/hello"))).To(BeEquivalentTo("world"))
		Expect(origin.requestsTo()).NotTo(BeEmpty())
		Expect(tree(dest)).To(ConsistOf("rootfs", "rootfs/hello", "metadata.json", "labels.json", "repository", "tag", "digest"))
		Expect(os.ReadFile(filepath.Join(dest, "repository"))).To(BeEquivalentTo("app"))
	})

	It("leaves a clean destination when the step is cancelled during the mirror's download", func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var blobs atomic.Int32
		mirror.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/blobs/") || r.Method != http.MethodGet {
				return false
			}
			if blobs.Add(1) == 1 {
				return false // the config
			}
			// Half a layer arrives, then the step is cancelled.
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(bytes.Repeat([]byte{0x1f}, 10))
			w.(http.Flusher).Flush()
			cancel()
			<-r.Context().Done()
			return true
		})
		dest, err := runCtx(ctx)
		Expect(err).To(MatchError(context.Canceled))
		Expect(origin.requestsTo()).To(BeEmpty())
		Expect(tree(dest)).To(BeEmpty())
	})
})

var _ = Describe("progress and debug output", func() {
	var repo, digest string

	BeforeEach(func() {
		reg := newFakeRegistry()
		repo = reg.repo("app")
		digest = push(repo, "latest", image(layer(imagetest.Gzip, imagetest.File("a", "1")), layer(imagetest.Zstd, imagetest.File("b", "2"))))
	})

	It("draws one bar per layer with its size", func() {
		res := runIn(request{Source: map[string]any{"repository": repo}, Version: resource.Version{Tag: "latest", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.stderr).To(ContainSubstring("layer 1 "))
		Expect(res.stderr).To(ContainSubstring("layer 2 "))
		Expect(res.stderr).To(MatchRegexp(`\d+\.\d b / \d+\.\d b`))
		Expect(res.stderr).NotTo(ContainSubstring("debug:"))
	})

	It("prints debug lines and no bars under debug", func() {
		res := runIn(request{Source: map[string]any{"repository": repo, "debug": true}, Version: resource.Version{Tag: "latest", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.stderr).To(ContainSubstring("debug: extracting layer 2 of 2"))
		Expect(res.stderr).To(ContainSubstring("is zstd"))
		Expect(res.stderr).NotTo(MatchRegexp(`b / \d`))
	})
})
