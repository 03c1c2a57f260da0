package resource_test

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("cloud sources", func() {
	decode := func(body string) error {
		var req resource.CheckRequest
		return resource.Decode(strings.NewReader(body), &req)
	}

	DescribeTable("rejects what cannot work with one line naming the fields and the fix",
		func(source string, want string) {
			err := decode(`{"source":` + source + `}`)
			Expect(err).To(MatchError(ContainSubstring(want)))
			Expect(err.Error()).NotTo(ContainSubstring("\n"))
			for _, secret := range []string{"SECRETKEY", "SESSIONTOKEN", "PASSWORD"} {
				Expect(err.Error()).NotTo(ContainSubstring(secret))
			}
		},
		Entry("keys without region", `{"repository":"app","aws_access_key_id":"AKID","aws_secret_access_key":"SECRETKEY"}`,
			"source.aws_region: is required with source.aws_access_key_id: set it to the ECR registry's region"),
		Entry("role without region", `{"repository":"app","aws_role_arn":"arn:aws:iam::1:role/r"}`,
			"source.aws_region: is required with source.aws_role_arn"),
		Entry("both role fields", `{"repository":"app","aws_region":"eu-west-1","aws_role_arn":"arn:aws:iam::1:role/a","aws_role_arns":["arn:aws:iam::1:role/b"]}`,
			"source.aws_role_arn: cannot be set together with source.aws_role_arns: put every role in aws_role_arns"),
		Entry("key id without secret", `{"repository":"app","aws_region":"eu-west-1","aws_access_key_id":"AKID"}`,
			"source.aws_secret_access_key: is required with source.aws_access_key_id"),
		Entry("secret without key id", `{"repository":"app","aws_region":"eu-west-1","aws_secret_access_key":"SECRETKEY"}`,
			"source.aws_access_key_id: is required with source.aws_secret_access_key"),
		Entry("session token alone", `{"repository":"app","aws_region":"eu-west-1","aws_session_token":"SESSIONTOKEN"}`,
			"source.aws_session_token: needs source.aws_access_key_id and source.aws_secret_access_key"),
		Entry("account id not digits", `{"repository":"app","aws_region":"eu-west-1","aws_account_id":"acme"}`,
			`source.aws_account_id: "acme" is not an AWS account ID`),
		Entry("role not an ARN", `{"repository":"app","aws_region":"eu-west-1","aws_role_arns":["arn:aws:iam::1:role/a","admin"]}`,
			`source.aws_role_arns[1]: "admin" is not a role ARN`),
		Entry("ECR repository with a host", `{"repository":"123.dkr.ecr.eu-west-1.amazonaws.com/app","aws_region":"eu-west-1"}`,
			"source.repository: \"123.dkr.ecr.eu-west-1.amazonaws.com/app\" names a registry host, but with source.aws_region the host is derived"),
		Entry("username and password with azure_acr", `{"repository":"r.azurecr.io/app","azure_acr":true,"username":"u","password":"PASSWORD"}`,
			"source.azure_acr: cannot be used with source.username/password: remove them"),
		Entry("azure field without azure_acr", `{"repository":"r.azurecr.io/app","azure_client_id":"cid"}`,
			"source.azure_client_id: is set but source.azure_acr is not: add azure_acr: true"),
		Entry("unknown azure_environment", `{"repository":"r.azurecr.io/app","azure_acr":true,"azure_environment":"Mars"}`,
			`source.azure_environment: "Mars" is not an Azure cloud: use AzurePublic, AzureGovernment or AzureChina`),
		Entry("ACR repository without host", `{"repository":"app","azure_acr":true}`,
			`source.repository: "app" names no registry host, but azure_acr needs one`),
		Entry("ECR and ACR", `{"repository":"app","aws_region":"eu-west-1","azure_acr":true}`,
			"source.azure_acr: cannot be combined with source.aws_region"),
	)

	DescribeTable("accepts registry-image's cloud sources as they are",
		func(source string) { Expect(decode(`{"source":` + source + `}`)).To(Succeed()) },
		Entry("ECR with keys", `{"repository":"team/app","aws_region":"eu-west-1","aws_access_key_id":"AKID","aws_secret_access_key":"s","aws_session_token":"t"}`),
		Entry("ECR with the default chain", `{"repository":"app","aws_region":"eu-west-1"}`),
		Entry("ECR cross-account with roles", `{"repository":"app","aws_region":"eu-west-1","aws_account_id":"123456789012","aws_role_arns":["arn:aws:iam::1:role/a","arn:aws:iam::2:role/b"]}`),
		Entry("ECR with the deprecated registry id", `{"repository":"app","aws_region":"eu-west-1","aws_ecr_registry_id":"123456789012"}`),
		Entry("ACR system identity", `{"repository":"r.azurecr.io/app","azure_acr":true}`),
		Entry("ACR user identity in China", `{"repository":"r.azurecr.cn/app","azure_acr":true,"azure_client_id":"c","azure_tenant_id":"t","azure_environment":"AzureChina"}`),
	)

	It("lists the AWS secret key and session token as secrets, not the key id", func() {
		src := resource.Source{CloudCredentials: resource.CloudCredentials{AWSAccessKeyID: "AKID", AWSSecretAccessKey: "sk", AWSSessionToken: "st"}}
		Expect(src.Secrets()).To(ConsistOf("sk", "st"))
	})

	It("never mirrors an ECR repository, whose bare name looks like Docker Hub's", func() {
		src := resource.Source{Repository: "app", RegistryMirror: &resource.RegistryMirror{Host: "mirror.local"},
			CloudCredentials: resource.CloudCredentials{AWSRegion: "eu-west-1"}}
		_, ok, err := src.Mirror()
		Expect(err).NotTo(HaveOccurred())
		Expect(ok).To(BeFalse())
	})

	It("says a plain client cannot reach a cloud registry", func() {
		src := resource.Source{Repository: "app", CloudCredentials: resource.CloudCredentials{AWSRegion: "eu-west-1"}}
		_, err := registry.NewClient(context.Background(), src)
		Expect(err).To(MatchError(ContainSubstring("source.aws_region: Amazon ECR and Azure ACR need the cloud resolver")))
	})

	Describe("a resolver", func() {
		var (
			reg    *registrytest.Registry
			digest string
			src    resource.Source
			fake   *fakeResolver
		)
		BeforeEach(func() {
			reg = registrytest.NewInProcess(registrytest.WithBasicAuth("AWS", "ecr-token"))
			DeferCleanup(reg.Close)
			img, err := imagetest.Image(imagetest.Spec{})
			Expect(err).NotTo(HaveOccurred())
			digest, err = imagetest.Push(reg.Repo("team/app")+":1", img, reg.RemoteOptions()...)
			Expect(err).NotTo(HaveOccurred())
			repo, err := name.NewRepository(reg.Repo("team/app"))
			Expect(err).NotTo(HaveOccurred())
			fake = &fakeResolver{ep: registry.Endpoint{Repository: repo, Auth: &authn.Basic{Username: "AWS", Password: "ecr-token"}, Expires: time.Unix(1e9, 0)}}
			src = resource.Source{Repository: "team/app", CloudCredentials: resource.CloudCredentials{AWSRegion: "eu-west-1"}}
		})

		It("gives NewClient the repository and credentials, once, with the client's transport", func() {
			client, err := registry.NewClient(context.Background(), src, registry.WithResolver(fake))
			Expect(err).NotTo(HaveOccurred())
			Expect(fake.calls).To(Equal(1))
			Expect(fake.base).NotTo(BeNil())
			Expect(client.Repository.String()).To(Equal(reg.Repo("team/app")))
			Expect(client.Endpoint().Expires).To(Equal(time.Unix(1e9, 0)))
			_, found, err := client.Digest(client.Repository.Digest(digest))
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue())
		})

		It("makes ResolveReference write the resolved repository, as registry-image writes an ECR one", func() {
			ref, err := registry.ResolveReference(context.Background(), resource.InRequest{Source: src, Version: resource.Version{Tag: "1", Digest: digest}},
				func(ctx context.Context, s resource.Source) (registry.Registry, error) {
					return registry.NewClient(ctx, s, registry.WithResolver(fake))
				})
			Expect(err).NotTo(HaveOccurred())
			Expect(ref.Files[0]).To(Equal(resource.File{Name: "repository", Data: []byte(reg.Repo("team/app"))}))
			Expect(ref.Response.Metadata[0]).To(Equal(resource.MetadataField{Name: "repository", Value: reg.Repo("team/app")}))
			Expect(ref.Pinned.String()).To(Equal(reg.Repo("team/app") + "@" + digest))
			Expect(ref.Endpoint).NotTo(BeNil())
			Expect(ref.Endpoint.Auth).To(Equal(fake.ep.Auth))
			Expect(ref.Endpoint.Expires).To(Equal(fake.ep.Expires))
		})

		It("refuses a registry that cannot name the ECR host it resolved to", func() {
			_, err := registry.ResolveReference(context.Background(), resource.InRequest{Source: src, Version: resource.Version{Digest: digest}},
				func(ctx context.Context, s resource.Source) (registry.Registry, error) {
					c, err := registry.NewClient(ctx, s, registry.WithResolver(fake))
					return registryOnly{c}, err
				})
			Expect(err).To(MatchError(ContainSubstring("does not say which ECR host it resolved to")))
		})

		It("returns the resolver's error as it is", func() {
			fake.err = &registry.RegistryError{Op: "get an ECR token", Err: context.DeadlineExceeded}
			_, err := registry.NewClient(context.Background(), src, registry.WithResolver(fake))
			Expect(err).To(MatchError(fake.err))
		})
	})
})

type fakeResolver struct {
	ep    registry.Endpoint
	err   error
	calls int
	base  http.RoundTripper
}

func (f *fakeResolver) Resolve(_ context.Context, _ resource.Source, base http.RoundTripper) (registry.Endpoint, error) {
	f.calls++
	f.base = base
	return f.ep, f.err
}

// registryOnly hides *Client's Endpoint method.
type registryOnly struct{ registry.Registry }
