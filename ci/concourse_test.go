//go:build concoursevalidate

// Run by make concourse-validate: it needs stock Concourse's parser,
// ../shared/tools/concourse-validate, which a bare clone does not have.

package ci_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/concoursetest"
)

var _ = Describe("every pipeline file of the repository, read by stock Concourse's parser (concourse-validate)", Label("concourse-validate"), func() {
	It("accepts ci/pipeline.yml and every other pipeline file as fly set-pipeline would; task files are not pipelines", func() {
		tool, err := concoursetest.Tool("..")
		Expect(err).NotTo(HaveOccurred())
		pipelines := map[string]bool{}
		err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("..", path)
			if d.IsDir() {
				// testdata holds explain's inputs for runtimes whose
				// schema has produces, which stock Concourse rejects.
				if strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(path); ext != ".yml" && ext != ".yaml" {
				return nil
			}
			text, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			kind, err := concoursetest.KindOf(text)
			Expect(err).NotTo(HaveOccurred(), rel)
			if kind == concoursetest.NotPipeline {
				return nil
			}
			report, err := concoursetest.Validate(tool, rel, text, kind)
			Expect(err).NotTo(HaveOccurred())
			Expect(report).To(ContainSubstring(rel + ": accepted"))
			pipelines[rel] = true
			return nil
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(pipelines).To(HaveKey(filepath.Join("ci", "pipeline.yml")))
	})
})
