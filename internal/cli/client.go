package cli

import (
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/registry/cloud"
)

// ClientOptions are the registry.NewClient options every action passes:
// the resolver for Amazon ECR and Azure ACR, whose tokens are redacted
// from stderr like the source's own credentials, and whose notices go to
// the log.
func (e Env) ClientOptions() []registry.Option {
	redact := e.Redact
	if redact == nil {
		redact = func(...string) {}
	}
	warn := func(string, ...any) {}
	if e.Log != nil {
		warn = e.Log.Warnf
	}
	return []registry.Option{registry.WithResolver(cloud.NewResolver(cloud.WithSecrets(redact), cloud.WithWarnings(warn)))}
}
