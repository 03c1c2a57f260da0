package registry

import (
	"regexp"
	"strings"
)

// urlPattern matches an absolute URL as messages print it: Go's *url.Error
// quotes it ("Get \"https://…\": EOF"), ggcr's transport.Error does not.
var urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

// RedactURLs returns s with every absolute URL in it reduced to scheme,
// host and path: no userinfo, no query, no fragment. A registry's redirect
// to blob storage carries a signature and a credential in its query (S3,
// R2, CloudFront, ECR's presigned URLs), an upload's Location a signed
// _state, and Go's *url.Error prints the URL whole; build logs are read by
// the whole team, and by anyone on a public pipeline.
func RedactURLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlPattern.ReplaceAllStringFunc(s, redactURL)
}

func redactURL(raw string) string {
	// Punctuation that ends a sentence or a "URL: cause" is not the URL's.
	trimmed := strings.TrimRight(raw, ":,.;)]")
	return redactTrimmed(trimmed) + raw[len(trimmed):]
}

func redactTrimmed(raw string) string {
	scheme, rest, _ := strings.Cut(raw, "://")
	// The query and fragment go first: a '@' or '/' in them is theirs.
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	if path != "" || strings.Contains(rest, "/") {
		return scheme + "://" + authority + "/" + path
	}
	return scheme + "://" + authority
}

// Redact returns err with every URL in its message reduced to scheme, host
// and path (see RedactURLs); errors.Is and errors.As still see the chain.
// Every error that leaves this package through Explain or OpenBlob is
// redacted; callers redact what they get from go-containerregistry
// directly before it reaches a log.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := RedactURLs(msg); red != msg {
		return &shownAs{msg: red, err: err}
	}
	return err
}
