package registrytest_test

import (
	"net"
	"net/http"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/registrytest"
)

var _ = Describe("StartDistribution", func() {
	It("runs the binary cached under .cache/bin", func() {
		bin, err := registrytest.DistributionBinary()
		Expect(err).NotTo(HaveOccurred())
		Expect(filepath.Base(bin)).To(Equal("registry-" + registrytest.DistributionVersion))
		Expect(filepath.Base(filepath.Dir(bin))).To(Equal("bin"))
		Expect(bin).To(BeARegularFile())
	})

	It("runs the version tools/distribution/go.mod pins", func() {
		gomod, err := os.ReadFile(filepath.Join("..", "..", "tools", "distribution", "go.mod"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(gomod)).To(ContainSubstring(
			"github.com/distribution/distribution/v3 " + registrytest.DistributionVersion))
	})

	It("keeps its storage, config and log in Dir, and Close removes them and stops it", func() {
		reg, err := registrytest.StartDistribution(registrytest.WithTLS())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(reg.Close)
		pushRandom(reg, "team/app")

		Expect(filepath.Join(reg.Dir, "config.yml")).To(BeARegularFile())
		Expect(filepath.Join(reg.Dir, "data", "docker", "registry", "v2", "repositories", "team", "app")).To(BeADirectory())
		// The socket it was handed is the one it serves on.
		Expect(reg.Log()).To(ContainSubstring("systemd socket activation"))

		reg.Close()
		Expect(reg.Dir).NotTo(BeAnExistingFile())
		_, err = net.Dial("tcp", reg.Host)
		Expect(err).To(HaveOccurred())
	})

	It("listens on the address WithListenIP names", func() {
		// 127.0.0.2 is a loopback address of its own on Linux: a registry
		// still on 127.0.0.1 would refuse the push.
		reg, err := registrytest.StartDistribution(registrytest.WithListenIP("127.0.0.2"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(reg.Close)
		host, _, err := net.SplitHostPort(reg.Host)
		Expect(err).NotTo(HaveOccurred())
		Expect(host).To(Equal("127.0.0.2"))
		resp, err := http.Get(reg.URL() + "/v2/")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
	})

	It("refuses a user name that htpasswd cannot hold", func() {
		_, err := registrytest.StartDistribution(registrytest.WithBasicAuth("a:b", "pass"))
		Expect(err).To(MatchError(ContainSubstring("colon")))
	})
})
