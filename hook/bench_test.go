package hook_test

import (
	"bytes"
	"context"
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

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// BenchmarkGet measures one get step answered by the hook with the digest
// already proven (the steady state of a runtime: every later build that
// gets the same version), next to the first sight of a digest and to what
// a pod does at the least: start a process running in.
func BenchmarkGet(b *testing.B) {
	var requests, served atomic.Int64
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		cw := &countingWriter{ResponseWriter: w, n: &served}
		inner.ServeHTTP(cw, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	img, err := random.Image(4<<20, 3) // three 4 MiB layers
	if err != nil {
		b.Fatal(err)
	}
	ref, _ := name.NewTag(host + "/team/app:1.0")
	if err := remote.Write(ref, img); err != nil {
		b.Fatal(err)
	}
	digest, _ := img.Digest()
	size := int64(0)
	layers, _ := img.Layers()
	for _, l := range layers {
		s, _ := l.Size()
		size += s
	}
	cfgSize, _ := img.RawConfigFile()
	size += int64(len(cfgSize))

	source := map[string]any{"repository": host + "/team/app"}
	version := resource.Version{Tag: "1.0", Digest: digest.String()}
	step := hook.Get{Type: "registry-image", Source: source, Version: map[string]string{"tag": version.Tag, "digest": version.Digest},
		TypeImage: hook.TypeImage{BaseType: "registry-image"}}
	ctx := context.Background()
	getOnce := func(h *hook.Hook) {
		d, err := h.Decide(ctx, step)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.Resolve(ctx, d); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("hook-cached-digest", func(b *testing.B) {
		h, _ := hook.New(hook.WithLabeler(nil))
		getOnce(h) // prove the digest once
		requests.Store(0)
		served.Store(0)
		b.ReportAllocs()
		for b.Loop() {
			getOnce(h)
		}
		b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
		b.ReportMetric(float64(served.Load())/float64(b.N), "registry-bytes/op")
		b.ReportMetric(0, "pods/op")
		b.ReportMetric(0, "processes/op")
		b.ReportMetric(float64(size), "blob-bytes-avoided/op")
	})

	b.Run("hook-first-sight", func(b *testing.B) {
		requests.Store(0)
		served.Store(0)
		b.ReportAllocs()
		for b.Loop() {
			h, _ := hook.New(hook.WithLabeler(nil))
			getOnce(h)
		}
		b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
		b.ReportMetric(float64(served.Load())/float64(b.N), "registry-bytes/op")
	})

	b.Run("pod-in-process", func(b *testing.B) {
		dir := b.TempDir()
		inPath := filepath.Join(dir, "in")
		if out, err := exec.Command("go", "build", "-o", inPath, "github.com/refimage/refimage/cmd/in").CombinedOutput(); err != nil {
			b.Fatalf("build in: %v: %s", err, out)
		}
		body, _ := json.Marshal(map[string]any{"source": source, "version": version})
		requests.Store(0)
		served.Store(0)
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
		b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
		b.ReportMetric(1, "processes/op")
	})
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}
