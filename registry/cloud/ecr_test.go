package cloud_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/go-containerregistry/pkg/authn"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/registry/cloud"
	"github.com/refimage/refimage/resource"
)

const account = "123456789012"

// ecrWorld is one region of AWS on loopback: ECR's API, STS, and the ECR
// registry of the account, served by the in-process registry behind the
// derived host name.
type ecrWorld struct {
	region, apiHost, registryHost string
	ecr                           *fakeECR
	sts                           *fakeSTS
	reg                           *registrytest.Registry
	routes                        *routes
	digest                        string
	credsFile                     string

	mu      sync.Mutex
	secrets []string
}

func newECRWorld(region, domain string) *ecrWorld {
	w := &ecrWorld{region: region, apiHost: "api.ecr." + region + "." + domain, registryHost: account + ".dkr.ecr." + region + "." + domain}
	w.ecr = newFakeECR(region, "https://"+w.registryHost)
	w.ecr.wantHost = w.apiHost
	DeferCleanup(w.ecr.Close)
	w.sts = newFakeSTS(region)
	DeferCleanup(w.sts.Close)
	w.reg = registrytest.NewInProcess(registrytest.WithBasicAuth("AWS", w.ecr.password))
	DeferCleanup(w.reg.Close)
	img, err := imagetest.Image(imagetest.Spec{})
	Expect(err).NotTo(HaveOccurred())
	w.digest, err = imagetest.Push(w.reg.Repo("team/app")+":1.0.0", img, w.reg.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	w.routes = newRoutes()
	w.routes.add(w.registryHost, w.reg.URL())
	// Empty shared files, so that only the source and these specs give
	// credentials.
	dir := GinkgoT().TempDir()
	w.credsFile = filepath.Join(dir, "credentials")
	Expect(os.WriteFile(w.credsFile, nil, 0o600)).To(Succeed())
	return w
}

func (w *ecrWorld) resolver(opts ...cloud.Option) *cloud.Resolver {
	stsHost := "sts." + w.region + "." + strings.TrimPrefix(w.apiHost, "api.ecr."+w.region+".")
	http := awsHTTP(map[string]string{w.apiHost + ":443": w.ecr.Listener.Addr().String(), stsHost + ":443": w.sts.Listener.Addr().String()})
	return cloud.NewResolver(append([]cloud.Option{
		cloud.WithAWSLoadOptions(config.WithHTTPClient(http),
			config.WithSharedConfigFiles([]string{w.credsFile}), config.WithSharedCredentialsFiles([]string{w.credsFile})),
		cloud.WithSecrets(func(s ...string) { w.mu.Lock(); w.secrets = append(w.secrets, s...); w.mu.Unlock() }),
	}, opts...)...)
}

func (w *ecrWorld) source(mutate func(*resource.Source)) resource.Source {
	src := resource.Source{Repository: "team/app", Tag: "1.0.0", CloudCredentials: resource.CloudCredentials{
		AWSRegion: w.region, AWSAccountID: account, AWSAccessKeyID: "AKIDSOURCE", AWSSecretAccessKey: "source-secret-key"}}
	if mutate != nil {
		mutate(&src)
	}
	Expect(src.Validate()).To(Succeed())
	return src
}

func (w *ecrWorld) check(r *cloud.Resolver, src resource.Source) (resource.CheckResponse, error) {
	return check.Run(context.Background(), resource.CheckRequest{Source: src},
		check.WithClientOptions(registry.WithResolver(r), registry.WithTransport(w.routes)))
}

var _ = Describe("Amazon ECR", func() {
	var w *ecrWorld
	BeforeEach(func() { w = newECRWorld("eu-west-1", "amazonaws.com") })

	DescribeTable("check finds the version on the registry derived from account and region, with one signed token request",
		func(region, domain string) {
			w = newECRWorld(region, domain)
			versions, err := w.check(w.resolver(), w.source(nil))
			Expect(err).NotTo(HaveOccurred())
			Expect(versions).To(Equal(resource.CheckResponse{{Tag: "1.0.0", Digest: w.digest}}))
			calls, keys, problems := w.ecr.report()
			Expect(problems).To(BeEmpty(), "the token request is signed for the region and sent to its host")
			Expect(calls).To(Equal(1))
			Expect(keys).To(Equal([]string{"AKIDSOURCE"}))
			Expect(w.routes.hosts()).To(HaveEach(w.registryHost))
		},
		Entry("a commercial region", "eu-west-1", "amazonaws.com"),
		Entry("another region", "ap-southeast-2", "amazonaws.com"),
		Entry("a China region, with its own domain", "cn-north-1", "amazonaws.com.cn"),
	)

	It("takes the registry the token was issued for when aws_account_id is absent", func() {
		w.ecr.proxy = "https://" + w.registryHost
		versions, err := w.check(w.resolver(), w.source(func(s *resource.Source) { s.AWSAccountID = "" }))
		Expect(err).NotTo(HaveOccurred())
		Expect(versions).To(HaveLen(1))
	})

	It("assumes aws_role_arns in order, each with the keys the previous one gave, and asks ECR with the last", func() {
		roles := []string{"arn:aws:iam::111111111111:role/first", "arn:aws:iam::222222222222:role/second"}
		_, err := w.check(w.resolver(), w.source(func(s *resource.Source) { s.AWSRoleARNs = roles }))
		Expect(err).NotTo(HaveOccurred())
		gotRoles, keys, problems := w.sts.report()
		Expect(problems).To(BeEmpty())
		Expect(gotRoles).To(Equal(roles))
		Expect(keys).To(Equal([]string{"AKIDSOURCE", "ASIAROLE1"}))
		_, ecrKeys, _ := w.ecr.report()
		Expect(ecrKeys).To(Equal([]string{"ASIAROLE2"}))
		Expect(w.secrets).To(ContainElements("role-secret-1", "role-session-1", "role-secret-2", "role-session-2", w.ecr.password))
	})

	It("accepts the deprecated aws_ecr_registry_id with a warning, as registry-image does", func() {
		var warnings []string
		r := w.resolver(cloud.WithWarnings(func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }))
		_, err := w.check(r, w.source(func(s *resource.Source) { s.AWSECRRegistryID = account }))
		Expect(err).NotTo(HaveOccurred())
		Expect(warnings).To(ConsistOf(HavePrefix("source.aws_ecr_registry_id is ignored")))
	})

	It("assumes a single aws_role_arn", func() {
		_, err := w.check(w.resolver(), w.source(func(s *resource.Source) { s.AWSRoleARN = "arn:aws:iam::1:role/only" }))
		Expect(err).NotTo(HaveOccurred())
		roles, _, _ := w.sts.report()
		Expect(roles).To(Equal([]string{"arn:aws:iam::1:role/only"}))
	})

	It("uses the default credential chain when the source gives no keys", func() {
		Expect(os.WriteFile(w.credsFile, []byte("[default]\naws_access_key_id = AKIDCHAIN\naws_secret_access_key = chain-secret\n"), 0o600)).To(Succeed())
		if os.Getenv("AWS_ACCESS_KEY_ID") != "" {
			Skip("AWS_ACCESS_KEY_ID is set in this environment and comes first in the chain")
		}
		_, err := w.check(w.resolver(), w.source(func(s *resource.Source) { s.AWSAccessKeyID, s.AWSSecretAccessKey = "", "" }))
		Expect(err).NotTo(HaveOccurred())
		_, keys, _ := w.ecr.report()
		Expect(keys).To(Equal([]string{"AKIDCHAIN"}))
	})

	It("hands the token, and not only the source's secrets, to the redactor before using it", func() {
		r := w.resolver()
		ep, err := r.Resolve(context.Background(), w.source(nil), w.routes)
		Expect(err).NotTo(HaveOccurred())
		basic, err := ep.Auth.Authorization()
		Expect(err).NotTo(HaveOccurred())
		Expect(basic).To(Equal(&authn.AuthConfig{Username: "AWS", Password: w.ecr.password}))
		Expect(w.secrets).To(ContainElement(w.ecr.password))
		Expect(ep.Expires).To(BeTemporally("==", w.ecr.expires))
		Expect(ep.Repository.String()).To(Equal(w.registryHost + "/team/app"))
	})

	It("fetches one token per source and keeps it while it has long to live", func() {
		now := time.Now()
		r := w.resolver(cloud.WithClock(func() time.Time { return now }))
		for range 3 {
			_, err := registry.NewClient(context.Background(), w.source(nil), registry.WithResolver(r), registry.WithTransport(w.routes))
			Expect(err).NotTo(HaveOccurred())
		}
		calls, _, _ := w.ecr.report()
		Expect(calls).To(Equal(1))

		now = w.ecr.expires.Add(-time.Minute)
		_, err := r.Resolve(context.Background(), w.source(nil), w.routes)
		Expect(err).NotTo(HaveOccurred())
		calls, _, _ = w.ecr.report()
		Expect(calls).To(Equal(2), "a token about to expire is renewed")
	})

	It("makes in's reference mode write the full ECR repository, as registry-image does", func() {
		r := w.resolver()
		ref, err := inReference(r, w.routes, w.source(nil), resource.Version{Tag: "1.0.0", Digest: w.digest})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(ref.Files[0].Data)).To(Equal(w.registryHost + "/team/app"))
		Expect(ref.Pinned.String()).To(Equal(w.registryHost + "/team/app@" + w.digest))
	})

	Describe("failures", func() {
		secrets := func() []string {
			return append([]string{"source-secret-key", "role-secret-1", "role-session-1", w.ecr.password}, w.secrets...)
		}

		It("says ECR refused the token and why, with no secret", func() {
			w.ecr.failCode = "AccessDeniedException"
			_, err := w.check(w.resolver(), w.source(nil))
			Expect(err).To(MatchError("get an ECR token in eu-west-1: AccessDeniedException: User is not authorized to perform ecr:GetAuthorizationToken"))
			Expect(secretsIn(err.Error(), secrets()...)).To(BeEmpty())
		})

		It("names the role that could not be assumed, with no secret", func() {
			w.sts.deny = "arn:aws:iam::2:role/second"
			_, err := w.check(w.resolver(), w.source(func(s *resource.Source) {
				s.AWSRoleARNs = []string{"arn:aws:iam::1:role/first", "arn:aws:iam::2:role/second"}
			}))
			Expect(err).To(MatchError(HavePrefix("assume AWS role arn:aws:iam::2:role/second: AccessDenied: not authorized to perform sts:AssumeRole")))
			Expect(secretsIn(err.Error(), secrets()...)).To(BeEmpty())
			calls, _, _ := w.ecr.report()
			Expect(calls).To(Equal(0))
		})

		It("says the registry refused the token when the registry does", func() {
			w.ecr.password = "a-token-the-registry-does-not-know"
			_, err := w.check(w.resolver(), w.source(nil))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(w.registryHost))
			Expect(err.Error()).To(ContainSubstring("401"))
			Expect(secretsIn(err.Error(), secrets()...)).To(BeEmpty())
		})
	})
})
