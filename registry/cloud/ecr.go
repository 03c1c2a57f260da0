package cloud

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// ecrUser is the user name every ECR token goes with.
const ecrUser = "AWS"

// ecr gets an ECR token with the source's keys, or the default credential
// chain, through the roles to assume, in order.
func (r *Resolver) ecr(ctx context.Context, src resource.Source) (registry.Endpoint, error) {
	if src.AWSECRRegistryID != "" {
		r.o.warn("source.aws_ecr_registry_id is ignored: the registry follows from the credentials, or from aws_account_id for another account's registry; remove it")
	}
	// The SDK keeps its own HTTP client, not base: AWS endpoints are not
	// the registry, and its client honours AWS_CA_BUNDLE and proxies.
	load := []func(*config.LoadOptions) error{config.WithRegion(src.AWSRegion)}
	if src.AWSAccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(src.AWSAccessKeyID, src.AWSSecretAccessKey, src.AWSSessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(load, r.o.awsLoad...)...)
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	for _, arn := range src.RoleARNs() {
		creds, err := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), arn).Retrieve(ctx)
		if err != nil {
			return registry.Endpoint{}, fmt.Errorf("assume AWS role %s: %w", arn, explainAWS(err))
		}
		r.o.secrets(creds.SecretAccessKey, creds.SessionToken)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	}

	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("get an ECR token in %s: %w", src.AWSRegion, explainAWS(err))
	}
	if len(out.AuthorizationData) == 0 {
		return registry.Endpoint{}, fmt.Errorf("get an ECR token in %s: the answer holds no authorization data", src.AWSRegion)
	}
	data := out.AuthorizationData[0]
	password, err := ecrPassword(aws.ToString(data.AuthorizationToken))
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("read the ECR token: %w", err)
	}
	r.o.secrets(aws.ToString(data.AuthorizationToken), password)

	host := ecrHost(src.AWSAccountID, src.AWSRegion, aws.ToString(data.ProxyEndpoint))
	if host == "" {
		return registry.Endpoint{}, fmt.Errorf("get an ECR token in %s: the answer names no registry; set source.aws_account_id to the account that owns the registry", src.AWSRegion)
	}
	var nameOpts []name.Option
	if src.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := resource.NewRepository(host+"/"+src.Repository, nameOpts...)
	if err != nil {
		return registry.Endpoint{}, fmt.Errorf("parse ECR repository %s/%s: %w", host, src.Repository, err)
	}
	return registry.Endpoint{
		Repository: repo,
		Auth:       &authn.Basic{Username: ecrUser, Password: password},
		Expires:    aws.ToTime(data.ExpiresAt),
	}, nil
}

// ecrPassword decodes a token, base64 of "AWS:<password>".
func ecrPassword(token string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", errors.New("the token is not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok || user != ecrUser || password == "" {
		return "", errors.New("the token is not AWS:<password>")
	}
	return strings.TrimSpace(password), nil
}

// ecrHost is the registry of accountID in region, else the one the token
// was issued for.
func ecrHost(accountID, region, proxyEndpoint string) string {
	if accountID == "" {
		host := strings.TrimPrefix(strings.TrimPrefix(proxyEndpoint, "https://"), "http://")
		return strings.TrimSuffix(host, "/")
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s", accountID, region, domain)
}
