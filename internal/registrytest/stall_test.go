package registrytest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/registrytest"
)

// read is what a goroutine reading a body got, once it ended.
type read struct {
	body []byte
	err  error
}

// start sends a request to the proxy and reads its answer in the
// background: the answer arrives on the channel when the body ends, which
// a stall makes it not do until ctx is cancelled.
func start(ctx context.Context, proxy *registrytest.Proxy, method, path string, body io.Reader) <-chan read {
	req, err := http.NewRequestWithContext(ctx, method, proxy.URL()+path, body)
	Expect(err).NotTo(HaveOccurred())
	client := &http.Client{Transport: proxy.Transport()}
	done := make(chan read, 1)
	go func() {
		defer GinkgoRecover()
		resp, err := client.Do(req)
		if err != nil {
			done <- read{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- read{body: b, err: err}
	}()
	return done
}

var _ = Describe("Proxy stalls and Range accounting", func() {
	It("StallBody sends Offset bytes of the answer, then nothing until the client gives up", func() {
		proxy, path, blob := proxyWithBlob(inProcess())
		proxy.Fail(registrytest.Fault{Kind: registrytest.StallBody, Method: "GET", PathContains: "/blobs/", Offset: 1000, Times: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := start(ctx, proxy, "GET", path, nil)
		Eventually(func() int64 { return proxy.Sent().Blob }).Should(Equal(int64(1000)))
		Consistently(done, 300*time.Millisecond).ShouldNot(Receive(), "no more bytes, no end")
		cancel()
		var got read
		Eventually(done, 10*time.Second).Should(Receive(&got))
		Expect(got.err).To(MatchError(context.Canceled))
		Expect(got.body).To(Equal(blob[:1000]))
	})

	It("StallRequest takes Offset bytes of an upload, then neither reads nor answers", func() {
		proxy, _, _ := proxyWithBlob(inProcess())
		proxy.Fail(registrytest.Fault{Kind: registrytest.StallRequest, Method: "PATCH", Offset: 10, Times: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := start(ctx, proxy, "PATCH", "/v2/team/app/blobs/uploads/x", bytes.NewReader(make([]byte, 100)))
		Consistently(done, 300*time.Millisecond).ShouldNot(Receive())
		cancel()
		var got read
		Eventually(done, 10*time.Second).Should(Receive(&got))
		Expect(got.err).To(MatchError(context.Canceled))
		Expect(proxy.Counts().Forwarded).To(BeZero())
	})

	DescribeTable("counts Range requests and the blob bytes sent",
		func(opts []registrytest.ProxyOption, wantStatus int, wantFrom int) {
			target := inProcess()()
			_, path, blob := proxyWithBlob(func() *registrytest.Registry { return target })
			proxy := registrytest.NewProxy(target, opts...)
			DeferCleanup(proxy.Close)
			req, err := http.NewRequest("GET", proxy.URL()+path, nil)
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Range", fmt.Sprintf("bytes=100-%d", len(blob)-1))
			resp, err := (&http.Client{Transport: proxy.Transport()}).Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())

			Expect(resp.StatusCode).To(Equal(wantStatus))
			Expect(body).To(Equal(blob[wantFrom:]))
			Expect(proxy.Counts().RangeRequests).To(Equal(1))
			Expect(proxy.Sent()).To(Equal(registrytest.Sent{Body: int64(len(blob) - wantFrom), Blob: int64(len(blob) - wantFrom)}))
		},
		Entry("a registry that honours Range", nil, http.StatusPartialContent, 100),
		Entry("WithoutRange: a registry that ignores it", []registrytest.ProxyOption{registrytest.WithoutRange()}, http.StatusOK, 0),
	)
})
