//go:build concourse

package concourse_test

import (
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

// pushRefimage pushes `make image`'s index (linux/amd64 and linux/arm64) to
// ref, as a platform team publishes it, and returns its digest.
func pushRefimage(ref string) string {
	p, err := layout.FromPath(settingsFromEnv().imageLayout)
	Expect(err).NotTo(HaveOccurred())
	root, err := p.ImageIndex()
	Expect(err).NotTo(HaveOccurred())
	m, err := root.IndexManifest()
	Expect(err).NotTo(HaveOccurred())
	Expect(m.Manifests).To(HaveLen(1), "make image's layout names one index")
	idx, err := root.ImageIndex(m.Manifests[0].Digest)
	Expect(err).NotTo(HaveOccurred())
	digest, err := imagetest.PushIndex(ref, idx)
	Expect(err).NotTo(HaveOccurred())
	return digest
}

// The pipeline author's path: refimage declared under resource_types, its
// image fetched by the worker's registry-image, written exactly as the
// README shows it (docs/examples/pipeline.yml; a README spec keeps the two
// identical).
var _ = Describe("refimage as a custom type, as the README tells authors", func() {
	It("builds, pushes, tests in the pushed digest and deploys its reference", func() {
		pushRefimage(reg.Repo("refimage/refimage:1"))
		file := filepath.Join(settingsFromEnv().repo, "docs", "examples", "pipeline.yml")
		vars := map[string]string{
			"refimage-repository": reg.Repo("refimage/refimage"),
			"app-repository":      reg.Repo("e2e/author-app"),
			"tools-repository":    tools,
		}
		cc.setPipeline("author", file, vars)

		log, status := cc.trigger("author/build")
		Expect(status).To(Equal("succeeded"), log)
		digest := builtDigest(log, "app 1.4.2")
		Expect(cc.versions("author/app-image")).To(Equal([]resource.Version{{Tag: "1.4.2", Digest: digest}}))
		Expect(registryTags(reg.Repo("e2e/author-app"))).To(ConsistOf("1.4.2", "1.4", "1", "latest"))

		By("the worker's registry-image fetched the type's image from a container")
		Expect(reg.Log()).To(MatchRegexp(`(?m)^10\.250\.0\.([2-9]|[1-9]\d+) .*"GET /v2/refimage/refimage/blobs/sha256:[0-9a-f]{64} HTTP/1\.1" 200 `))

		By("test runs by itself (trigger: true), in exactly the digest build pushed")
		log, status = cc.awaitBuild("author/test", 1)
		Expect(status).To(Equal("succeeded"), log)
		Expect(log).To(ContainSubstring("/etc/refimage-marker: app 1.4.2\n"))
		Expect(log).To(ContainSubstring("app-image/digest: " + digest + "\n"))

		By("deploy reads the reference: fetch_artifact: false")
		log, status = cc.awaitBuild("author/deploy", 1)
		Expect(status).To(Equal("succeeded"), log)
		Expect(log).To(ContainSubstring("reference only: params.fetch_artifact is false"))
		Expect(log).To(ContainSubstring("app-image/repository: " + reg.Repo("e2e/author-app") + "\n"))
		Expect(log).To(ContainSubstring("app-image/tag: 1.4.2\n"))
		Expect(log).To(ContainSubstring("app-image/digest: " + digest + "\n"))

		By("refimage explain --labels: the type image's label lets every get skip its pod")
		expectExplained(file, vars,
			decision{"build", "app-image", true, "label"},
			decision{"test", "app-image", true, "label"},
			decision{"deploy", "app-image", true, "fetch_artifact is false"})
	})
})
