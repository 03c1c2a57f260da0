package in_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// These specs call in.Run in process, to inject a backoff that does not wait.
var _ = Describe("integrity of a full download", func() {
	var (
		reg      *fakeRegistry
		repo     string
		digest   string
		big      v1.Layer
		bigBytes []byte
		dest     string
		logs     *bytes.Buffer
		slept    []time.Duration
	)
	noWait := func() registry.RetryPolicy {
		return registry.RetryPolicy{Attempts: 3, Initial: time.Second, MaxWait: 4 * time.Second, Sleep: func(d time.Duration) { slept = append(slept, d) }}
	}
	run := func(ctx context.Context, format string) (resource.VersionResponse, error) {
		log := logrus.New()
		log.Out = logs
		yes := true
		req := resource.InRequest{Source: resource.Source{Repository: repo},
			Params:  resource.GetParams{FetchArtifact: &yes, Format: format},
			Version: resource.Version{Tag: "latest", Digest: digest}}
		return in.Run(ctx, req, dest, in.WithLogger(log), in.WithBlobRetryPolicy(noWait()),
			in.WithClientOptions(registry.WithRetryPolicy(noWait())))
	}

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
		dest = filepath.Join(GinkgoT().TempDir(), "dest")
		logs = &bytes.Buffer{}
		slept = nil
		big = layer(imagetest.Gzip, imagetest.Entry{Path: "big", Type: '0', Mode: 0o644, Content: bytes.Repeat([]byte("0123456789abcdef"), 64<<10)})
		rc, err := big.Compressed()
		Expect(err).NotTo(HaveOccurred())
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		Expect(err).NotTo(HaveOccurred())
		bigBytes = buf.Bytes()
		digest = push(repo, "latest", image(layer(imagetest.Gzip, imagetest.File("small", "s")), big))
	})

	bigDigest := func() string {
		d, err := big.Digest()
		Expect(err).NotTo(HaveOccurred())
		return d.String()
	}
	// faultBig breaks the big layer's download the first n times (n < 0: always).
	faultBig := func(n int32, serve func(w http.ResponseWriter)) *atomic.Int32 {
		var count atomic.Int32
		reg.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, bigDigest()) {
				return false
			}
			if c := count.Add(1); n >= 0 && c > n {
				return false
			}
			serve(w)
			return true
		})
		return &count
	}
	corrupted := func(w http.ResponseWriter) {
		bad := bytes.Clone(bigBytes)
		bad[len(bad)/2] ^= 0xff
		w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		_, _ = w.Write(bad)
	}
	truncated := func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", strconv.Itoa(len(bigBytes)))
		_, _ = w.Write(bigBytes[:len(bigBytes)/2])
		// Returning early makes the server close the connection mid-body.
	}
	serverError := func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }

	expectFailed := func(err error) {
		Expect(err).To(HaveOccurred())
		Expect(filepath.Join(dest, "digest")).NotTo(BeAnExistingFile(), "no version files for a failed get")
		Expect(filepath.Join(dest, "metadata.json")).NotTo(BeAnExistingFile())
		Expect(filepath.Join(dest, ".refimage-layers")).NotTo(BeAnExistingFile(), "downloads are cleaned up")
	}

	DescribeTable("fails, after bounded retries, when a blob never arrives whole",
		func(format string, serve func(w http.ResponseWriter), wantErr string) {
			count := faultBig(-1, serve)
			_, err := run(context.Background(), format)
			expectFailed(err)
			Expect(err.Error()).To(ContainSubstring(wantErr))
			Expect(count.Load()).To(BeNumerically(">=", 3), "retried")
			Expect(count.Load()).To(BeNumerically("<=", 9), "bounded")
		},
		Entry("rootfs, corrupted", "rootfs", corrupted, "sha256"),
		Entry("rootfs, truncated", "rootfs", truncated, "layer 2"),
		Entry("rootfs, server errors", "rootfs", serverError, "500"),
		Entry("oci, corrupted", "oci", corrupted, "sha256"),
		Entry("oci-layout, corrupted", "oci-layout", corrupted, "sha256"),
	)

	DescribeTable("succeeds when a download breaks off once and then arrives",
		func(serve func(w http.ResponseWriter)) {
			faultBig(1, serve)
			_, err := run(context.Background(), "rootfs")
			Expect(err).NotTo(HaveOccurred())
			b, err := os.ReadFile(filepath.Join(dest, "rootfs", "big"))
			Expect(err).NotTo(HaveOccurred())
			Expect(b).To(HaveLen(1 << 20))
			Expect(logs.String()).To(ContainSubstring("retrying"))
			Expect(slept).NotTo(BeEmpty())
		},
		Entry("truncated", truncated),
		Entry("corrupted", corrupted),
	)

	It("fails when interrupted, and writes no version", func() {
		ctx, cancel := context.WithCancel(context.Background())
		reg.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			cancel()
			return false
		})
		_, err := run(ctx, "rootfs")
		expectFailed(err)
	})
})
