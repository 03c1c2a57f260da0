package hook_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// benchRegistry serves a three-layer image (12 MiB of blobs) from ggcr's
// registry behind a counter of requests and bytes served.
type benchRegistry struct {
	host             string
	digest           string
	size             int64
	requests, served atomic.Int64
}

func newBenchRegistry(b *testing.B) *benchRegistry {
	r := &benchRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		inner.ServeHTTP(&countingWriter{ResponseWriter: w, n: &r.served}, req)
	}))
	b.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(4<<20, 3) // three 4 MiB layers
	if err != nil {
		b.Fatal(err)
	}
	ref, _ := name.NewTag(r.host + "/team/app:1.0")
	if err := remote.Write(ref, img); err != nil {
		b.Fatal(err)
	}
	digest, _ := img.Digest()
	r.digest = digest.String()
	layers, _ := img.Layers()
	for _, l := range layers {
		s, _ := l.Size()
		r.size += s
	}
	cfg, _ := img.RawConfigFile()
	r.size += int64(len(cfg))
	return r
}

// report puts the requests and bytes counted since reset into b's metrics.
func (r *benchRegistry) report(b *testing.B) {
	b.ReportMetric(float64(r.requests.Load())/float64(b.N), "requests/op")
	b.ReportMetric(float64(r.served.Load())/float64(b.N), "registry-bytes/op")
}

func (r *benchRegistry) reset() { r.requests.Store(0); r.served.Store(0) }

// BenchmarkGet measures one get step answered by the hook with the digest
// already proven (the steady state of a runtime: every later build that
// gets the same version), with pinned digests trusted, with the digest to
// prove again on a source already connected to, at the first sight of a
// digest by a new hook, and what a pod does at the least: start a process
// running in.
func BenchmarkGet(b *testing.B) {
	reg := newBenchRegistry(b)
	source := map[string]any{"repository": reg.host + "/team/app"}
	version := resource.Version{Tag: "1.0", Digest: reg.digest}
	step := hook.Get{Type: "registry-image", Source: source, Version: map[string]string{"tag": version.Tag, "digest": version.Digest},
		TypeImage: hook.TypeImage{BaseType: "registry-image"}}
	getOnce := func(h *hook.Hook) { getStep(b, h, step) }
	steady := func(opts ...hook.Option) func(b *testing.B) {
		return func(b *testing.B) {
			h, _ := hook.New(append(opts, hook.WithLabeler(nil))...)
			getOnce(h) // prove the digest once
			reg.reset()
			b.ReportAllocs()
			for b.Loop() {
				getOnce(h)
			}
			reg.report(b)
			b.ReportMetric(float64(reg.size), "blob-bytes-avoided/op")
		}
	}
	b.Run("hook-cached-digest", steady())
	b.Run("hook-trusted-digest", steady(hook.TrustPinnedDigests()))
	// A digest the hook has to prove again, every round, from a source it
	// has connected to before: the HEAD alone (see openPooled).
	b.Run("hook-known-source", steady(hook.WithProveInterval(time.Nanosecond)))
	b.Run("hook-first-sight", firstSight(reg, getOnce))
	b.Run("pod-in-process", func(b *testing.B) {
		benchInProcess(b, reg, map[string]any{"source": source, "version": version})
	})
}

// benchInProcess runs the in binary in reference mode, as a get pod would.
// firstSight times a decision by a new Hook each round: nothing cached,
// the price of the first get of a version.
func firstSight(reg *benchRegistry, getOnce func(*hook.Hook)) func(*testing.B) {
	return func(b *testing.B) {
		reg.reset()
		b.ReportAllocs()
		for b.Loop() {
			h, _ := hook.New(hook.WithLabeler(nil))
			getOnce(h)
		}
		reg.report(b)
	}
}

func benchInProcess(b *testing.B, reg *benchRegistry, request map[string]any) {
	inPath := filepath.Join(b.TempDir(), "in")
	if out, err := exec.Command("go", "build", "-o", inPath, "github.com/refimage/refimage/cmd/in").CombinedOutput(); err != nil {
		b.Fatalf("build in: %v: %s", err, out)
	}
	body, _ := json.Marshal(request)
	reg.reset()
	for b.Loop() {
		cmd := exec.Command(inPath, b.TempDir())
		cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=127.0.0.1")
		cmd.Stdin = bytes.NewReader(body)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("in: %v: %s", err, stderr.String())
		}
	}
	reg.report(b)
	b.ReportMetric(1, "processes/op")
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}
