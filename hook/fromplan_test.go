package hook_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
)

// A plan as JetBridge builds it for a get of a custom type (atc.Plan's JSON
// of its get step): the step and its type image's get both have
// version_from, never a version, and their sources hold ((vars)).
var _ = Describe("GetFromPlan", func() {
	var (
		ctx          = context.Background()
		reg          *testRegistry
		plan         map[string]any
		vars         map[string]string
		typeVersion  map[string]string
		evaluate     func(map[string]any) (map[string]any, error)
		appDigestStr string
	)
	BeforeEach(func() {
		reg = startRegistry()
		typeDigest := reg.push("types/refimage", "1", map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage})
		appDigestStr = reg.push("team/app", "2.0", nil).String()
		b, err := os.ReadFile("testdata/jetbridge-get-plan.json")
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal(b, &plan)).To(Succeed())
		vars = map[string]string{"((types.repository))": reg.Host + "/types/refimage", "((types.username))": "u", "((types.password))": "p",
			"((app.repository))": reg.Host + "/team/app", "((registry.username))": "u", "((registry.password))": "p"}
		// The runtime's own evaluation (creds.NewSource(state, s).Evaluate()).
		evaluate = func(s map[string]any) (map[string]any, error) {
			out := map[string]any{}
			for k, v := range s {
				if str, ok := v.(string); ok && vars[str] != "" {
					v = vars[str]
				}
				out[k] = v
			}
			return out, nil
		}
		// What FetchImage returned for the type's image.
		typeVersion = map[string]string{"tag": "1", "digest": typeDigest.String()}
	})

	stepSource := func() map[string]any {
		src, err := evaluate(plan["source"].(map[string]any))
		Expect(err).NotTo(HaveOccurred())
		return src
	}

	It("reads version_from and unevaluated type image sources as the runtime resolved them: skip by label, no check", func() {
		g, err := hook.GetFromPlan(plan, hook.Evaluated{Source: stepSource(), Version: map[string]string{"tag": "2.0", "digest": appDigestStr},
			TypeImageVersion: typeVersion, Evaluate: evaluate})
		Expect(err).NotTo(HaveOccurred())
		Expect(g.VersionFrom).NotTo(BeNil())
		h := mustNew()
		d, err := h.Decide(ctx, g)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue(), d.Reason)
		Expect(d.Rule).To(Equal(hook.RuleLabel))
		counts := reg.Requests()
		Expect(counts.TagsList).To(BeZero(), "no in-process check of the type: %+v", counts)
		Expect(counts.ManifestGET).To(Equal(1), "the type image's manifest, for its label: %+v", counts)

		r, err := h.Resolve(ctx, d)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Reference).To(Equal(reg.Host + "/team/app@" + appDigestStr))
	})

	It("checks the type in process without the type image's version, and runs a pod when its source cannot be evaluated", func() {
		g, err := hook.GetFromPlan(plan, hook.Evaluated{Source: stepSource(), Version: map[string]string{"digest": appDigestStr}, Evaluate: evaluate})
		Expect(err).NotTo(HaveOccurred())
		d, err := mustNew().Decide(ctx, g)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue(), d.Reason)
		Expect(reg.Requests().TagsList).To(BeNumerically(">=", 1), "an in-process check")

		g, err = hook.GetFromPlan(plan, hook.Evaluated{Source: stepSource(), Version: map[string]string{"digest": appDigestStr}, TypeImageVersion: typeVersion})
		Expect(err).NotTo(HaveOccurred())
		d, err = mustNew().Decide(ctx, g)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeFalse())
		Expect(d.Reason).To(ContainSubstring("((types.repository))"))
	})

	It("is one call with DecidePlan, and a runtime without a hook (nil) runs every pod", func() {
		e := hook.Evaluated{Source: stepSource(), Version: map[string]string{"digest": appDigestStr}, TypeImageVersion: typeVersion, Evaluate: evaluate}
		d, err := mustNew().DecidePlan(ctx, plan, e)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue(), d.Reason)
		var none *hook.Hook
		d, err = none.DecidePlan(ctx, plan, e)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip || d.Eligible).To(BeFalse())
	})

	It("keeps the plan's own source, params and version where Evaluated has none", func() {
		plan["version"] = map[string]any{"digest": appDigestStr}
		g, err := hook.GetFromPlan(plan, hook.Evaluated{Params: map[string]any{"fetch_metadata": true}})
		Expect(err).NotTo(HaveOccurred())
		Expect(g.Source).To(HaveKeyWithValue("repository", "((app.repository))"))
		Expect(g.Version).To(Equal(map[string]string{"digest": appDigestStr}))
		Expect(g.Params).To(Equal(map[string]any{"fetch_metadata": true}))
	})

	It("refuses a plan whose image has a field a Concourse plan does not", func() {
		plan["image"].(map[string]any)["mystery"] = true
		_, err := hook.GetFromPlan(plan, hook.Evaluated{})
		Expect(err).To(MatchError(ContainSubstring(`unknown field "mystery"`)))
		Expect(strings.Count(err.Error(), "\n")).To(BeZero())
	})
})
