package readme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/concoursetest"
)

func TestReadme(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "README and docs")
}

// root is the repository's root folder.
func root() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	Expect(err).NotTo(HaveOccurred())
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// markdown reads a Markdown file of the repository and splits its blocks.
func markdown(rel string) (string, []concoursetest.Block) {
	b, err := os.ReadFile(filepath.Join(root(), rel))
	Expect(err).NotTo(HaveOccurred())
	blocks, err := concoursetest.Blocks(string(b))
	Expect(err).NotTo(HaveOccurred(), rel)
	return string(b), blocks
}

var refimagePath string

var _ = SynchronizedBeforeSuite(func() []byte {
	p, err := gexec.Build("github.com/refimage/refimage/cmd/refimage")
	Expect(err).NotTo(HaveOccurred())
	return []byte(p)
}, func(p []byte) { refimagePath = string(p) })

var _ = SynchronizedAfterSuite(func() {}, gexec.CleanupBuildArtifacts)
