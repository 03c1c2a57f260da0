package registrytest

import (
	"maps"
	"net/http"
	"strings"
)

// RequestCounts is what a Proxy has seen since it started or was last Reset.
// Every request is counted once by method and once by kind, whether it was
// forwarded or answered by a fault.
type RequestCounts struct {
	Total    int
	ByMethod map[string]int

	Ping         int // GET or HEAD /v2/
	ManifestHEAD int // HEAD /v2/<name>/manifests/<ref>
	ManifestGET  int // GET /v2/<name>/manifests/<ref>
	ManifestPUT  int // PUT /v2/<name>/manifests/<ref>
	BlobHEAD     int // HEAD /v2/<name>/blobs/<digest>
	BlobGET      int // GET /v2/<name>/blobs/<digest>
	BlobUpload   int // any request under /v2/<name>/blobs/uploads/
	TagsList     int // GET /v2/<name>/tags/list
	Other        int // everything else: catalog, referrers, deletes, ...

	// Delayed counts requests held for the proxy's delay (all of them when
	// WithDelay is set, none otherwise).
	Delayed int
	// Forwarded counts requests passed on to the target; a request answered
	// by a status fault, or abandoned by its client during the delay, is not.
	Forwarded int
	// Faults counts requests that a Fault applied to.
	Faults int

	// RangeRequests counts forwarded blob GETs that carried a Range header
	// (whether or not the proxy passed it on, see WithoutRange).
	RangeRequests int
}

// Sent is what a Proxy sent its clients since it started or was last
// Reset: the body bytes of forwarded answers, and those of blob GETs among
// them (what a download cost on the wire).
type Sent struct {
	Body, Blob int64
}

// Kind names a class of registry request, as RequestCounts counts them.
type Kind int

// The kinds of request a Proxy tells apart.
const (
	KindOther Kind = iota
	KindPing
	KindManifestHEAD
	KindManifestGET
	KindManifestPUT
	KindBlobHEAD
	KindBlobGET
	KindBlobUpload
	KindTagsList
)

// Classify tells which kind of registry API call r is, from its method and
// path alone.
func Classify(r *http.Request) Kind {
	return classify(r.Method, r.URL.Path)
}

func classify(method, path string) Kind {
	if path == "/v2/" || path == "/v2" {
		if method == http.MethodGet || method == http.MethodHead {
			return KindPing
		}
		return KindOther
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return KindOther
	}
	// A repository name may itself contain "manifests" or "blobs" as a
	// component, so the last occurrence is the one that counts.
	if i := strings.LastIndex(rest, "/blobs/uploads"); i > 0 {
		return KindBlobUpload
	}
	if strings.HasSuffix(rest, "/tags/list") && method == http.MethodGet {
		return KindTagsList
	}
	if i := strings.LastIndex(rest, "/manifests/"); i > 0 && !strings.Contains(rest[i+len("/manifests/"):], "/") {
		switch method {
		case http.MethodHead:
			return KindManifestHEAD
		case http.MethodGet:
			return KindManifestGET
		case http.MethodPut:
			return KindManifestPUT
		}
		return KindOther
	}
	if i := strings.LastIndex(rest, "/blobs/"); i > 0 && !strings.Contains(rest[i+len("/blobs/"):], "/") {
		switch method {
		case http.MethodHead:
			return KindBlobHEAD
		case http.MethodGet:
			return KindBlobGET
		}
	}
	return KindOther
}

func (c *RequestCounts) add(method string, k Kind) {
	c.Total++
	if c.ByMethod == nil {
		c.ByMethod = map[string]int{}
	}
	c.ByMethod[method]++
	switch k {
	case KindPing:
		c.Ping++
	case KindManifestHEAD:
		c.ManifestHEAD++
	case KindManifestGET:
		c.ManifestGET++
	case KindManifestPUT:
		c.ManifestPUT++
	case KindBlobHEAD:
		c.BlobHEAD++
	case KindBlobGET:
		c.BlobGET++
	case KindBlobUpload:
		c.BlobUpload++
	case KindTagsList:
		c.TagsList++
	default:
		c.Other++
	}
}

// clone copies c so that callers never share the proxy's map.
func (c RequestCounts) clone() RequestCounts {
	c.ByMethod = maps.Clone(c.ByMethod)
	if c.ByMethod == nil {
		c.ByMethod = map[string]int{}
	}
	return c
}
