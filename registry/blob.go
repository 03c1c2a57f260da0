package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// OpenBlob GETs the repository's blob dgst, of size bytes, from byte
// offset on: with a Range request when offset is past zero (a closed range,
// which every registry that supports ranges understands; one that answers
// 416 is asked again for the whole blob). It returns the body and the
// offset that body starts at: offset when the registry answered 206, zero
// when it answered 200 (it ignores Range, so the blob starts over). The
// body is not verified; the caller checks the digest over the whole blob.
func (c *Client) OpenBlob(ctx context.Context, dgst v1.Hash, size, offset int64) (io.ReadCloser, int64, error) {
	u := url.URL{
		Scheme: c.Repository.Registry.Scheme(),
		Host:   c.Repository.RegistryStr(),
		Path:   fmt.Sprintf("/v2/%s/blobs/%s", c.Repository.RepositoryStr(), dgst),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("request blob %s: %w", dgst, err)
	}
	if offset > 0 && offset < size {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, size-1))
	}
	// The client follows a redirect to blob storage, Range included.
	resp, err := (&http.Client{Transport: c.rt}).Do(req)
	if err != nil {
		// *url.Error carries the redirect's URL, signature included.
		return nil, 0, Redact(err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, 0, nil
	case http.StatusPartialContent:
		start, ok := rangeStart(resp.Header.Get("Content-Range"))
		if ok && start == offset {
			return resp.Body, offset, nil
		}
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET blob %s from byte %d: the registry answered %q", dgst, offset, resp.Header.Get("Content-Range"))
	case http.StatusRequestedRangeNotSatisfiable:
		if req.Header.Get("Range") != "" {
			drain(resp)
			return c.OpenBlob(ctx, dgst, size, 0)
		}
	}
	defer resp.Body.Close()
	return nil, 0, transport.CheckError(resp, http.StatusOK, http.StatusPartialContent)
}

// rangeStart reads N of a Content-Range "bytes N-M/T".
func rangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}
