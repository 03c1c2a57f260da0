package hook_test

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// clock is a settable time for WithClock, safe for concurrent decisions.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// During an outage every decision that needs a lookup would otherwise pay
// the lookup and its retries again, and spend pull quota on it.
var _ = Describe("a registry answering 503 to everything", func() {
	fast := registry.RetryPolicy{Attempts: 3, Initial: time.Millisecond, MaxWait: time.Second, Sleep: func(time.Duration) {}}

	DescribeTable("costs one lookup wave per interval, however many decisions need the lookup",
		func(version map[string]string) {
			reg := startRegistry()
			reg.Fail(registrytest.Fault{Status: http.StatusServiceUnavailable})
			c := &clock{now: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
			h := mustNew(hook.WithClock(c.Now), hook.WithClientOptions(registry.WithRetryPolicy(fast)))
			get := hook.Get{Type: "mine", TypeImage: hook.TypeImage{BaseType: "registry-image", GetPlan: &hook.Get{Type: "registry-image",
				Source: map[string]any{"repository": reg.Repo("types/mine")}, Version: version, TypeImage: base}}}
			decide := func() {
				defer GinkgoRecover()
				d, _ := h.Decide(context.Background(), get)
				Expect(d.Skip).To(BeFalse())
			}

			var wg sync.WaitGroup
			for range 8 {
				wg.Go(decide)
			}
			wg.Wait()
			wave := reg.Counts().Total
			Expect(wave).To(Equal(fast.Attempts), "eight concurrent decisions share one lookup and its retries")
			for range 5 {
				decide()
			}
			Expect(reg.Counts().Total).To(Equal(wave), "the failure is remembered")

			c.advance(hook.DefaultFailureInterval + time.Second)
			decide()
			decide()
			Expect(reg.Counts().Total).To(Equal(2*wave), "one more wave once the failure interval has passed")
		},
		Entry("the label of a custom type's image", map[string]string{"tag": "1", "digest": typeDigest}),
		Entry("a custom type's image given by tag", map[string]string{"tag": "1"}),
		Entry("the in-process check of a custom type's image with no version", nil),
	)
})

// A proof of existence ages: a digest deleted since fails with refimage's
// message, not later with kubelet's ErrImagePull.
var _ = Describe("a proven digest", func() {
	var (
		reg    *testRegistry
		c      *clock
		h      *hook.Hook
		digest string
	)
	BeforeEach(func() {
		reg = startRegistry()
		digest = reg.push("team/app", "1", nil).String()
		c = &clock{now: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
		h = mustNew(hook.WithClock(c.Now), hook.WithProveInterval(10*time.Minute))
	})
	resolve := func() (*hook.Resolution, error) {
		d, err := h.Decide(context.Background(), baseGet(map[string]any{"repository": reg.Repo("team/app")}, nil,
			resource.Version{Tag: "1", Digest: digest}))
		Expect(err).NotTo(HaveOccurred())
		return h.Resolve(context.Background(), d)
	}
	deleteIt := func() {
		ref, err := name.NewDigest(reg.Repo("team/app") + "@" + digest)
		Expect(err).NotTo(HaveOccurred())
		Expect(remote.Delete(ref, reg.RemoteOptions()...)).To(Succeed())
		reg.Reset()
	}

	It("is proven again once the prove interval has passed", func() {
		_, err := resolve()
		Expect(err).NotTo(HaveOccurred())
		deleteIt()
		c.advance(9 * time.Minute)
		_, err = resolve()
		Expect(err).NotTo(HaveOccurred(), "within the interval the proof stands")
		Expect(reg.Counts().Total).To(BeZero())
		c.advance(2 * time.Minute)
		_, err = resolve()
		Expect(err).To(MatchError(ContainSubstring("the image was deleted or the repository changed since check found it")))
	})

	It("is proven again at once after the runtime reports a failed pull", func() {
		res, err := resolve()
		Expect(err).NotTo(HaveOccurred())
		deleteIt()
		Expect(h.PullFailed(res.Reference)).To(Succeed())
		_, err = resolve()
		Expect(err).To(MatchError(ContainSubstring("the image was deleted or the repository changed since check found it")))
		Expect(h.PullFailed("registry.example.test/team/app:1")).To(MatchError(ContainSubstring("not a pinned reference")))
	})
})
