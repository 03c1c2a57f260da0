package main_test

import (
	"flag"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

var update = flag.Bool("update", false, "rewrite the golden files of explain")

func TestRefimage(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Refimage CLI Suite")
}

var refimagePath string

var _ = SynchronizedBeforeSuite(func() []byte {
	p, err := gexec.Build("github.com/refimage/refimage/cmd/refimage")
	Expect(err).NotTo(HaveOccurred())
	return []byte(p)
}, func(p []byte) { refimagePath = string(p) })

var _ = SynchronizedAfterSuite(func() {}, gexec.CleanupBuildArtifacts)

// startRegistry serves ggcr's in-process registry on loopback and returns
// its host.
func startRegistry() string {
	reg := registrytest.NewInProcess()
	DeferCleanup(reg.Close)
	return reg.Host
}

func push(ref string) string { return pushLabelled(ref, nil) }

// pushLabelled pushes an image carrying labels to ref and returns its
// digest.
func pushLabelled(ref string, labels map[string]string) string {
	digest, err := imagetest.Push(ref, imagetest.MustImage(imagetest.Spec{Labels: labels}))
	Expect(err).NotTo(HaveOccurred())
	return digest
}
