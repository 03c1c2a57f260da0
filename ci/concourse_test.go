package ci_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/concoursetest"
)

var _ = Describe("the pipelines in ci/, read by stock Concourse's parser (concourse-validate)", func() {
	It("accepts every one as fly set-pipeline would; task files are not pipelines", func() {
		tool, err := concoursetest.Tool("..")
		Expect(err).NotTo(HaveOccurred())
		files, err := filepath.Glob("*.yml")
		Expect(err).NotTo(HaveOccurred())
		nested, err := filepath.Glob("*/*.yml")
		Expect(err).NotTo(HaveOccurred())
		pipelines := 0
		for _, f := range append(files, nested...) {
			text, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			kind, err := concoursetest.KindOf(text)
			Expect(err).NotTo(HaveOccurred(), f)
			if kind == concoursetest.NotPipeline {
				continue
			}
			report, err := concoursetest.Validate(tool, "ci/"+f, text, kind)
			Expect(err).NotTo(HaveOccurred())
			Expect(report).To(ContainSubstring("ci/" + f + ": accepted"))
			pipelines++
		}
		Expect(pipelines).To(BeNumerically(">=", 1), "ci/pipeline.yml at least")
	})
})
