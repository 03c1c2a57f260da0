package registry_test

import (
	"context"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// A request that moves no byte for the stall timeout is abandoned and
// retried; after the last attempt the error names it. The timeout is one
// second here; the specs only wait for the calls to end.
var _ = Describe("stalled requests", func() {
	var (
		proxy *registrytest.Proxy
		repo  string
		warns []string
	)
	fast := registry.RetryPolicy{Attempts: 3, Initial: time.Millisecond, MaxWait: time.Second, Sleep: func(time.Duration) {}}
	BeforeEach(func() {
		target := registrytest.NewInProcess()
		DeferCleanup(target.Close)
		proxy = registrytest.NewProxy(target)
		DeferCleanup(proxy.Close)
		repo = proxy.Repo("team/app")
		img, err := random.Image(1024, 1)
		Expect(err).NotTo(HaveOccurred())
		_, err = imagetest.Push(repo+":v1", img, proxy.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		warns = nil
	})
	// call runs f with a client whose stall timeout is one second, and
	// returns its error once it ends.
	call := func(f func(c *registry.Client) error, opts ...registry.Option) error {
		done := make(chan error, 1)
		go func() {
			defer GinkgoRecover()
			src := resource.Source{Repository: repo, Insecure: true}
			opts = append([]registry.Option{registry.WithRetryPolicy(fast), registry.WithStallTimeout(time.Second),
				registry.WithWarnings(func(f string, a ...any) { warns = append(warns, f) })}, opts...)
			c, err := registry.NewClient(context.Background(), src, opts...)
			if err == nil {
				err = f(c)
			}
			done <- err
		}()
		var err error
		Eventually(done, time.Minute).Should(Receive(&err))
		return err
	}
	manifestGET := func(c *registry.Client) error {
		_, err := remote.Get(c.Repository.Tag("v1"), c.Remote...)
		return err
	}
	manifestHEAD := func(c *registry.Client) error {
		_, _, err := c.Digest(c.Repository.Tag("v1"))
		return err
	}
	tagList := func(c *registry.Client) error {
		_, err := remote.List(c.Repository, c.Remote...)
		return err
	}

	DescribeTable("ends, saying which request stalled, when every attempt stalls",
		func(f registrytest.Fault, do func(*registry.Client) error, want string) {
			proxy.Fail(f)
			err := call(do)
			Expect(err).To(MatchError(And(ContainSubstring(want), ContainSubstring("stalled: no byte moved for 1s"))))
			Expect(proxy.Counts().Faults).To(Equal(fast.Attempts), "retried within the policy")
		},
		Entry("a manifest body", registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/manifests/", Offset: 10},
			manifestGET, "GET 127.0.0.1"),
		Entry("a manifest HEAD never answered", registrytest.Fault{Kind: registrytest.StallRequest, Method: http.MethodHead, PathContains: "/manifests/"},
			manifestHEAD, "HEAD "),
		Entry("a tag list", registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/tags/list"},
			tagList, "/tags/list"),
	)

	DescribeTable("succeeds when one attempt stalls",
		func(f registrytest.Fault, do func(*registry.Client) error) {
			f.Times = 1
			proxy.Fail(f)
			Expect(call(do)).To(Succeed())
			Expect(warns).To(ContainElement(ContainSubstring("retrying")))
		},
		Entry("a manifest body", registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/manifests/", Offset: 10}, manifestGET),
		Entry("a manifest HEAD", registrytest.Fault{Kind: registrytest.StallRequest, Method: http.MethodHead, PathContains: "/manifests/"}, manifestHEAD),
		Entry("a tag list", registrytest.Fault{Kind: registrytest.StallBody, Method: http.MethodGet, PathContains: "/tags/list"}, tagList),
	)

	// A registry may take minutes to commit a large upload; only the
	// answer bound, not the no-byte one, limits that wait.
	Describe("a write the registry is slow to answer", func() {
		push := func(c *registry.Client) error {
			img, err := random.Image(2048, 1)
			Expect(err).NotTo(HaveOccurred())
			return remote.Write(c.Repository.Tag("v2"), img, c.Remote...)
		}
		commit := registrytest.Fault{Kind: registrytest.DelayAnswer, Method: http.MethodPut, PathContains: "/blobs/uploads/"}

		It("succeeds when a commit takes longer than the stall timeout, committing each blob once", func() {
			commit.Delay = 1500 * time.Millisecond
			proxy.Fail(commit)
			Expect(call(push)).To(Succeed())
			Expect(proxy.Counts().Faults).To(Equal(2), "one commit PUT for the layer and one for the config, none sent again")
			Expect(warns).To(BeEmpty())
		})

		It("gives up when the answer does not come within the answer timeout", func() {
			commit.Delay = time.Minute
			proxy.Fail(commit)
			err := call(push, registry.WithAnswerTimeout(2*time.Second))
			Expect(err).To(MatchError(And(ContainSubstring("PUT "), ContainSubstring("/blobs/uploads/"),
				ContainSubstring("stalled: no answer for 2s after the request was sent"))))
		})
	})
})
