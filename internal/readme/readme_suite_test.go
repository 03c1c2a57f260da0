package readme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

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
	bin := filepath.Join(os.TempDir(), "readme-refimage")
	build := exec.Command("go", "build", "-o", bin, "./cmd/refimage")
	build.Dir = root()
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	return []byte(bin)
}, func(p []byte) { refimagePath = string(p) })
