package registry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// scriptedRegistry answers /v2/ with 200 and manifest HEADs from a script of
// statuses, recording the waits the client asked for.
type scriptedRegistry struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	heads    int
	server   *httptest.Server
}

func newScriptedRegistry(header http.Header, statuses ...int) *scriptedRegistry {
	s := &scriptedRegistry{statuses: statuses, header: header}
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		status := http.StatusOK
		if s.heads < len(s.statuses) {
			status = s.statuses[s.heads]
		}
		s.heads++
		for k, v := range s.header {
			w.Header()[k] = v
		}
		if status == http.StatusOK {
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Content-Length", "2")
		}
		w.WriteHeader(status)
	}))
	return s
}

func (s *scriptedRegistry) host() string { return strings.TrimPrefix(s.server.URL, "http://") }

var _ = Describe("Client", func() {
	var (
		waits []time.Duration
		fast  registry.RetryPolicy
	)
	BeforeEach(func() {
		waits = nil
		fast = registry.RetryPolicy{Attempts: 3, Initial: 10 * time.Millisecond, MaxWait: 5 * time.Second,
			Sleep: func(d time.Duration) { waits = append(waits, d) }}
	})

	digestOf := func(reg *scriptedRegistry) (bool, error) {
		src := resource.Source{Repository: reg.host() + "/app", Insecure: true}
		client, err := registry.NewClient(context.Background(), src, registry.WithRetryPolicy(fast))
		Expect(err).NotTo(HaveOccurred())
		_, found, err := client.Digest(client.Repository.Tag("1"))
		return found, registry.Explain("look up app:1", client.Repository, err)
	}

	It("retries a 429, waiting as long as Retry-After asks", func() {
		reg := newScriptedRegistry(http.Header{"Retry-After": {"2"}}, 429, 429)
		defer reg.server.Close()
		found, err := digestOf(reg)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(reg.heads).To(Equal(3))
		Expect(waits).To(HaveLen(2))
		for _, w := range waits {
			Expect(w).To(BeNumerically(">=", 2*time.Second))
		}
	})

	It("gives up after the bounded number of attempts and says what to do", func() {
		reg := newScriptedRegistry(nil, 503, 503, 503, 503, 503)
		defer reg.server.Close()
		_, err := digestOf(reg)
		Expect(reg.heads).To(Equal(3), "HEAD only: a 503 is not worth a GET")
		Expect(err).To(MatchError(ContainSubstring("failed on its side")))
		var rerr *registry.RegistryError
		Expect(err).To(BeAssignableToTypeOf(rerr))
	})

	It("does not wait when Retry-After asks for more than MaxWait", func() {
		reg := newScriptedRegistry(http.Header{"Retry-After": {"3600"}}, 429, 429, 429)
		defer reg.server.Close()
		_, err := digestOf(reg)
		Expect(err).To(MatchError(ContainSubstring("rate limiting")))
		Expect(waits).To(BeEmpty())
		Expect(reg.heads).To(Equal(1))
	})

	It("answers not found for a 404", func() {
		reg := newScriptedRegistry(nil, 404)
		defer reg.server.Close()
		found, err := digestOf(reg)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeFalse())
	})

	DescribeTable("Explain gives a hint for each status",
		func(status int, hint string) {
			reg := newScriptedRegistry(nil, status, status, status, status)
			defer reg.server.Close()
			src := resource.Source{Repository: reg.host() + "/app", Insecure: true}
			client, err := registry.NewClient(context.Background(), src, registry.WithRetryPolicy(fast))
			Expect(err).NotTo(HaveOccurred())
			_, _, err = client.Digest(client.Repository.Tag("1"))
			err = registry.Explain("look up app:1", client.Repository, err)
			Expect(err).To(MatchError(ContainSubstring(hint)))
			Expect(err.Error()).NotTo(ContainSubstring("\n"))
		},
		Entry("401", 401, "refused the credentials"),
		Entry("403", 403, "no access"),
		Entry("429", 429, "rate limiting"),
		Entry("500", 500, "failed on its side"),
	)

	It("fails fast, naming the host, when nothing listens", func() {
		src := resource.Source{Repository: "127.0.0.1:1/app", Insecure: true}
		_, err := registry.NewClient(context.Background(), src, registry.WithRetryPolicy(fast))
		Expect(err).To(MatchError(ContainSubstring("cannot reach 127.0.0.1:1")))
		Expect(waits).To(BeEmpty())
	})

	It("never changes the process-wide default transport", func() {
		before := http.DefaultTransport.(*http.Transport).TLSClientConfig
		_, _ = registry.NewClient(context.Background(), resource.Source{Repository: "127.0.0.1:1/app", CACerts: []string{testCA}})
		Expect(http.DefaultTransport.(*http.Transport).TLSClientConfig).To(BeIdenticalTo(before))
	})
})
