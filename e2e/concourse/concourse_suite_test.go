//go:build concourse

package concourse_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/registrytest"
)

// The suite runs stock Concourse (Postgres, web, a worker with the
// containerd runtime) with refimage's `make base-type` bundle as the
// worker's registry-image, and pipelines through fly: make concourse-e2e,
// as root. See README.md, "Development".
func TestConcourse(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Concourse Suite")
}

var (
	cc *concourse
	// reg is the registry the containers reach, on the bridge's gateway.
	reg *registrytest.Registry
	// locked answers 401 to any other credentials than its own.
	locked *registrytest.Registry
	// refimageCLI is the refimage binary, for `refimage explain`.
	refimageCLI string
	// tools is the task image every task without another image runs in.
	tools string
)

var _ = BeforeSuite(func() {
	Expect(os.Geteuid()).To(Equal(0), "the suite starts Postgres, Concourse and containerd and makes a bridge: run it as root")
	s := settingsFromEnv()
	stopAll(s) // a stale run's processes, mounts, rules and bridge
	// Also after ^C: Ginkgo then gives cleanup its grace period, which
	// must cover stopping the worker, web and Postgres in order.
	DeferCleanup(func(SpecContext) { stopAll(s) }, GracePeriod(3*time.Minute))
	Expect(requireHost(s)).To(Succeed())

	var err error
	refimageCLI, err = gexec.Build("github.com/refimage/refimage/cmd/refimage")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	cc = start(s)
	reg, err = registrytest.StartDistribution(registrytest.WithListenIP(gateway))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(reg.Close)
	locked, err = registrytest.StartDistribution(registrytest.WithListenIP(gateway),
		registrytest.WithBasicAuth("robot", "e2e-right-s3cret"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(locked.Close)

	buildTaskTool(filepath.Join(s.state, "tasktool"))
	tools = reg.Repo("e2e/tools")
	pushTaskImage(tools+":latest", "tools")
})
