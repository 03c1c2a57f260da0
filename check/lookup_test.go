package check_test

import (
	"context"
	"io"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("check's digest lookups", func() {
	It("start no lookup once one has failed", func() {
		proxy, _ := proxied("check/stop", imagetest.TagSet{"1.0.0": "a", "1.1.0": "b", "1.2.0": "c", "1.3.0": "d"})
		proxy.Fail(registrytest.Fault{Method: "HEAD", PathContains: "/manifests/1.1.0", Status: http.StatusForbidden})
		_, err := check.Run(context.Background(), resource.CheckRequest{Source: resource.Source{Repository: proxy.Repo("check/stop"), Insecure: true}},
			check.WithConcurrency(1), check.WithLogger(cli.NewLogger(io.Discard)))
		Expect(err).To(MatchError(ContainSubstring("look up " + proxy.Repo("check/stop") + ":1.1.0")))
		Expect(proxy.Counts().ManifestHEAD).To(Equal(2), "1.0.0, then 1.1.0, which fails; 1.2.0 and 1.3.0 never")
	})
})
