package hook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

const ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

// tokenResolver stands in for resource/cloud's resolver (whose token
// exchanges have their own specs): it resolves a cloud source to host and
// a short-lived token, and counts its calls.
type tokenResolver struct {
	host    string
	auth    authn.Authenticator
	expires time.Time
	err     error
	calls   int
}

func (t *tokenResolver) Resolve(_ context.Context, src resource.Source, _ http.RoundTripper) (registry.Endpoint, error) {
	t.calls++
	if t.err != nil {
		return registry.Endpoint{}, t.err
	}
	full := src.Repository
	if src.ECR() {
		full = t.host + "/" + src.Repository
	}
	repo, err := name.NewRepository(full)
	return registry.Endpoint{Repository: repo, Auth: t.auth, Expires: t.expires}, err
}

// hostRoute sends the cloud registry's requests to the test registry.
type hostRoute struct{ from, to string }

func (h hostRoute) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != h.from {
		return nil, errors.New("hostRoute: no route to " + req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL = &url.URL{Scheme: "http", Host: h.to, Path: req.URL.Path, RawQuery: req.URL.RawQuery}
	return http.DefaultTransport.RoundTrip(out)
}

var _ = Describe("cloud registries", func() {
	var (
		reg     *testRegistry
		tokens  *tokenResolver
		expires = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		ctx     = context.Background()
	)
	BeforeEach(func() {
		reg = startRegistry()
		tokens = &tokenResolver{host: ecrHost, auth: &authn.Basic{Username: "AWS", Password: "ecr-token"}, expires: expires}
	})
	newHook := func(host string, opts ...hook.Option) *hook.Hook {
		return mustNew(append([]hook.Option{hook.WithLabeler(nil),
			hook.WithClientOptions(registry.WithResolver(tokens), registry.WithTransport(hostRoute{from: host, to: reg.Host}))}, opts...)...)
	}
	decide := func(h *hook.Hook, source map[string]any, v resource.Version) hook.Decision {
		d, err := h.Decide(ctx, baseGet(source, nil, v))
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Skip).To(BeTrue())
		return d
	}
	ecrSource := map[string]any{"repository": "team/app", "aws_region": "eu-west-1", "aws_account_id": "123456789012"}

	It("pins an ECR image on the derived host and makes a pull secret of the step's token, stating its expiry", func() {
		digest := reg.push("team/app", "1.0", nil)
		h := newHook(ecrHost)
		res, err := h.Resolve(ctx, decide(h, ecrSource, resource.Version{Tag: "1.0", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Reference).To(Equal(ecrHost + "/team/app@" + digest.String()))
		Expect(res.ImageURL).To(Equal("docker:///" + ecrHost + "/team/app@" + digest.String()))
		Expect(res.Registry).To(Equal(ecrHost))
		Expect(res.FilesMap()["repository"]).To(Equal(ecrHost+"/team/app"), "as in writes it, and registry-image")
		Expect(res.Auth).To(Equal(&resource.Credentials{Username: "AWS", Password: "ecr-token"}))
		Expect(res.AuthExpires).To(Equal(&expires))
		Expect(res.Warnings).To(ContainElement(ContainSubstring("expires at 2030-01-02T03:04:05Z")))
		out, err := json.Marshal(res)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(ContainSubstring(`"auth_expires":"2030-01-02T03:04:05Z"`))
		Expect(string(out)).NotTo(ContainSubstring("ecr-token"))

		secret, err := kube.PullSecret(res)
		Expect(err).NotTo(HaveOccurred())
		var cfg struct {
			Auths map[string]struct{ Username, Password string }
		}
		Expect(json.Unmarshal(secret.Data[".dockerconfigjson"], &cfg)).To(Succeed())
		Expect(cfg.Auths).To(HaveKeyWithValue(ecrHost, struct{ Username, Password string }{"AWS", "ecr-token"}))
	})

	It("makes no pull secret when the nodes pull from ECR with their own identity, and says so", func() {
		digest := reg.push("team/app", "1.0", nil)
		h := newHook(ecrHost, hook.NodesPullFromECR())
		res, err := h.Resolve(ctx, decide(h, ecrSource, resource.Version{Tag: "1.0", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Reference).To(Equal(ecrHost + "/team/app@" + digest.String()))
		Expect(res.Auth).To(BeNil())
		Expect(res.AuthExpires).To(BeNil())
		Expect(res.Warnings).To(ContainElement(ContainSubstring("no pull secret for " + ecrHost + ": the nodes pull from Amazon ECR with their own identity")))
		Expect(kube.PullSecret(res)).To(BeNil())
	})

	It("resolves a tag-only ECR version on the derived host", func() {
		digest := reg.push("team/app", "moving", nil)
		h := newHook(ecrHost)
		res, err := h.Resolve(ctx, decide(h, ecrSource, resource.Version{Tag: "moving"}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Version.Digest).To(Equal(digest.String()))
		Expect(res.Reference).To(Equal(ecrHost + "/team/app@" + digest.String()))
	})

	It("pins an ACR image on the host as given, with the refresh token in the pull secret", func() {
		digest := reg.push("team/app", "2.0", nil)
		tokens.auth = &authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: "acr-refresh"}
		h := newHook("myreg.azurecr.io")
		res, err := h.Resolve(ctx, decide(h, map[string]any{"repository": "myreg.azurecr.io/team/app", "azure_acr": true},
			resource.Version{Tag: "2.0", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Reference).To(Equal("myreg.azurecr.io/team/app@" + digest.String()))
		Expect(res.FilesMap()["repository"]).To(Equal("myreg.azurecr.io/team/app"))
		Expect(res.Auth).To(Equal(&resource.Credentials{Username: "00000000-0000-0000-0000-000000000000", Password: "acr-refresh"}))
		Expect(res.AuthExpires).To(Equal(&expires))

		By("and none when the nodes pull from ACR themselves")
		h = newHook("myreg.azurecr.io", hook.NodesPullFromACR())
		res, err = h.Resolve(ctx, decide(h, map[string]any{"repository": "myreg.azurecr.io/team/app", "azure_acr": true},
			resource.Version{Tag: "2.0", Digest: digest.String()}))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Auth).To(BeNil())
	})

	It("returns the token exchange's failure", func() {
		tokens.err = errors.New("get an ECR token in eu-west-1: AccessDeniedException: not authorized")
		h := newHook(ecrHost)
		_, err := h.Resolve(ctx, decide(h, ecrSource, resource.Version{Tag: "1.0", Digest: "sha256:" + strings.Repeat("0", 64)}))
		Expect(err).To(MatchError(tokens.err))
	})
})
