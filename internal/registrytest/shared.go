package registrytest

import "fmt"

// Shared are the real registries a suite starts once and its specs share,
// each spec in a repository of its own: the CNCF registry over plain HTTP,
// and over TLS with basic auth.
type Shared struct {
	Plain, TLS *Registry
}

// StartShared starts both, the TLS one with user and pass.
func StartShared(user, pass string) (*Shared, error) {
	plain, err := StartDistribution()
	if err != nil {
		return nil, fmt.Errorf("start the plain registry: %w", err)
	}
	tls, err := StartDistribution(WithTLS(), WithBasicAuth(user, pass))
	if err != nil {
		plain.Close()
		return nil, fmt.Errorf("start the TLS registry: %w", err)
	}
	return &Shared{Plain: plain, TLS: tls}, nil
}

// Close stops both.
func (s *Shared) Close() {
	s.Plain.Close()
	s.TLS.Close()
}

// Flavour is a registry a spec can run against.
type Flavour struct {
	Name string
	// Start returns the registry; an in-process one is new, and closed
	// through the cleanup given to Flavours when the spec ends.
	Start func() *Registry
}

// Flavours are an in-process registry of the spec's own and the two shared
// ones. *shared is read only when a spec starts, so a suite can build the
// list before it starts the shared registries; cleanup registers what to
// run when the spec ends (Ginkgo's DeferCleanup).
func Flavours(shared **Shared, cleanup func(func())) []Flavour {
	return []Flavour{
		{"in-process", func() *Registry {
			r := NewInProcess()
			cleanup(r.Close)
			return r
		}},
		{"distribution", func() *Registry { return (*shared).Plain }},
		{"distribution with TLS and basic auth", func() *Registry { return (*shared).TLS }},
	}
}
