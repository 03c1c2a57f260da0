package registrytest_test

import (
	"errors"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/refimage/refimage/internal/registrytest"
)

var _ = Describe("Registry", func() {
	DescribeTable("stores a pushed image and serves it back",
		func(start starter, wantTLS bool, wantUser string) {
			reg := start()
			Expect(reg.Host).To(HavePrefix("127.0.0.1:"))
			Expect(reg.Repo("team/app")).To(Equal(reg.Host + "/team/app"))
			Expect(reg.Insecure()).To(Equal(!wantTLS))
			Expect(reg.Username).To(Equal(wantUser))

			ref, img := pushRandom(reg, "team/app")

			got, err := remote.Image(ref, reg.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Digest()).To(Equal(must(img.Digest())))
			// validate reads every blob and checks it against its digest.
			Expect(validate.Image(got)).To(Succeed())
		},
		Entry("in-process, plain HTTP", inProcess(), false, ""),
		Entry("in-process, TLS + basic auth", inProcess(tlsAuth...), true, "alice"),
		Entry("distribution, plain HTTP", distribution(), false, ""),
		Entry("distribution, TLS + htpasswd", distribution(tlsAuth...), true, "alice"),
	)

	DescribeTable("refuses a wrong password with 401 and a Basic challenge",
		func(start starter) {
			reg := start()
			ref, _ := pushRandom(reg, "team/app")

			wrong := authn.FromConfig(authn.AuthConfig{Username: reg.Username, Password: "wrong"})
			_, err := remote.Head(ref, remote.WithAuth(wrong), remote.WithTransport(reg.Transport()))
			var terr *transport.Error
			Expect(errors.As(err, &terr)).To(BeTrue(), "error: %v", err)
			Expect(terr.StatusCode).To(Equal(http.StatusUnauthorized))

			anonymous := &registrytest.Registry{Host: reg.Host, CACertPEM: reg.CACertPEM}
			resp, _ := mustDo(anonymous, http.MethodGet, "/v2/")
			Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
			Expect(resp.Header.Get("WWW-Authenticate")).To(HavePrefix(`Basic realm=`))

			resp, _ = mustDo(reg, http.MethodGet, "/v2/")
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
		},
		Entry("in-process, plain HTTP + basic auth", inProcess(auth...)),
		Entry("in-process, TLS + basic auth", inProcess(tlsAuth...)),
		Entry("distribution, plain HTTP + htpasswd", distribution(auth...)),
		Entry("distribution, TLS + htpasswd", distribution(tlsAuth...)),
	)

	DescribeTable("is trusted only through its own CA",
		func(start starter) {
			reg := start()
			ref, err := name.ParseReference(reg.Repo("team/app:v1"))
			Expect(err).NotTo(HaveOccurred())
			_, err = remote.Head(ref, remote.WithAuth(reg.Authenticator()),
				remote.WithTransport(http.DefaultTransport.(*http.Transport).Clone()))
			Expect(err).To(MatchError(ContainSubstring("certificate")))
		},
		Entry("in-process", inProcess(registrytest.WithTLS())),
		Entry("distribution", distribution(registrytest.WithTLS())),
	)

	It("can be closed twice", func() {
		reg := registrytest.NewInProcess()
		reg.Close()
		Expect(reg.Close).NotTo(Panic())
	})
})

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
