package in_test

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

func BenchmarkProfTmp(b *testing.B) {
	dist, err := registrytest.StartDistribution()
	must(b, err)
	defer dist.Close()
	img, err := imagetest.Large(largeSize, largeLayers, 1)
	must(b, err)
	repo := dist.Repo("bench/large")
	digest, err := imagetest.Push(repo+":latest", img, dist.RemoteOptions()...)
	must(b, err)
	yes := true
	req := resource.InRequest{Source: resource.Source{Repository: repo}, Params: resource.GetParams{FetchArtifact: &yes}, Version: resource.Version{Tag: "latest", Digest: digest}}
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		raw := rawPipeline(b, repo, digest, b.TempDir())
		f, _ := os.Create("/tmp/in.prof")
		if i == 2 {
			pprof.StartCPUProfile(f)
		}
		t1 := time.Now()
		_, err = in.Run(context.Background(), req, b.TempDir(), in.WithLogger(logrus.New()))
		must(b, err)
		full := time.Since(t1)
		if i == 2 {
			pprof.StopCPUProfile()
		}
		b.Logf("raw %v full %v (%v)", raw, full, time.Since(t0))
	}
}
