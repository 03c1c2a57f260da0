package in_test

import (
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

// BenchmarkInFlaky runs the in binary on imagetest.Large (100 MiB in 5
// layers) from the Distribution registry through registrytest's fault proxy,
// and reports the blob bytes the proxy sent (MiB) and the wall time (s) of:
// a clean download; one with every layer cut once at its middle (resumed
// with Range); the same from a registry that ignores Range (each cut layer
// starts over); and one with the largest layer corrupted once at its middle.
// Each faulted run pays the binary's real backoff (about 1 s) once, which is
// in its time. With REFIMAGE_BENCH_BASELINE_IN=path/to/in, that binary runs
// the same four downloads too (metrics prefixed baseline-). Figures are
// printed, never asserted.
func BenchmarkInFlaky(b *testing.B) {
	bin, dist := inAndDistribution(b)
	img, err := imagetest.Large(100<<20, 5, 1)
	must(b, err)
	digest, err := imagetest.Push(dist.Repo("bench/flaky:latest"), img, dist.RemoteOptions()...)
	must(b, err)
	digests, sizes, largest := layerFacts(b, img)
	cut := func(p *registrytest.Proxy) {
		for i, d := range digests {
			p.Fail(registrytest.Fault{Kind: registrytest.CutBody, Method: "GET", PathContains: d, Offset: sizes[i] / 2, Times: 1})
		}
	}
	corrupt := func(p *registrytest.Proxy) {
		p.Fail(registrytest.Fault{Kind: registrytest.CorruptBody, Method: "GET", PathContains: digests[largest], Offset: sizes[largest] / 2, Times: 1})
	}
	run := func(bin, name string, fault func(*registrytest.Proxy), opts ...registrytest.ProxyOption) {
		p := registrytest.NewProxy(dist, opts...)
		defer p.Close()
		fault(p)
		req := request{Source: map[string]any{"repository": p.Repo("bench/flaky")}, Params: map[string]any{"fetch_artifact": true},
			Version: resource.Version{Tag: "latest", Digest: digest}}
		r := runTimed(b, bin, req, scratch(b))
		if r.err != nil {
			b.Fatalf("%s: in failed: %v", name, r.err)
		}
		b.ReportMetric(float64(p.Sent().Blob)/(1<<20), name+"-MiB")
		b.ReportMetric(r.wall.Seconds(), name+"-s")
	}
	bins := map[string]string{"": bin}
	if baseline := os.Getenv("REFIMAGE_BENCH_BASELINE_IN"); baseline != "" {
		bins["baseline-"] = baseline
	}
	for range b.N {
		for prefix, bin := range bins {
			run(bin, prefix+"clean", func(*registrytest.Proxy) {})
			run(bin, prefix+"cut-each-layer", cut)
			run(bin, prefix+"cut-each-layer-no-range", cut, registrytest.WithoutRange())
			run(bin, prefix+"corrupt-largest-layer", corrupt)
		}
	}
	var total int64
	for _, s := range sizes {
		total += s
	}
	b.ReportMetric(float64(total)/(1<<20), "blobs-MiB")
	b.ReportMetric(float64(sizes[largest])/(1<<20), "largest-layer-MiB")
}

// layerFacts returns the digests and sizes of img's layers, and which is
// the largest.
func layerFacts(b *testing.B, img v1.Image) (digests []string, sizes []int64, largest int) {
	layers, err := img.Layers()
	must(b, err)
	for i, l := range layers {
		d, err := l.Digest()
		must(b, err)
		s, err := l.Size()
		must(b, err)
		digests, sizes = append(digests, d.String()), append(sizes, s)
		if s > sizes[largest] {
			largest = i
		}
	}
	return digests, sizes, largest
}
