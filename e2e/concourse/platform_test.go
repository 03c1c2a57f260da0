//go:build concourse

package concourse_test

import (
	"encoding/json"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

// The platform team's path: refimage's bundle is the worker's
// registry-image, and pipelines use it with no resource_types entry.
var _ = Describe("refimage as the worker's registry-image base type", func() {
	vars := func() map[string]string { return map[string]string{"registry": reg.Host} }

	It("is the registry-image the worker offers, at the bundle's version", func() {
		var meta struct{ Version string }
		data, err := os.ReadFile(filepath.Join(settingsFromEnv().baseType, "resource_metadata.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal(data, &meta)).To(Succeed())
		Expect(meta.Version).NotTo(BeEmpty())
		var workers []struct {
			Name          string `json:"name"`
			ResourceTypes []struct {
				Type    string `json:"type"`
				Version string `json:"version"`
			} `json:"resource_types"`
		}
		Expect(json.Unmarshal([]byte(cc.must("workers", "--json")), &workers)).To(Succeed())
		Expect(workers).To(HaveLen(1))
		Expect(workers[0].ResourceTypes).To(ContainElement(And(
			HaveField("Type", "registry-image"), HaveField("Version", meta.Version))))
	})

	It("checks by tag, by semver with a cursor that moves across pushes, and by tag_regex", func() {
		cc.setPipeline("checks", "testdata/checks.yml", vars())

		By("tag: each push of the tag is a new version")
		first := pushDistinct(reg.Repo("e2e/check-tag:latest"), "tag-1")
		_, ok := cc.check("checks/by-tag")
		Expect(ok).To(BeTrue())
		Expect(cc.versions("checks/by-tag")).To(Equal([]resource.Version{{Tag: "latest", Digest: first}}))
		second := pushDistinct(reg.Repo("e2e/check-tag:latest"), "tag-2")
		_, ok = cc.check("checks/by-tag")
		Expect(ok).To(BeTrue())
		Expect(cc.versions("checks/by-tag")).To(Equal([]resource.Version{{Tag: "latest", Digest: second}, {Tag: "latest", Digest: first}}))

		By("semver: versions in order, aliases collapsed, then only newer than the cursor")
		semver := reg.Repo("e2e/check-semver")
		v100 := pushDistinct(semver+":1.0.0", "1.0.0")
		pushDistinct(semver+":1.0", "1.0.0")
		v110 := pushDistinct(semver+":1.1.0", "1.1.0")
		_, ok = cc.check("checks/by-semver")
		Expect(ok).To(BeTrue())
		Expect(cc.versions("checks/by-semver")).To(Equal([]resource.Version{{Tag: "1.1.0", Digest: v110}, {Tag: "1.0.0", Digest: v100}}))
		v120 := pushDistinct(semver+":1.2.0", "1.2.0")
		pushDistinct(semver+":0.9.0", "0.9.0") // older than the cursor: not even looked up
		_, ok = cc.check("checks/by-semver")
		Expect(ok).To(BeTrue())
		Expect(cc.versions("checks/by-semver")).To(Equal([]resource.Version{
			{Tag: "1.2.0", Digest: v120}, {Tag: "1.1.0", Digest: v110}, {Tag: "1.0.0", Digest: v100}}))

		By("tag_regex: only the matching tags")
		regex := reg.Repo("e2e/check-regex")
		rc1 := pushDistinct(regex+":rc-1", "rc-1")
		rc2 := pushDistinct(regex+":rc-2", "rc-2")
		pushDistinct(regex+":final", "final")
		pushDistinct(regex+":rc-2-debug", "rc-2-debug")
		_, ok = cc.check("checks/by-regex")
		Expect(ok).To(BeTrue())
		Expect(cc.versions("checks/by-regex")).To(Equal([]resource.Version{{Tag: "rc-2", Digest: rc2}, {Tag: "rc-1", Digest: rc1}}))

		By("refimage explain: what a runtime with the hook would do")
		expectExplained("testdata/checks.yml", vars(),
			decision{"use", "by-tag", true, "fetch_artifact is not set"},
			decision{"use", "by-semver", true, "fetch_artifact is false"},
			decision{"use", "by-regex", false, "format"})
	})

	It("gets in full (rootfs, oci, oci-layout) and by reference, and a task runs in the image", func() {
		digest := pushTaskImage(reg.Repo("e2e/app:v1"), "app v1")
		cc.setPipeline("get-modes", "testdata/get-modes.yml", vars())

		log, status := cc.trigger("get-modes/read")
		Expect(status).To(Equal("succeeded"), log)
		Expect(log).To(ContainSubstring("full download: fetch_artifact is not set and this is not a Kubernetes pod"))
		Expect(log).To(ContainSubstring("reference only: params.fetch_artifact is false"))
		Expect(log).To(ContainSubstring("/etc/refimage-marker: app v1\n"), "the task ran in the image it got")
		Expect(log).To(ContainSubstring("app-ref/repository: " + reg.Repo("e2e/app") + "\n"))
		Expect(log).To(ContainSubstring("app-ref/tag: v1\n"))
		Expect(log).To(ContainSubstring("app-ref/digest: " + digest + "\n"))
		Expect(log).To(ContainSubstring("app/digest: " + digest + "\n"))
		Expect(log).To(ContainSubstring("app: digest labels.json metadata.json repository rootfs tag\n"))
		Expect(log).To(ContainSubstring("app-oci: digest image.tar labels.json repository tag\n"))
		Expect(log).To(ContainSubstring("app-layout: digest oci repository tag\n"))
		Expect(log).To(ContainSubstring("app-layout/oci: blobs index.json oci-layout single-image-digest\n"))
		Expect(log).To(ContainSubstring("app-ref: digest repository tag\n"), "reference mode writes the three files only")
		Expect(cc.versions("get-modes/app")).To(Equal([]resource.Version{{Tag: "v1", Digest: digest}}))

		By("containers reach the registry on the bridge and nothing beyond the host")
		Expect(log).To(ContainSubstring("dial " + reg.Host + ": connected\n"))
		Expect(log).To(MatchRegexp(`dial 192\.0\.2\.1:443: .*(connection refused|no route to host|network is unreachable)`))

		By("refimage explain: what a runtime with the hook would do")
		expectExplained("testdata/get-modes.yml", vars(),
			decision{"read", "app", true, "fetch_artifact is not set"},
			decision{"read", "app-oci", false, "format"},
			decision{"read", "app-layout", false, "format"},
			decision{"read", "app-ref", true, "fetch_artifact is false"})
	})
})
