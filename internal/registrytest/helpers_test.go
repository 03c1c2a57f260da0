package registrytest_test

import (
	"context"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/internal/registrytest"
)

// starter starts one flavour of registry for a spec and stops it after.
type starter func() *registrytest.Registry

func inProcess(opts ...registrytest.Option) starter {
	return func() *registrytest.Registry {
		r := registrytest.NewInProcess(opts...)
		DeferCleanup(r.Close)
		return r
	}
}

func distribution(opts ...registrytest.Option) starter {
	return func() *registrytest.Registry {
		r, err := registrytest.StartDistribution(opts...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(r.Close)
		return r
	}
}

var (
	tlsAuth = []registrytest.Option{registrytest.WithTLS(), registrytest.WithBasicAuth("alice", "s3cret")}
	auth    = []registrytest.Option{registrytest.WithBasicAuth("bob", "hunter2")}
)

// pushRandom pushes a random two-layer image to repo:tag on r and returns it.
func pushRandom(r *registrytest.Registry, repo string) (name.Reference, v1.Image) {
	img, err := random.Image(4096, 2)
	Expect(err).NotTo(HaveOccurred())
	ref, err := name.ParseReference(r.Repo(repo + ":v1"))
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(ref, img, r.RemoteOptions()...)).To(Succeed())
	return ref, img
}

// do makes one request to r with r's transport and credentials, and returns
// the response with its body read in full (or as far as it went).
func do(ctx context.Context, r *registrytest.Registry, method, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.URL()+path, nil)
	Expect(err).NotTo(HaveOccurred())
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	client := &http.Client{Transport: r.Transport()}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustDo is do for requests that must complete.
func mustDo(r *registrytest.Registry, method, path string) (*http.Response, []byte) {
	resp, body, err := do(context.Background(), r, method, path)
	Expect(err).NotTo(HaveOccurred())
	return resp, body
}

// retarget names ref's repository and tag on another registry.
func retarget(ref name.Reference, r *registrytest.Registry) (name.Reference, error) {
	return name.ParseReference(r.Repo(ref.Context().RepositoryStr() + ":" + ref.Identifier()))
}

// blobRef turns the API path of a blob, /v2/<repo>/blobs/<digest>, into a
// digest reference on r.
func blobRef(r *registrytest.Registry, path string) (name.Digest, error) {
	repo, digest, _ := strings.Cut(strings.TrimPrefix(path, "/v2/"), "/blobs/")
	return name.NewDigest(r.Repo(repo) + "@" + digest)
}
