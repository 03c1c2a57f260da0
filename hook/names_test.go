package hook_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// registry-image reads these names with go-containerregistry v0.21.9 or
// later; the hook pins what it reads, on the library set's v0.21.2 too.
var _ = Describe("repository names, pinned as registry-image reads them", func() {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

	DescribeTable("Resolve with a trusted digest (no request)",
		func(repository, registry, reference string) {
			h := mustNew(hook.TrustPinnedDigests(), hook.WithLabeler(nil))
			v := resource.Version{Tag: "1", Digest: digest}
			d, err := h.Decide(context.Background(), baseGet(map[string]any{"repository": repository}, nil, v))
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue(), d.Reason)
			res, err := h.Resolve(context.Background(), d)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Registry).To(Equal(registry))
			Expect(res.Reference).To(Equal(reference))
			Expect(res.FilesMap()).To(HaveKeyWithValue("repository", repository))
		},
		Entry("localhost with no port is a registry, not Docker Hub's localhost/app", "localhost/app", "localhost", "localhost/app@"+digest),
		Entry("a one-character repository", "registry.example.com/a", "registry.example.com", "registry.example.com/a@"+digest),
	)
})
