package resource

import (
	"fmt"
	"strings"
)

// CloudCredentials are registry-image's Amazon ECR and Azure ACR fields.
type CloudCredentials struct {
	AWSAccessKeyID     string `json:"aws_access_key_id,omitempty"`
	AWSSecretAccessKey string `json:"aws_secret_access_key,omitempty"`
	AWSSessionToken    string `json:"aws_session_token,omitempty"`
	AWSRegion          string `json:"aws_region,omitempty"`
	// AWSECRRegistryID is accepted and ignored, as registry-image does:
	// the registry follows from the credentials or aws_account_id.
	AWSECRRegistryID string   `json:"aws_ecr_registry_id,omitempty"`
	AWSRoleARN       string   `json:"aws_role_arn,omitempty"`
	AWSRoleARNs      []string `json:"aws_role_arns,omitempty"`
	AWSAccountID     string   `json:"aws_account_id,omitempty"`

	AzureACR         bool   `json:"azure_acr,omitempty"`
	AzureClientID    string `json:"azure_client_id,omitempty"`
	AzureTenantID    string `json:"azure_tenant_id,omitempty"`
	AzureEnvironment string `json:"azure_environment,omitempty"`
}

// Azure clouds, the values of azure_environment.
const (
	AzurePublic     = "AzurePublic"
	AzureGovernment = "AzureGovernment"
	AzureChina      = "AzureChina"
)

// ECR reports whether the source is an Amazon ECR repository: any aws_*
// field is set (Validate then requires aws_region).
func (c CloudCredentials) ECR() bool { return c.firstAWS() != "" }

// ACR reports whether the source authenticates to Azure ACR with a managed
// identity.
func (c CloudCredentials) ACR() bool { return c.AzureACR }

// RoleARNs are the roles to assume, in order.
func (c CloudCredentials) RoleARNs() []string {
	if c.AWSRoleARN != "" {
		return []string{c.AWSRoleARN}
	}
	return c.AWSRoleARNs
}

func (c CloudCredentials) firstAWS() string {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"aws_access_key_id", c.AWSAccessKeyID != ""},
		{"aws_secret_access_key", c.AWSSecretAccessKey != ""},
		{"aws_session_token", c.AWSSessionToken != ""},
		{"aws_region", c.AWSRegion != ""},
		{"aws_ecr_registry_id", c.AWSECRRegistryID != ""},
		{"aws_role_arn", c.AWSRoleARN != ""},
		{"aws_role_arns", len(c.AWSRoleARNs) > 0},
		{"aws_account_id", c.AWSAccountID != ""},
	} {
		if f.set {
			return f.name
		}
	}
	return ""
}

func (c CloudCredentials) firstAzure() string {
	switch {
	case c.AzureClientID != "":
		return "azure_client_id"
	case c.AzureTenantID != "":
		return "azure_tenant_id"
	case c.AzureEnvironment != "":
		return "azure_environment"
	}
	return ""
}

// FirstSet names the first cloud field that is set (its JSON name), or "".
func (c CloudCredentials) FirstSet() string {
	if f := c.firstAWS(); f != "" {
		return f
	}
	if c.AzureACR {
		return "azure_acr"
	}
	return c.firstAzure()
}

// validateCloud checks the ECR and ACR fields; the repository has been
// parsed already.
func (s Source) validateCloud() error {
	c := s.CloudCredentials
	if c.ECR() && c.ACR() {
		return fieldErrorf("source.azure_acr", "cannot be combined with source.%s: a repository is on Amazon ECR or on Azure ACR; remove the fields of the other", c.firstAWS())
	}
	if c.ECR() {
		return s.validateECR()
	}
	if field := c.firstAzure(); field != "" && !c.AzureACR {
		return fieldErrorf("source."+field, "is set but source.azure_acr is not: add azure_acr: true to authenticate with the managed identity, or remove %s", field)
	}
	if c.ACR() {
		return s.validateACR()
	}
	return nil
}

func (s Source) validateECR() error {
	c := s.CloudCredentials
	switch {
	case c.AWSRegion == "":
		return fieldErrorf("source.aws_region", "is required with source.%s: set it to the ECR registry's region, e.g. us-east-1", c.firstAWS())
	case c.AWSRoleARN != "" && len(c.AWSRoleARNs) > 0:
		return fieldErrorf("source.aws_role_arn", "cannot be set together with source.aws_role_arns: put every role in aws_role_arns, in the order to assume them, and remove aws_role_arn")
	case c.AWSAccessKeyID != "" && c.AWSSecretAccessKey == "":
		return fieldErrorf("source.aws_secret_access_key", "is required with source.aws_access_key_id: give both, or neither to use the default AWS credential chain")
	case c.AWSAccessKeyID == "" && c.AWSSecretAccessKey != "":
		return fieldErrorf("source.aws_access_key_id", "is required with source.aws_secret_access_key: give both, or neither to use the default AWS credential chain")
	case c.AWSSessionToken != "" && c.AWSAccessKeyID == "":
		return fieldErrorf("source.aws_session_token", "needs source.aws_access_key_id and source.aws_secret_access_key: give all three, or none to use the default AWS credential chain")
	case c.AWSAccountID != "" && !allDigits(c.AWSAccountID):
		return fieldErrorf("source.aws_account_id", "%q is not an AWS account ID: give the 12 digits of the account that owns the registry", c.AWSAccountID)
	}
	for i, arn := range c.RoleARNs() {
		if !strings.HasPrefix(arn, "arn:") {
			field := "source.aws_role_arn"
			if c.AWSRoleARN == "" {
				field = fmt.Sprintf("source.aws_role_arns[%d]", i)
			}
			return fieldErrorf(field, "%q is not a role ARN: write arn:aws:iam::<account>:role/<name>", arn)
		}
	}
	first, _, hasPath := strings.Cut(s.Repository, "/")
	if hasPath && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return fieldErrorf("source.repository", "%q names a registry host, but with source.aws_region the host is derived from the account and region: give the bare ECR repository name, e.g. team/app", s.Repository)
	}
	return nil
}

func (s Source) validateACR() error {
	c := s.CloudCredentials
	switch {
	case s.Username != "" || s.Password != "":
		return fieldErrorf("source.azure_acr", "cannot be used with source.username/password: remove them to authenticate with the managed identity, or remove azure_acr to use them")
	case c.AzureEnvironment != "" && c.AzureEnvironment != AzurePublic && c.AzureEnvironment != AzureGovernment && c.AzureEnvironment != AzureChina:
		return fieldErrorf("source.azure_environment", "%q is not an Azure cloud: use AzurePublic, AzureGovernment or AzureChina, or remove it to detect the cloud from the registry host", c.AzureEnvironment)
	}
	if repo, _ := s.ParseRepository(); repo.RegistryStr() == "index.docker.io" {
		return fieldErrorf("source.repository", "%q names no registry host, but azure_acr needs one: write <registry>.azurecr.io/<name>", s.Repository)
	}
	return nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
