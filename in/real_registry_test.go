package in_test

import (
	"net/http"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("against the Distribution registry with TLS and basic auth", Ordered, func() {
	const password = "s3cr3t-pa55"
	var dist *registrytest.Registry
	var proxy *registrytest.Proxy
	var repo, digest string

	BeforeAll(func() {
		var err error
		dist, err = registrytest.StartDistribution(registrytest.WithTLS(), registrytest.WithBasicAuth("ci", password))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(dist.Close)
		proxy = registrytest.NewProxy(dist)
		DeferCleanup(proxy.Close)
		repo = proxy.Repo("in/app")
		img := imagetest.MustImage(imagetest.Spec{
			Layers: []v1.Layer{
				layer(imagetest.Gzip, imagetest.Dir("etc"), imagetest.File("etc/os-release", "ID=test")),
				layer(imagetest.Zstd, imagetest.Symlink("bin", "usr/bin"), imagetest.Dir("usr/bin"), imagetest.File("usr/bin/app", "#!")),
			},
			Labels: map[string]string{"team": "core"},
		})
		digest, err = imagetest.Push(repo+":1.0", img, proxy.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
	})
	BeforeEach(func() { proxy.Reset() })

	source := func(pass string) map[string]any {
		return map[string]any{"repository": repo, "ca_certs": []string{string(proxy.CACertPEM)}, "username": "ci", "password": pass}
	}
	noSecret := func(res result) {
		Expect(res.stderr).NotTo(ContainSubstring(password))
		Expect(string(res.stdout)).NotTo(ContainSubstring(password))
	}

	It("writes the reference with one manifest HEAD", func() {
		res := runIn(request{Source: source(password), Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
		Expect(res.code).To(Equal(0), res.stderr)
		noSecret(res)
		Expect(tree(res.dest)).To(ConsistOf("repository", "tag", "digest"))
		counts := proxy.Counts()
		Expect(counts.ManifestHEAD).To(Equal(1))
		Expect(counts.Total-counts.Ping).To(Equal(1), "nothing but the HEAD (and auth pings)")
	})

	DescribeTable("downloads the image",
		func(format string, files ...string) {
			res := runIn(request{Source: source(password), Params: map[string]any{"format": format},
				Version: resource.Version{Tag: "1.0", Digest: digest}})
			Expect(res.code).To(Equal(0), res.stderr)
			noSecret(res)
			for _, f := range files {
				Expect(filepath.Join(res.dest, f)).To(BeAnExistingFile())
			}
			Expect(res.file("digest")).To(Equal(digest))
		},
		Entry("rootfs", "rootfs", "rootfs/etc/os-release", "rootfs/bin/app", "metadata.json", "labels.json"),
		Entry("oci", "oci", "image.tar", "labels.json"),
		Entry("oci-layout", "oci-layout", "oci/index.json", "oci/oci-layout", "oci/single-image-digest"),
	)

	It("says the credentials were refused, without printing them", func() {
		res := runIn(request{Source: source("wrong-" + password), Version: resource.Version{Tag: "1.0", Digest: digest}})
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		Expect(res.stderr).NotTo(ContainSubstring("wrong-" + password))
		Expect(strings.ToLower(res.stderr)).To(ContainSubstring("credentials"))
	})

	It("fails with a non-zero exit when the registry has lost a blob", func() {
		proxy.Fail(registrytest.Fault{Method: http.MethodGet, PathContains: "/blobs/", Status: http.StatusNotFound})
		res := runIn(request{Source: source(password), Params: map[string]any{"fetch_artifact": true},
			Version: resource.Version{Tag: "1.0", Digest: digest}})
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		Expect(filepath.Join(res.dest, "digest")).NotTo(BeAnExistingFile())
		Expect(res.stderr).To(ContainSubstring("404"))
	})
})
