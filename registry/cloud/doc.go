// Package cloud resolves Amazon ECR and Azure ACR sources to a registry
// endpoint and a short-lived token, through the AWS SDK for Go v2 (ECR
// GetAuthorizationToken, STS AssumeRole) and a managed identity token
// exchanged for an ACR refresh token, as registry-image does.
//
// It is the one package that links the cloud SDKs: registry and resource
// stay free of them, and only what runs a step against a cloud registry (the cmd mains,
// the runtime hook's CLI) imports it, through registry.WithResolver.
package cloud
