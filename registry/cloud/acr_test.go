package cloud_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/registry/cloud"
	"github.com/refimage/refimage/resource"
)

// acrWorld is Azure on loopback: the instance metadata endpoint and an ACR
// registry that exchanges tokens and serves images through the in-process
// registry, which accepts only the refresh token.
type acrWorld struct {
	host   string
	imds   *fakeIMDS
	acr    *fakeACR
	reg    *registrytest.Registry
	routes *routes
	digest string

	mu      sync.Mutex
	secrets []string
}

func newACRWorld(host string) *acrWorld {
	w := &acrWorld{host: host, imds: newFakeIMDS()}
	DeferCleanup(w.imds.Close)
	w.acr = newFakeACR(nil)
	DeferCleanup(w.acr.Close)
	w.reg = registrytest.NewInProcess(registrytest.WithBasicAuth("00000000-0000-0000-0000-000000000000", w.acr.refresh))
	DeferCleanup(w.reg.Close)
	target, err := url.Parse(w.reg.URL())
	Expect(err).NotTo(HaveOccurred())
	w.acr.registry = httputil.NewSingleHostReverseProxy(target)
	img, err := imagetest.Image(imagetest.Spec{})
	Expect(err).NotTo(HaveOccurred())
	w.digest, err = imagetest.Push(w.reg.Repo("team/app")+":2.0.0", img, w.reg.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	w.routes = newRoutes()
	w.routes.add("169.254.169.254", w.imds.URL)
	w.routes.add(host, w.acr.URL)
	return w
}

func (w *acrWorld) resolver() *cloud.Resolver {
	return cloud.NewResolver(cloud.WithSecrets(func(s ...string) { w.mu.Lock(); w.secrets = append(w.secrets, s...); w.mu.Unlock() }))
}

// identities makes each spec's identity its own: MSAL keeps managed
// identity tokens in a process-wide cache, keyed by identity and resource.
var identities atomic.Int64

func (w *acrWorld) source(mutate func(*resource.Source)) resource.Source {
	src := resource.Source{Repository: w.host + "/team/app", Tag: "2.0.0", CloudCredentials: resource.CloudCredentials{
		AzureACR: true, AzureClientID: fmt.Sprintf("client-%d", identities.Add(1))}}
	if mutate != nil {
		mutate(&src)
	}
	Expect(src.Validate()).To(Succeed())
	return src
}

func (w *acrWorld) check(src resource.Source) (resource.CheckResponse, error) {
	return check.Run(context.Background(), resource.CheckRequest{Source: src},
		check.WithClientOptions(registry.WithResolver(w.resolver()), registry.WithTransport(w.routes)))
}

var _ = Describe("Azure ACR", func() {
	var w *acrWorld
	BeforeEach(func() {
		if azureEnvSet() {
			Skip("a managed identity environment variable is set: azidentity would not use the instance metadata endpoint")
		}
		w = newACRWorld("myreg.azurecr.io")
	})

	DescribeTable("check exchanges the managed identity's token for the cloud the host belongs to",
		func(host, environment, resourceURI string) {
			w = newACRWorld(host)
			src := w.source(func(s *resource.Source) { s.AzureEnvironment = environment })
			versions, err := w.check(src)
			Expect(err).NotTo(HaveOccurred())
			Expect(versions).To(Equal(resource.CheckResponse{{Tag: "2.0.0", Digest: w.digest}}))
			resources, clientIDs, problems := w.imds.report()
			Expect(problems).To(BeEmpty())
			Expect(resources).To(Equal([]string{resourceURI}))
			Expect(clientIDs).To(Equal([]string{src.AzureClientID}))
			exchanges := w.acr.exchanges()
			Expect(exchanges).To(HaveLen(1))
			Expect(exchanges[0]).To(Equal(map[string]string{"host": host, "grant_type": "access_token", "service": host,
				"tenant": "common", "access_token": w.imds.token}))
		},
		Entry("public, from .azurecr.io", "myreg.azurecr.io", "", "https://management.azure.com"),
		Entry("government, from .azurecr.us", "myreg.azurecr.us", "", "https://management.usgovcloudapi.net"),
		Entry("China, from .azurecr.cn", "myreg.azurecr.cn", "", "https://management.chinacloudapi.cn"),
		Entry("azure_environment over the host", "registry.example.com", "AzureGovernment", "https://management.usgovcloudapi.net"),
		Entry("public for any other host", "registry.example.com", "", "https://management.azure.com"),
	)

	It("uses the system-assigned identity when the source names none, and the tenant the source names", func() {
		// The only spec with the system-assigned identity, see identities.
		_, err := w.check(w.source(func(s *resource.Source) { s.AzureClientID, s.AzureTenantID = "", "tenant-1" }))
		Expect(err).NotTo(HaveOccurred())
		_, clientIDs, _ := w.imds.report()
		Expect(clientIDs).To(Equal([]string{""}))
		Expect(w.acr.exchanges()[0]["tenant"]).To(Equal("tenant-1"))
	})

	It("reads the registry's tenant from its challenge when the source names none", func() {
		w.acr.challengeTenant = "tenant-from-challenge"
		_, err := w.check(w.source(nil))
		Expect(err).NotTo(HaveOccurred())
		Expect(w.acr.exchanges()[0]["tenant"]).To(Equal("tenant-from-challenge"))
	})

	It("hands both tokens to the redactor and states the refresh token's expiry", func() {
		ep, err := w.resolver().Resolve(context.Background(), w.source(nil), w.routes)
		Expect(err).NotTo(HaveOccurred())
		Expect(ep.Repository.String()).To(Equal(w.host + "/team/app"))
		Expect(ep.Expires.IsZero()).To(BeFalse())
		Expect(w.secrets).To(ContainElements(w.imds.token, w.acr.refresh))
	})

	It("makes in's reference mode write the repository as given and report the refresh token", func() {
		r := w.resolver()
		ref, err := inReference(r, w.routes, w.source(nil), resource.Version{Tag: "2.0.0", Digest: w.digest})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(ref.Files[0].Data)).To(Equal(w.host + "/team/app"))
		Expect(ref.Pinned.String()).To(Equal(w.host + "/team/app@" + w.digest))
		auth, err := ref.Endpoint.Auth.Authorization()
		Expect(err).NotTo(HaveOccurred())
		Expect(auth.Username).To(Equal("00000000-0000-0000-0000-000000000000"))
		Expect(auth.Password).To(Equal(w.acr.refresh))
	})

	It("says the exchange failed, hints at the tenant, and echoes no token", func() {
		w.acr.status = http.StatusUnauthorized
		_, err := w.check(w.source(func(s *resource.Source) { s.AzureTenantID = "tenant-1" }))
		Expect(err).To(MatchError(HavePrefix("exchange the managed identity token for an ACR refresh token at myreg.azurecr.io: status 401: ")))
		Expect(err.Error()).To(ContainSubstring("source.azure_tenant_id must be the registry's tenant"))
		Expect(err.Error()).To(ContainSubstring("[redacted]"), "the fake echoes the token it was sent")
		Expect(secretsIn(err.Error(), w.imds.token, w.acr.refresh)).To(BeEmpty())
		Expect(strings.Count(err.Error(), "\n")).To(Equal(0))
	})

	It("says the managed identity gave no token", func() {
		w.imds.status = http.StatusBadRequest
		_, err := w.check(w.source(nil))
		Expect(err).To(MatchError(HavePrefix("get a managed identity token for myreg.azurecr.io: ")))
		Expect(w.acr.exchanges()).To(BeEmpty())
	})
})
