package check_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// hostRouter sends requests for some hosts to local registries, so that
// Docker Hub can be played by a loopback registry without any network.
type hostRouter map[string]*registrytest.Registry

func (h hostRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	target, ok := h[req.URL.Host]
	if !ok {
		return nil, fmt.Errorf("no route to %s in this test", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = "http", target.Host, target.Host
	return http.DefaultTransport.RoundTrip(out)
}

var _ = Describe("check with a registry_mirror", func() {
	var (
		mirror, hub *registrytest.Registry
		log         *gbytes.Buffer
	)
	BeforeEach(func() {
		mirror, hub = registrytest.NewInProcess(), registrytest.NewInProcess()
		DeferCleanup(mirror.Close)
		DeferCleanup(hub.Close)
		log = gbytes.NewBuffer()
	})

	runWith := func(src resource.Source) (resource.CheckResponse, error) {
		router := hostRouter{"index.docker.io": hub, "mirror.example": mirror}
		return check.Run(context.Background(), resource.CheckRequest{Source: src},
			check.WithLogger(cli.NewLogger(log)), check.WithClientOptions(registry.WithTransport(router)))
	}
	source := resource.Source{Repository: "busybox", RegistryMirror: &resource.RegistryMirror{Host: "mirror.example"}}

	It("asks the mirror first, with library/ for official images", func() {
		fromMirror := pushTags(mirror, mirror.Repo("library/busybox"), imagetest.TagSet{"1.0.0": "m"})
		pushTags(hub, hub.Repo("library/busybox"), imagetest.TagSet{"1.0.0": "h"})
		versions, err := runWith(source)
		Expect(err).NotTo(HaveOccurred())
		Expect(versions).To(Equal(resource.CheckResponse(versionsOf(fromMirror, "1.0.0"))))
		Expect(log.Contents()).To(BeEmpty())
	})

	It("warns once and uses the origin when the mirror has nothing", func() {
		fromHub := pushTags(hub, hub.Repo("library/busybox"), imagetest.TagSet{"1.0.0": "h"})
		versions, err := runWith(source)
		Expect(err).NotTo(HaveOccurred())
		Expect(versions).To(Equal(resource.CheckResponse(versionsOf(fromHub, "1.0.0"))))
		Expect(strings.Count(string(log.Contents()), "warning:")).To(Equal(1))
		Expect(string(log.Contents())).To(ContainSubstring("mirror.example/library/busybox"))
	})

	It("warns once and uses the origin when the mirror fails", func() {
		mirror.Close()
		fromHub := pushTags(hub, hub.Repo("library/busybox"), imagetest.TagSet{"1.0.0": "h"})
		versions, err := runWith(source)
		Expect(err).NotTo(HaveOccurred())
		Expect(versions).To(Equal(resource.CheckResponse(versionsOf(fromHub, "1.0.0"))))
		Expect(string(log.Contents())).To(ContainSubstring("failed, using the origin"))
	})

	It("leaves repositories on other registries alone", func() {
		other := registrytest.NewInProcess()
		DeferCleanup(other.Close)
		digests := pushTags(other, other.Repo("app"), imagetest.TagSet{"1.0.0": "o"})
		versions, err := check.Run(context.Background(), resource.CheckRequest{Source: resource.Source{
			Repository: other.Repo("app"), Insecure: true, RegistryMirror: &resource.RegistryMirror{Host: "mirror.example"}}})
		Expect(err).NotTo(HaveOccurred())
		Expect(versions).To(Equal(resource.CheckResponse(versionsOf(digests, "1.0.0"))))
	})
})
