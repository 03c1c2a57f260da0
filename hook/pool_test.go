package hook_test

import (
	"context"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// A runtime decides get after get on the same sources: each connection's
// auth ping and token exchange are made once, not at every decision.
var _ = Describe("the hook's connections", func() {
	var (
		reg *testRegistry
		c   *clock
		h   *hook.Hook
	)
	BeforeEach(func() {
		reg = startRegistry()
		c = &clock{now: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
		h = mustNew(hook.WithLabeler(nil), hook.WithClock(c.Now))
	})
	// firstSight decides and resolves a get of tag, whose digest the hook
	// has not proven.
	firstSight := func(ctx context.Context, source map[string]any, tag string) {
		digest := reg.push("team/app", tag, nil)
		resolveGet(ctx, h, source, resource.Version{Tag: tag, Digest: digest.String()})
	}

	It("ping once per source, each decision under its own context, and again once the connection is five minutes old", func() {
		source := map[string]any{"repository": reg.Host + "/team/app", "username": "robot", "password": "one"}
		ctx, cancel := context.WithCancel(context.Background())
		firstSight(ctx, source, "1")
		cancel() // the step that opened the connection is over
		Expect(reg.Requests()).To(HaveField("Ping", 1))

		firstSight(context.Background(), source, "2")
		Expect(reg.Requests()).To(And(HaveField("Ping", 0), HaveField("ManifestHEAD", 1)), "the connection, not the cancelled context")

		By("giving another account a connection of its own")
		other := map[string]any{"repository": reg.Host + "/team/app", "username": "robot", "password": "two"}
		firstSight(context.Background(), other, "3")
		Expect(reg.Requests()).To(HaveField("Ping", 1))

		c.advance(5 * time.Minute)
		firstSight(context.Background(), source, "4")
		Expect(reg.Requests()).To(HaveField("Ping", 1), "a connection serves five minutes")
	})
})

var _ = Describe("the hook's cloud connections", func() {
	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	source := map[string]any{"repository": "team/app", "aws_region": "eu-west-1", "aws_account_id": "123456789012"}

	DescribeTable("ask the token exchange again only when the token is about to expire",
		func(validFor time.Duration, exchanges int) {
			reg := startRegistry()
			now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
			tokens := &tokenResolver{host: host, auth: &authn.Basic{Username: "AWS", Password: "ecr-token"}, expires: now.Add(validFor)}
			h := mustNew(hook.WithLabeler(nil), hook.WithClock(func() time.Time { return now }),
				hook.WithClientOptions(registry.WithResolver(tokens), registry.WithTransport(hostRoute{from: host, to: reg.Host})))
			for _, tag := range []string{"1", "2", "3"} {
				digest := reg.push("team/app", tag, nil)
				resolveGet(context.Background(), h, source, resource.Version{Tag: tag, Digest: digest.String()})
			}
			Expect(tokens.calls).To(Equal(exchanges))
		},
		Entry("a token of twelve hours: one exchange for three decisions", 12*time.Hour, 1),
		Entry("a token that expires within the minute: one exchange per decision", 30*time.Second, 3),
	)
})

// resolveGet decides a get of v from source and resolves it.
func resolveGet(ctx context.Context, h *hook.Hook, source map[string]any, v resource.Version) {
	d, err := h.Decide(ctx, baseGet(source, nil, v))
	Expect(err).NotTo(HaveOccurred())
	Expect(d.Skip).To(BeTrue(), d.Reason)
	_, err = h.Resolve(ctx, d)
	Expect(err).NotTo(HaveOccurred())
}
