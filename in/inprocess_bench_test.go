package in_test

import (
	"context"
	"io"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

// BenchmarkRootfsInProcess runs in.Run's full rootfs download of
// imagetest.Large from the Distribution registry inside the test process,
// so that go test -cpuprofile sees where its time goes (BenchmarkIn times
// the binary from outside). Each run writes into a fresh directory.
func BenchmarkRootfsInProcess(b *testing.B) {
	dist, err := registrytest.StartDistribution()
	must(b, err)
	b.Cleanup(dist.Close)
	img, err := imagetest.Large(largeSize, largeLayers, 1)
	must(b, err)
	repo := dist.Repo("bench/large")
	digest, err := imagetest.Push(repo+":latest", img, dist.RemoteOptions()...)
	must(b, err)
	req := resource.InRequest{Source: resource.Source{Repository: repo},
		Version: resource.Version{Tag: "latest", Digest: digest}}
	log := logrus.New()
	log.SetOutput(io.Discard)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dest := scratch(b)
		b.StartTimer()
		if _, err := in.Run(context.Background(), req, dest, in.WithLogger(log)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(largeSize)/(1<<20)/(b.Elapsed().Seconds()/float64(b.N)), "MiB/s")
}
