package main_test

import (
	"flag"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
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

// startRegistry serves ggcr's in-process registry on loopback.
func startRegistry() string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	DeferCleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(ref string) v1.Hash { return pushLabelled(ref, nil) }

// pushLabelled pushes a random image carrying labels to ref.
func pushLabelled(ref string, labels map[string]string) v1.Hash {
	img, err := random.Image(64, 1)
	Expect(err).NotTo(HaveOccurred())
	if labels != nil {
		cf, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		cf = cf.DeepCopy()
		cf.Config.Labels = labels
		img, err = mutate.ConfigFile(img, cf)
		Expect(err).NotTo(HaveOccurred())
	}
	r, err := name.ParseReference(ref)
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(r, img)).To(Succeed())
	d, err := img.Digest()
	Expect(err).NotTo(HaveOccurred())
	return d
}
