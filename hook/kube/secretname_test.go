package kube_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("SecretName", func() {
	// named builds a Resolution with no identity of its own (a hand-made
	// one, or a cloud identity that is the same for both), so that only
	// the username and password tell two credential sets apart.
	named := func(user, pass string, opts ...kube.Option) string {
		r := resolution("registry.example.test", &resource.Credentials{Username: user, Password: pass})
		r.AuthIdentity = ""
		return kube.SecretName(r, opts...)
	}

	It("encodes the fields unambiguously: a NUL inside a username or password moves no boundary", func() {
		Expect(named("x\x00y", "z")).NotTo(Equal(named("x", "y\x00z")))
		Expect(named("x\x00", "")).NotTo(Equal(named("x", "\x00")))
	})

	It("takes the installation's salt: two installations name one credential set differently, one installation always alike", func() {
		a, b := kube.WithNameSalt("3f0c6a7e-namespace-uid-a"), kube.WithNameSalt("9d41b2c8-namespace-uid-b")
		Expect(named("robot", "s3cret", a)).NotTo(Equal(named("robot", "s3cret", b)))
		Expect(named("robot", "s3cret", a)).NotTo(Equal(named("robot", "s3cret")))
		Expect(named("robot", "s3cret", a)).To(Equal(named("robot", "s3cret", a)))
		Expect(named("robot", "s3cret", a)).To(MatchRegexp(`^refimage-pull-[0-9a-f]{20}$`))
	})

	It("is what PullSecret names the Secret, salt included", func() {
		r := resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "s3cret"})
		salt := kube.WithNameSalt("3f0c6a7e-namespace-uid-a")
		s, err := kube.PullSecret(r, kube.WithNamespace("ci"), salt)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Name).To(Equal(kube.SecretName(r, salt)))
		Expect(s.Name).NotTo(Equal(kube.SecretName(r)))
	})

	// A Secret outlives the process that named it: another replica of the
	// runtime, or the next release, must find it under the same name.
	// These are the names the derivation gives; a change to it renames every
	// installation's Secrets and must be deliberate.
	It("stays the same for the same inputs, in every process and release", func() {
		Expect(named("robot", "s3cret")).To(Equal("refimage-pull-b8a66a5de27a23b6f7d6"))
		Expect(named("robot", "s3cret", kube.WithNameSalt("3f0c6a7e-namespace-uid-a"))).To(Equal("refimage-pull-3c9652f8e7fab012911f"))
	})
})
