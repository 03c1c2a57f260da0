package registry_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/registry"
)

var _ = Describe("Explain", func() {
	var server *httptest.Server
	BeforeEach(func() {
		server = httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		DeferCleanup(server.Close)
	})

	fetchMissing := func() (name.Repository, error) {
		ref, err := name.ParseReference(strings.TrimPrefix(server.URL, "http://") + "/app:missing")
		Expect(err).NotTo(HaveOccurred())
		_, err = remote.Get(ref)
		Expect(err).To(HaveOccurred())
		return ref.Context(), registry.Explain("fetch app:missing", ref.Context(), err)
	}

	It("keeps the registry's 404 in the chain, for errors.As and IsNotFound", func() {
		repo, err := fetchMissing()
		var terr *transport.Error
		Expect(errors.As(err, &terr)).To(BeTrue(), "%v", err)
		Expect(terr.StatusCode).To(Equal(http.StatusNotFound))
		Expect(registry.IsNotFound(err)).To(BeTrue())
		var rerr *registry.RegistryError
		Expect(errors.As(err, &rerr)).To(BeTrue())
		Expect(rerr.Status).To(Equal(http.StatusNotFound))
		Expect(err.Error()).To(HavePrefix("fetch app:missing: GET /v2/app/manifests/missing: 404 Not Found (NAME_UNKNOWN"))
		Expect(err.Error()).To(ContainSubstring("check that " + repo.Name() + " exists"))
		Expect(err.Error()).NotTo(ContainSubstring("\n"))
	})

	It("keeps the cause when the explained error is wrapped again", func() {
		_, err := fetchMissing()
		wrapped := registry.Explain("fetch again", name.Repository{}, err)
		Expect(wrapped).To(BeIdenticalTo(err), "an explained error is not explained twice")
		Expect(registry.IsNotFound(errors.Join(errors.New("in"), wrapped))).To(BeTrue())
	})

	It("shows a transport error in one line without the request's query, where tokens may live, and keeps it", func() {
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
		}))
		DeferCleanup(failing.Close)
		repo, err := name.NewRepository(strings.TrimPrefix(failing.URL, "http://") + "/app")
		Expect(err).NotTo(HaveOccurred())
		req, err := http.NewRequest(http.MethodGet, failing.URL+"/v2/app/blobs/sha256:a?token=s3cr3t-tok", nil)
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		cause := transport.CheckError(resp, http.StatusOK)

		err = registry.Explain("fetch a blob", repo, cause)
		Expect(err.Error()).NotTo(ContainSubstring("s3cr3t-tok"))
		Expect(err.Error()).To(ContainSubstring("GET /v2/app/blobs/sha256:a: 403 Forbidden"))
		var terr *transport.Error
		Expect(errors.As(err, &terr)).To(BeTrue())
		Expect(terr.StatusCode).To(Equal(http.StatusForbidden))
	})
})
