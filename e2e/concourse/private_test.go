//go:build concourse

package concourse_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

var _ = Describe("a registry that needs credentials, given as ((vars))", func() {
	It("checks, gets, runs a task in the image and pushes, and the password appears nowhere", func() {
		vars := map[string]string{"locked_registry": locked.Host,
			"registry.username": locked.Username, "registry.password": locked.Password}
		pushed := pushTaskImage(locked.Repo("e2e/private:stable"), "private v1", locked.RemoteOptions()...)
		args := []string{"set-pipeline", "-n", "-p", "private", "-c", "testdata/private.yml",
			"-y", "registry={username: " + locked.Username + ", password: " + locked.Password + "}",
			"-v", "locked_registry=" + locked.Host}
		cc.must(args...)
		cc.must("unpause-pipeline", "-p", "private")

		log, status := cc.trigger("private/promote")
		Expect(status).To(Equal("succeeded"), log)
		Expect(log).To(ContainSubstring("/etc/refimage-marker: private v1\n"))
		Expect(log).To(ContainSubstring("private/digest: " + pushed + "\n"))
		promoted := builtDigest(log, "promoted")
		Expect(cc.versions("private/private")).To(Equal([]resource.Version{
			{Tag: "stable", Digest: promoted}, {Tag: "stable", Digest: pushed}}))
		Expect(log).NotTo(ContainSubstring(locked.Password))

		By("refimage explain: what a runtime with the hook would do")
		expectExplained("testdata/private.yml", vars,
			decision{"promote", "private", true, "fetch_artifact is not set"},
			decision{"promote", "private", true, "fetch_artifact is not set"})
	})
})
