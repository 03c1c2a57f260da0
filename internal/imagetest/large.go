package imagetest

import (
	"fmt"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Large builds a realistic big OCI image for benchmarks and download tests:
// `layers` gzip layers whose tar streams add up to totalUncompressed bytes
// (within 1 KiB per layer), each holding a directory tree
// of files of varied sizes (256 B to 8 MiB, most of them small) whose
// content mixes text (compresses about 5:1), random bytes (does not
// compress) and binary-like blocks (partly zeros), like a real image.
//
// Everything derives from seed: the same arguments give the same digest.
// Layers are never held in memory: each read regenerates the tar stream from
// a per-layer plan of a few KiB, so memory stays around a MiB per layer being
// read. The price is CPU: construction compresses every layer once to learn
// its digest, and each push or pull compresses it again.
//
// Measured on a 2-core machine (BenchmarkLarge), 200 MiB in 5 layers with
// seed 1: 80.1 MiB compressed (40%, like a typical distro image), built in
// 1 to 3 s, pushed to ggcr's in-process registry in about 2.6 s, with the
// whole test process staying near 21 MiB resident.
func Large(totalUncompressed int64, layers int, seed int64) (v1.Image, error) {
	if layers < 1 {
		return nil, fmt.Errorf("build large image: need at least one layer, got %d", layers)
	}
	budget := totalUncompressed / int64(layers)
	if budget < minLargeLayerBytes {
		return nil, fmt.Errorf("build large image: %d bytes over %d layers leaves %d per layer, need at least %d",
			totalUncompressed, layers, budget, minLargeLayerBytes)
	}

	built := make([]v1.Layer, layers)
	errs := make([]error, layers)
	// Layers are independent, so they are compressed in parallel; the
	// semaphore keeps one encoder per core.
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range layers {
		size := budget
		if i == layers-1 {
			size = totalUncompressed - budget*int64(layers-1)
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			plan := planLargeLayer(size, seed, i)
			built[i], errs[i] = newLayer(Gzip, plan.writeTar)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("build large layer %d: %w", i, err)
		}
	}

	img, err := Image(Spec{
		Layers: built,
		Env:    []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:    []string{"/bin/sh"},
		Labels: map[string]string{
			"org.opencontainers.image.title": "imagetest-large",
			"org.opencontainers.image.revision": fmt.Sprintf("seed-%d-size-%d-layers-%d",
				seed, totalUncompressed, layers),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("build large image: %w", err)
	}
	return img, nil
}
