package check_test

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

// expectOneLineFailure checks the contract for every bad input: non-zero
// exit, nothing on stdout, and the last stderr line saying what is wrong.
func expectOneLineFailure(r result, want string) {
	Expect(r.code).NotTo(Equal(0))
	Expect(r.stdout).To(BeEmpty())
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	Expect(lines[len(lines)-1]).To(HavePrefix("error: "))
	Expect(lines[len(lines)-1]).To(ContainSubstring(want))
}

var _ = Describe("check's failures", func() {
	DescribeTable("bad requests fail before any request",
		func(body, want string) {
			r := runCheckRaw([]byte(body))
			expectOneLineFailure(r, want)
			Expect(strings.Count(strings.TrimSpace(r.stderr), "\n")).To(Equal(0), "one line: %s", r.stderr)
		},
		Entry("malformed JSON", `{"source": {`, "truncated JSON"),
		Entry("not JSON", `source: x`, "malformed JSON"),
		Entry("unknown field", `{"source":{"repository":"app","tagg":"1"}}`, `unknown field "tagg"`),
		Entry("missing repository", `{"source":{}}`, "source.repository: it is required"),
		Entry("invalid regex", `{"source":{"repository":"app","tag_regex":"(["}}`, "source.tag_regex"),
		Entry("invalid constraint", `{"source":{"repository":"app","semver_constraint":">>1"}}`, "source.semver_constraint"),
		Entry("ECR fields without aws_region", `{"source":{"repository":"app","aws_access_key_id":"AKIA"}}`, "source.aws_region: is required with source.aws_access_key_id"),
	)

	It("names an unreachable registry", func() {
		r := runCheck(map[string]any{"source": map[string]any{"repository": "127.0.0.1:1/app", "insecure": true}})
		expectOneLineFailure(r, "cannot reach 127.0.0.1:1")
	})

	It("names an unknown repository", func() {
		r := runCheck(map[string]any{"source": shared.Plain.Source(shared.Plain.Repo("check/never-pushed"))})
		expectOneLineFailure(r, "check that "+"127.0.0.1")
		Expect(r.stderr).To(ContainSubstring("never-pushed"))
	})

	It("refuses wrong credentials without printing any", func() {
		src := shared.TLS.Source(freshRepo(shared.TLS))
		src["password"] = "not-the-password-123"
		src["debug"] = true
		r := runCheck(map[string]any{"source": src})
		expectOneLineFailure(r, "refused the credentials")
		Expect(r.stderr).NotTo(ContainSubstring("not-the-password-123"))
	})

	It("explains a 403 from a registry that knows the user but denies the repository", func() {
		proxy, _ := proxied("check/private", imagetest.TagSet{"1.0.0": "a"})
		proxy.Fail(registrytest.Fault{PathContains: "/tags/list", Status: http.StatusForbidden})
		r := runCheck(map[string]any{"source": map[string]any{"repository": proxy.Repo("check/private"), "insecure": true}})
		expectOneLineFailure(r, "no access to "+proxy.Repo("check/private"))
	})

	It("refuses to trust a registry whose CA is not given", func() {
		src := shared.TLS.Source(freshRepo(shared.TLS))
		delete(src, "ca_certs")
		r := runCheck(map[string]any{"source": src})
		expectOneLineFailure(r, "ca_certs")
		Expect(r.stderr).NotTo(ContainSubstring(shared.TLS.Password))
	})

	DescribeTable("registry faults are retried a bounded number of times, then explained",
		func(status int, header http.Header, want string) {
			repo := "check/faults"
			proxy, _ := proxied(repo, imagetest.TagSet{"1.0.0": "a"})
			proxy.Fail(registrytest.Fault{Method: "HEAD", PathContains: "/manifests/", Status: status, Header: header})
			r := runCheck(map[string]any{"source": map[string]any{"repository": proxy.Repo(repo), "insecure": true}})
			expectOneLineFailure(r, want)
			Expect(proxy.Counts().ManifestHEAD).To(Equal(4), "four attempts, then give up")
			Expect(proxy.Counts().ManifestGET).To(Equal(0), "a status GET would share is not retried with GET")
			Expect(r.stderr).To(ContainSubstring("retrying in"))
		},
		Entry("429 with Retry-After", http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, "rate limiting"),
		Entry("503", http.StatusServiceUnavailable, nil, "failed on its side"),
	)

	It("recovers when a fault passes", func() {
		proxy, digests := proxied("check/flaky", imagetest.TagSet{"1.0.0": "a"})
		proxy.Fail(registrytest.Fault{Method: "HEAD", PathContains: "/manifests/", Status: 502, Times: 1})
		r := runCheck(map[string]any{"source": map[string]any{"repository": proxy.Repo("check/flaky"), "insecure": true}})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "1.0.0")))
		Expect(r.stderr).To(ContainSubstring("warning: HEAD"))
	})

	It("falls back to GET when a registry answers HEAD without a digest", func() {
		proxy, digests := proxied("check/nohead", imagetest.TagSet{"1.0.0": "a"})
		proxy.Fail(registrytest.Fault{Method: "HEAD", PathContains: "/manifests/", Status: http.StatusMethodNotAllowed})
		r := runCheck(map[string]any{"source": map[string]any{"repository": proxy.Repo("check/nohead"), "insecure": true}})
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.versions).To(Equal(versionsOf(digests, "1.0.0")))
		Expect(proxy.Counts().ManifestGET).To(Equal(1))
	})
})
