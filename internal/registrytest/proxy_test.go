package registrytest_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/refimage/refimage/internal/registrytest"
)

var _ = Describe("Proxy", func() {
	DescribeTable("forwards pushes and pulls to its target, credentials included",
		func(start starter) {
			target := start()
			proxy := registrytest.NewProxy(target)
			DeferCleanup(proxy.Close)
			Expect(proxy.Host).To(HavePrefix("127.0.0.1:"))
			Expect(proxy.Host).NotTo(Equal(target.Host))
			Expect(proxy.Insecure()).To(Equal(target.Insecure()))
			Expect(proxy.Username).To(Equal(target.Username))
			Expect(proxy.Password).To(Equal(target.Password))

			ref, img := pushRandom(proxy.Registry, "team/app")
			c := proxy.Counts()
			Expect(c.ManifestPUT).To(Equal(1))
			// Two layers and a config, each at least opened and closed
			// through the proxy: upload URLs must not point past it.
			Expect(c.BlobUpload).To(BeNumerically(">=", 6))
			Expect(c.Forwarded).To(Equal(c.Total))
			Expect(c.Faults).To(BeZero())

			onTarget, err := remote.Image(must(retarget(ref, target)), target.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			Expect(onTarget.Digest()).To(Equal(must(img.Digest())))

			throughProxy, err := remote.Image(ref, proxy.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			Expect(validate.Image(throughProxy)).To(Succeed())
		},
		Entry("in-process, plain HTTP", inProcess()),
		Entry("in-process, TLS + basic auth", inProcess(tlsAuth...)),
		Entry("distribution, plain HTTP", distribution()),
		Entry("distribution, TLS + htpasswd", distribution(tlsAuth...)),
	)

	Describe("WithDelay", func() {
		It("holds every request", func() {
			proxy := registrytest.NewProxy(inProcess(tlsAuth...)(), registrytest.WithDelay(time.Millisecond))
			DeferCleanup(proxy.Close)
			pushRandom(proxy.Registry, "team/app")

			c := proxy.Counts()
			Expect(c.Total).To(BeNumerically(">", 0))
			Expect(c.Delayed).To(Equal(c.Total))
			Expect(c.Forwarded).To(Equal(c.Total))
		})

		It("forwards nothing while the delay runs, and nothing a client gave up on", func() {
			target := inProcess()()
			// A second proxy, without delay, behind the first one counts
			// what reaches the target.
			behind := registrytest.NewProxy(target)
			DeferCleanup(behind.Close)
			slow := registrytest.NewProxy(behind.Registry, registrytest.WithDelay(time.Hour))
			DeferCleanup(slow.Close)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, _, err := do(ctx, slow.Registry, "HEAD", "/v2/team/app/manifests/v1")
				errc <- err
			}()

			Eventually(func() int { return slow.Counts().Delayed }).WithTimeout(10 * time.Second).Should(Equal(1))
			Expect(errc).NotTo(Receive())
			cancel()
			Eventually(errc).WithTimeout(10 * time.Second).Should(Receive(MatchError(context.Canceled)))

			slow.Close() // returns once the held request's handler has
			Expect(slow.Counts().Forwarded).To(BeZero())
			Expect(behind.Counts().Total).To(BeZero())
		})
	})
})
