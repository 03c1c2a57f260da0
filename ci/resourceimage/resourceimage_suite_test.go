package resourceimage_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/ci/resourceimage"
	"github.com/refimage/refimage/internal/registrytest"
)

func TestResourceImage(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ci/resourceimage")
}

// The build under test: fixed metadata, so that the expectations below are
// literal.
const (
	version  = "v9.8.7-test"
	revision = "0123456789abcdef0123456789abcdef01234567"
	epoch    = 1767225600 // 2026-01-01T00:00:00Z
	repoName = "refimage/resource"
)

var created = time.Unix(epoch, 0).UTC()

// build is one run of the imagebuild program.
type build struct {
	layout, baseType, bin string
	stdout                string
}

var (
	moduleDir  string
	imagebuild string
	registry   *registrytest.Registry
	// first pushed and wrote the base type; second built the same commit
	// again from scratch (fresh binaries) and pushed under another tag.
	first, second build
)

var _ = BeforeSuite(func() {
	var err error
	moduleDir, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())

	// On the shipped set, as make image runs it: the CA roots it writes
	// are the ones linked into it.
	imagebuild, err = gexec.Build("github.com/refimage/refimage/ci/imagebuild", "-modfile="+filepath.Join(moduleDir, resourceimage.ShipModFile))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	registry, err = registrytest.StartDistribution(registrytest.WithTLS(), registrytest.WithBasicAuth("ci", "pushpass"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(registry.Close)

	// The program trusts and authenticates as any Go program with a Docker
	// config does: SSL_CERT_FILE and DOCKER_CONFIG.
	creds := GinkgoT().TempDir()
	caFile := filepath.Join(creds, "ca.pem")
	Expect(os.WriteFile(caFile, registry.CACertPEM, 0o600)).To(Succeed())
	auth := base64.StdEncoding.EncodeToString([]byte(registry.Username + ":" + registry.Password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{registry.Host: map[string]string{"auth": auth}}})
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(creds, "config.json"), cfg, 0o600)).To(Succeed())
	env := append(os.Environ(), "SSL_CERT_FILE="+caFile, "DOCKER_CONFIG="+creds, "SOURCE_DATE_EPOCH=1767225600", "REGISTRY="+registry.Repo(repoName))

	first = runBuild(env, "-base-type", "BT")
	second = runBuild(env, "-tags", "again,latest")
})

// runBuild runs imagebuild once into fresh directories; "BT" among extra
// is replaced by a base-type directory.
func runBuild(env []string, extra ...string) build {
	dir := GinkgoT().TempDir()
	b := build{layout: filepath.Join(dir, "layout"), bin: filepath.Join(dir, "bin")}
	for i, a := range extra {
		if a == "BT" {
			b.baseType = filepath.Join(dir, "base-type")
			extra[i] = b.baseType
		}
	}
	args := append([]string{"-C", moduleDir, "-layout", b.layout, "-bin", b.bin, "-version", version, "-revision", revision}, extra...)
	cmd := exec.Command(imagebuild, args...)
	cmd.Env = env
	cmd.Stderr = GinkgoWriter
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "imagebuild %v", args)
	b.stdout = string(out)
	Expect(b.stdout).To(ContainSubstring("index sha256:"))
	return b
}
