package resource_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

var _ = Describe("Source", func() {
	Describe("Mirror", func() {
		mirror := &resource.RegistryMirror{Host: "mirror.local:5000", Credentials: resource.Credentials{Username: "mu", Password: "mp"}}
		DescribeTable("mirrors only Docker Hub repositories",
			func(repository string, wantRepo string, applies bool) {
				src := resource.Source{Repository: repository, RegistryMirror: mirror, Credentials: resource.Credentials{Username: "u", Password: "p"}}
				got, ok, err := src.Mirror()
				Expect(err).NotTo(HaveOccurred())
				Expect(ok).To(Equal(applies))
				if applies {
					Expect(got.Repository).To(Equal(wantRepo))
					Expect(got.Credentials).To(Equal(mirror.Credentials))
					Expect(got.RegistryMirror).To(BeNil())
				}
			},
			Entry("official image gets library/", "busybox", "mirror.local:5000/library/busybox", true),
			Entry("user image", "concourse/registry-image-resource", "mirror.local:5000/concourse/registry-image-resource", true),
			Entry("explicit docker.io", "docker.io/library/alpine", "mirror.local:5000/library/alpine", true),
			Entry("index.docker.io", "index.docker.io/library/alpine", "mirror.local:5000/library/alpine", true),
			Entry("another registry", "ghcr.io/org/app", "", false),
			Entry("a local registry", "127.0.0.1:5000/app", "", false),
		)
	})

	DescribeTable("Secrets lists every credential set",
		func(src resource.Source, want []string) {
			Expect(src.Secrets()).To(ConsistOf(want))
		},
		Entry("none", resource.Source{Repository: "r"}, []string{}),
		Entry("password", resource.Source{Credentials: resource.Credentials{Username: "u", Password: "pw"}}, []string{"pw"}),
		Entry("mirror password", resource.Source{RegistryMirror: &resource.RegistryMirror{Host: "m", Credentials: resource.Credentials{Password: "mpw"}}}, []string{"mpw"}),
		Entry("content_trust keys, ignored but never printed", resource.Source{ContentTrust: []byte(`{"server":"s","repository_key_id":"id","repository_key":"KEY","repository_passphrase":"PASS","tls_key":"TLS"}`)}, []string{"KEY", "PASS", "TLS"}),
		Entry("put's signing key and its password", resource.Source{Sign: &resource.Sign{PrivateKey: "PEM", Password: "KEYPASS"}}, []string{"PEM", "KEYPASS"}),
	)

	It("defaults the platform field by field", func() {
		src := resource.Source{Platform: &resource.Platform{Architecture: "arm64"}}
		p := src.PlatformOr(nil)
		Expect(p.Architecture).To(Equal("arm64"))
		Expect(p.OS).NotTo(BeEmpty())
		Expect(src.PlatformOr(&resource.Platform{OS: "windows"}).OS).To(Equal("windows"))
	})
})
