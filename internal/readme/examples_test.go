package readme_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// docs/examples holds the pipelines that run as they are: make
// concourse-e2e sets them on stock Concourse. The README shows each one;
// this keeps what it shows and what runs identical.
var _ = Describe("docs/examples", func() {
	It("each pipeline is shown in README.md, byte for byte, and named by its path", func() {
		files, err := filepath.Glob(filepath.Join(root(), "docs", "examples", "*.yml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		text, blocks := markdown("README.md")
		for _, f := range files {
			want, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			var shown []string
			for _, b := range blocks {
				if b.Lang == "yaml" {
					shown = append(shown, b.Text)
				}
			}
			Expect(shown).To(ContainElement(string(want)), "README.md shows no yaml block identical to %s", f)
			Expect(text).To(ContainSubstring("docs/examples/"+filepath.Base(f)), "README.md does not name %s", f)
		}
	})
})
