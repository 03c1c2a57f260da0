package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/refimage/refimage/resource"
)

// RegistryError is a registry failure explained: what was being done, the
// registry's answer, and what the pipeline author can do about it.
type RegistryError struct {
	Op     string // "list tags of 127.0.0.1:5000/app"
	Status int    // HTTP status, 0 when no answer came
	Hint   string // what to do
	Err    error
}

func (e *RegistryError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Op, e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return RedactURLs(msg)
}

func (e *RegistryError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a registry's 404 for a manifest, tag or
// repository: an answer, not a failure, for check.
func IsNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// Explain wraps err, a failure of op against repo, with a hint chosen from
// the registry's status code or the network error.
func Explain(op string, repo name.Repository, err error) error {
	if err == nil {
		return nil
	}
	var already *RegistryError
	if errors.As(err, &already) {
		return err
	}
	e := &RegistryError{Op: op, Err: Redact(err)}
	host := repo.RegistryStr()
	var terr *transport.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var authorityErr x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	switch {
	// A loopback or private registry is pinged over https and http at once:
	// the certificate failure is the one worth reporting.
	case errors.As(err, &certErr), errors.As(err, &authorityErr), errors.As(err, &hostnameErr),
		strings.Contains(err.Error(), "x509:"):
		e.Hint = "the registry's TLS certificate is not trusted: add its CA to source.ca_certs, or set insecure: true for a plain-HTTP registry"
	case errors.As(err, &terr):
		e.Status = terr.StatusCode
		e.Err = &shownAs{msg: oneLineTransportError(terr), err: err}
		e.Hint = hintForStatus(terr.StatusCode, host, repo.Name())
	case errors.As(err, &dnsErr):
		e.Hint = fmt.Sprintf("check the registry host %q in source.repository", host)
	case errors.As(err, &opErr):
		e.Hint = fmt.Sprintf("cannot reach %s: check the host and port, and that the registry is up", host)
	}
	return e
}

func hintForStatus(status int, host, repo string) string {
	switch status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("%s refused the credentials: check username and password in source", host)
	case http.StatusForbidden:
		return fmt.Sprintf("the credentials have no access to %s: check the account's permissions", repo)
	case http.StatusNotFound:
		return fmt.Sprintf("check that %s exists and the name in source.repository is spelled right", repo)
	case http.StatusTooManyRequests:
		return fmt.Sprintf("%s is rate limiting: retried and gave up; set username/password, a registry_mirror, or check less often", host)
	}
	if status >= 500 {
		return fmt.Sprintf("%s failed on its side: retried and gave up; try again later", host)
	}
	return ""
}

// shownAs is err printed as msg: the chain stays whole for errors.As and
// errors.Is (IsNotFound), while the message stays one line.
type shownAs struct {
	msg string
	err error
}

func (e *shownAs) Error() string { return e.msg }
func (e *shownAs) Unwrap() error { return e.err }

// oneLineTransportError keeps the status and the registry's error codes and
// drops the request URL's query, where tokens may live.
func oneLineTransportError(terr *transport.Error) string {
	var parts []string
	for _, d := range terr.Errors {
		s := string(d.Code)
		if d.Message != "" {
			s += ": " + d.Message
		}
		parts = append(parts, s)
	}
	msg := fmt.Sprintf("%d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	if len(parts) > 0 {
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	if terr.Request != nil {
		msg = fmt.Sprintf("%s %s: %s", terr.Request.Method, terr.Request.URL.Path, msg)
	}
	return msg
}

// fieldErrorf is a resource.FieldError: a request field that is wrong.
func fieldErrorf(field, format string, args ...any) error {
	return &resource.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
