package hook_test

import (
	"context"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

// openDescriptors counts this process's open file descriptors.
func openDescriptors() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		Skip("no /proc/self/fd on this system: " + err.Error())
	}
	return len(entries)
}

// A runtime keeps one Hook for its lifetime and asks it thousands of
// times: each decision must not open (and leave idle for 90 s) a
// connection of its own.
var _ = Describe("a Hook's connections", func() {
	It("are shared: 200 resolves in one process reuse a few connections and keep open descriptors under a small constant", func() {
		// TLS, as registries are: over plain HTTP, go-containerregistry
		// tries https first on every connect, which no pool can reuse.
		target := registrytest.NewInProcess(registrytest.WithTLS())
		DeferCleanup(target.Close)
		reg := &testRegistry{Proxy: registrytest.NewProxy(target)}
		DeferCleanup(reg.Close)
		images := map[string]v1.Hash{"team/a": reg.push("team/a", "1", nil), "team/b": reg.push("team/b", "1", nil)}
		// A proven-digest cache of one entry, and two images taken in
		// turn: every resolve proves its digest with a request.
		h := mustNew(hook.WithCacheSize(1))
		ctx := context.Background()
		resolve := func(repo string) {
			v := resource.Version{Tag: "1", Digest: images[repo].String()}
			d, err := h.Decide(ctx, baseGet(reg.Source(reg.Repo(repo)), nil, v))
			Expect(err).NotTo(HaveOccurred())
			_, err = h.Resolve(ctx, d)
			Expect(err).NotTo(HaveOccurred())
		}
		resolve("team/a")
		resolve("team/b")
		before, connsBefore := openDescriptors(), reg.Connections()
		for i := range 200 {
			resolve([]string{"team/a", "team/b"}[i%2])
		}
		Expect(reg.Counts().ManifestHEAD).To(BeNumerically(">=", 200), "every resolve asked the registry")
		Expect(reg.Connections()-connsBefore).To(BeNumerically("<=", 2), "connections opened by 200 resolves")
		Expect(openDescriptors()-before).To(BeNumerically("<", 10), "descriptors opened and left open by 200 resolves")
	})
})
