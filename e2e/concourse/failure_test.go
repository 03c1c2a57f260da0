//go:build concourse

package concourse_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// errorLines are the lines of a log that start with "error:".
func errorLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "error:") {
			out = append(out, l)
		}
	}
	return out
}

var _ = Describe("a source that is wrong, as a user meets it", func() {
	const wrongPassword = "wrong-pa55word-e2e"

	vars := func() map[string]string {
		return map[string]string{"registry": reg.Host, "locked_registry": locked.Host, "locked_password": wrongPassword}
	}
	BeforeEach(func() { cc.setPipeline("failures", "testdata/failures.yml", vars()) })

	DescribeTable("one clear line in check-resource and in the failed build, and nothing pushed",
		func(res, job, want string, repoTags func() []string) {
			out, ok := cc.check("failures/" + res)
			Expect(ok).To(BeFalse(), out)
			Expect(errorLines(out)).To(ConsistOf(ContainSubstring(want)), out)
			Expect(out).NotTo(ContainSubstring(wrongPassword))

			log, status := cc.trigger("failures/" + job)
			Expect(status).To(Equal("failed"), log)
			Expect(errorLines(log)).To(ConsistOf(ContainSubstring(want)), log)
			Expect(log).NotTo(ContainSubstring(wrongPassword))
			Expect(repoTags()).To(BeEmpty())
		},
		Entry("a misspelt field", "typo", "push-typo", `unknown field "tag_regx"`,
			func() []string { return registryTags(reg.Repo("e2e/typo")) }),
		Entry("a registry that answers 401", "locked", "push-locked", "refused the credentials",
			func() []string { return registryTags(locked.Repo("e2e/locked"), locked.RemoteOptions()...) }),
	)

	It("is explained without a pod for the put's implicit get", func() {
		expectExplained("testdata/failures.yml", vars(),
			decision{"push-typo", "typo", true, "fetch_artifact is not set"},
			decision{"push-locked", "locked", true, "fetch_artifact is not set"})
	})
})
