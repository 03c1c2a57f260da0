package registrytest_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/registrytest"
)

func TestRegistrytest(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Registrytest Suite")
}

// The registry binary is built (or found in the cache) once, on the first
// Ginkgo process, before any spec needs it; the rest find it cached.
var _ = SynchronizedBeforeSuite(func() {
	_, err := registrytest.DistributionBinary()
	Expect(err).NotTo(HaveOccurred())
}, func() {})
