package registrytest

// Option configures a registry started by NewInProcess or StartDistribution.
type Option func(*options)

type options struct {
	tls      bool
	username string
	password string
	ip       string
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost,
// signed by a CA generated for this registry alone (see Registry.CACertPEM).
func WithTLS() Option {
	return func(o *options) { o.tls = true }
}

// WithBasicAuth requires HTTP basic authentication with these credentials on
// every request, /v2/ included, as a registry behind htpasswd does.
func WithBasicAuth(user, pass string) Option {
	return func(o *options) {
		o.username = user
		o.password = pass
	}
}

// WithListenIP makes a StartDistribution registry listen on ip (an address
// of this host, such as a container bridge's gateway) instead of 127.0.0.1,
// for clients in containers that cannot reach the host's loopback.
func WithListenIP(ip string) Option {
	return func(o *options) { o.ip = ip }
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
