package out_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// BenchmarkPushLarge pushes the ~200 MiB test image (5 gzip layers, written
// as an OCI layout as BuildKit would) with out.Run to an empty repository on
// the real Distribution registry over loopback, then pushes it again under
// another tag to the same repository, which holds its layers by then.
// Figures, not assertions: the target is zero bytes uploaded by the second
// push. Bytes are counted by a transport under the client: request bodies
// sent to blob upload endpoints.
func BenchmarkPushLarge(b *testing.B) {
	reg, err := registrytest.StartDistribution()
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	img, err := imagetest.Large(200<<20, 5, 1)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	p, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		b.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		b.Fatal(err)
	}
	var compressed int64
	for _, l := range m.Layers {
		compressed += l.Size
	}

	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	var firstTime, secondTime time.Duration
	var firstBytes, secondBytes int64
	i := 0
	for b.Loop() {
		i++
		repo := reg.Repo(fmt.Sprintf("bench/large-%d", i))
		push := func(tag string) (time.Duration, int64) {
			rec := &recordingTransport{inner: reg.Transport()}
			req := resource.OutRequest{
				Source: resource.Source{Repository: repo, Insecure: true, Tag: resource.Tag(tag)},
				Params: resource.PutParams{Image: "oci"},
			}
			start := time.Now()
			if _, err := out.Run(context.Background(), req, dir, out.WithLogger(quiet), out.WithClientOptions(registry.WithTransport(rec))); err != nil {
				b.Fatal(err)
			}
			return time.Since(start), rec.uploaded.Load()
		}
		t, n := push("first")
		firstTime, firstBytes = firstTime+t, n
		t, n = push("second")
		secondTime, secondBytes = secondTime+t, n
	}
	runs := float64(b.N)
	b.ReportMetric(float64(firstTime.Milliseconds())/runs, "first-push-ms")
	b.ReportMetric(float64(firstBytes)/(1<<20), "first-push-uploaded-MiB")
	b.ReportMetric(float64(secondTime.Milliseconds())/runs, "second-push-ms")
	b.ReportMetric(float64(secondBytes), "second-push-uploaded-bytes")
	b.ReportMetric(float64(compressed)/(1<<20), "layers-MiB")
}
