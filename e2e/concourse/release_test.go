//go:build concourse

package concourse_test

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

// builtDigest is the digest `tasktool image` printed for marker in a log.
func builtDigest(log, marker string) string {
	m := regexp.MustCompile(`image ` + regexp.QuoteMeta(marker) + ` digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(log)
	ExpectWithOffset(1, m).To(HaveLen(2), "no digest for %s in the log", marker)
	return m[1]
}

var _ = Describe("put, the implicit get after it, and get with passed:", func() {
	It("pushes a task's OCI tarball and OCI layout with their tags, and a later job gets exactly what was pushed after the tag moved", func() {
		vars := map[string]string{"registry": reg.Host}
		cc.setPipeline("release", "testdata/release.yml", vars)

		log, status := cc.trigger("release/build")
		Expect(status).To(Equal("succeeded"), log)
		tarDigest, layoutDigest := builtDigest(log, "release-tar-1"), builtDigest(log, "release-layout-1")
		Expect(tarDigest).NotTo(Equal(layoutDigest))

		By("the put's version, with every tag it was asked for")
		Expect(cc.versions("release/release-tar")).To(Equal([]resource.Version{{Tag: "1.0.0", Digest: tarDigest}}))
		Expect(cc.versions("release/release-layout")).To(Equal([]resource.Version{{Tag: "2.3.4", Digest: layoutDigest}}))
		Expect(registryTags(reg.Repo("e2e/release-tar"))).To(ConsistOf("1.0.0", "1.0", "1", "latest", "extra-a", "extra-b"))
		Expect(registryTags(reg.Repo("e2e/release-layout"))).To(ConsistOf("2.3.4", "2.3", "2", "latest", "build-nightly"))

		By("the implicit get after the put: a task ran in the pushed image")
		Expect(log).To(ContainSubstring("/etc/refimage-marker: release-tar-1\n"))
		Expect(log).To(ContainSubstring("release-layout/digest: " + layoutDigest + "\n"))
		Expect(log).To(ContainSubstring("reference only: params.skip_download is true"), "get_params of the put")

		By("the tags move to another image, and Concourse sees it")
		moved := pushTaskImage(reg.Repo("e2e/release-tar:1.0.0"), "moved")
		pushTaskImage(reg.Repo("e2e/release-tar:latest"), "moved")
		_, ok := cc.check("release/release-tar")
		Expect(ok).To(BeTrue())
		Expect(cc.versions("release/release-tar")).To(ContainElement(resource.Version{Tag: "1.0.0", Digest: moved}))

		By("deploy gets the digests build pushed, not where the tags point now")
		log, status = cc.trigger("release/deploy")
		Expect(status).To(Equal("succeeded"), log)
		Expect(log).To(ContainSubstring("/etc/refimage-marker: release-tar-1\n"))
		Expect(log).To(ContainSubstring("release-tar/digest: " + tarDigest + "\n"))
		Expect(log).To(ContainSubstring("release-layout/digest: " + layoutDigest + "\n"))
		Expect(log).NotTo(ContainSubstring("moved"))

		By("refimage explain: what a runtime with the hook would do")
		expectExplained("testdata/release.yml", vars,
			decision{"build", "release-tar", true, "fetch_artifact is not set"},
			decision{"build", "release-layout", true, "skip_download"},
			decision{"deploy", "release-tar", true, "fetch_artifact is not set"},
			decision{"deploy", "release-layout", true, "fetch_artifact is false"})
	})
})
