package cloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// acrUser is the user name ACR expects with a refresh token.
const acrUser = "00000000-0000-0000-0000-000000000000"

// azureClouds maps azure_environment to the cloud and the scope of the
// management token ACR accepts in exchange.
var azureClouds = map[string]struct {
	cloud cloud.Configuration
	scope string
}{
	resource.AzurePublic:     {cloud.AzurePublic, "https://management.azure.com/.default"},
	resource.AzureGovernment: {cloud.AzureGovernment, "https://management.usgovcloudapi.net/.default"},
	resource.AzureChina:      {cloud.AzureChina, "https://management.chinacloudapi.cn/.default"},
}

// azureEnvironment is the cloud of an ACR registry: azure_environment when
// set, else the one its host's domain belongs to (AzurePublic by default).
func azureEnvironment(host, explicit string) string {
	if explicit != "" {
		return explicit
	}
	host = strings.ToLower(host)
	switch {
	case strings.HasSuffix(host, ".azurecr.us"):
		return resource.AzureGovernment
	case strings.HasSuffix(host, ".azurecr.cn"):
		return resource.AzureChina
	}
	return resource.AzurePublic
}

// acr gets a managed identity token and exchanges it for an ACR refresh
// token.
func (r *Resolver) acr(ctx context.Context, src resource.Source, base http.RoundTripper) (registry.Endpoint, error) {
	var nameOpts []name.Option
	if src.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := resource.NewRepository(src.Repository, nameOpts...)
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("parse repository %q: %w", src.Repository, err)
	}
	host := repo.RegistryStr()
	env := azureClouds[azureEnvironment(host, src.AzureEnvironment)]
	client := &http.Client{Transport: base}

	miOpts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: env.cloud, Transport: client}}
	if src.AzureClientID != "" {
		miOpts.ID = azidentity.ClientID(src.AzureClientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(miOpts)
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("set up the managed identity: %w", err)
	}
	aad, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{env.scope}})
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("get a managed identity token for %s: %w", host, err)
	}
	r.o.secrets(aad.Token)

	tenant := src.AzureTenantID
	if tenant == "" {
		tenant = challengeTenant(ctx, client, repo.Registry)
	}
	refresh, err := exchange(ctx, client, repo.Registry, tenant, aad.Token)
	if err != nil {
		err = fmt.Errorf("exchange the managed identity token for an ACR refresh token at %s: %w", host, err)
		if src.AzureTenantID != "" {
			err = fmt.Errorf("%w; source.azure_tenant_id must be the registry's tenant, which may differ from the cluster's", err)
		}
		return registry.Endpoint{}, err
	}
	r.o.secrets(refresh)
	expires := jwtExpiry(refresh)
	if expires.IsZero() || aad.ExpiresOn.Before(expires) {
		// The refresh token is not meant to outlive the identity's.
		expires = aad.ExpiresOn
	}
	return registry.Endpoint{
		Repository: repo,
		Auth:       &authn.Basic{Username: acrUser, Password: refresh},
		Expires:    expires,
	}, nil
}

var tenantParam = regexp.MustCompile(`tenant=([^"&,\s]+)`)

// challengeTenant reads the registry's tenant from its /v2/ challenge;
// "common" lets ACR choose when the challenge names none.
func challengeTenant(ctx context.Context, client *http.Client, reg name.Registry) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return "common"
	}
	resp, err := client.Do(req)
	if err != nil {
		return "common"
	}
	defer resp.Body.Close()
	m := tenantParam.FindStringSubmatch(resp.Header.Get("Www-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized || m == nil {
		return "common"
	}
	return m[1]
}

// exchange trades an Azure AD access token for an ACR refresh token.
func exchange(ctx context.Context, client *http.Client, reg name.Registry, tenant, accessToken string) (string, error) {
	form := url.Values{
		"grant_type":   {"access_token"},
		"service":      {reg.RegistryStr()},
		"tenant":       {tenant},
		"access_token": {accessToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, reg.Scheme()+"://"+reg.RegistryStr()+"/oauth2/exchange", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The body explains a refusal; it must not echo the token.
		msg := strings.ReplaceAll(string(body), accessToken, "[redacted]")
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, strings.Join(strings.Fields(msg), " "))
	}
	var answer struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("decode the answer: %w", err)
	}
	if answer.RefreshToken == "" {
		return "", fmt.Errorf("the answer holds no refresh_token")
	}
	return answer.RefreshToken, nil
}

// jwtExpiry reads a JWT's exp claim without verifying it (the registry
// does that); zero when there is none.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(claims.Exp, 0)
}
