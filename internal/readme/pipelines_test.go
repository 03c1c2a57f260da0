//go:build concoursevalidate

// Run by make concourse-validate: it needs stock Concourse's parser,
// ../shared/tools/concourse-validate, which a bare clone does not have.

package readme_test

import (
	"fmt"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/concoursetest"
)

// shown are the Markdown files whose pipelines users copy.
func shown() []string {
	docs, err := filepath.Glob(filepath.Join(root(), "docs", "*.md"))
	Expect(err).NotTo(HaveOccurred())
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, filepath.Join("docs", filepath.Base(d)))
	}
	return files
}

var _ = Describe("the pipelines the project shows, read by stock Concourse's parser (concourse-validate)", Label("concourse-validate"), func() {
	var tool string
	BeforeEach(func() {
		var err error
		tool, err = concoursetest.Tool(root())
		Expect(err).NotTo(HaveOccurred())
	})

	It("accepts every YAML block of README.md and docs/*.md: whole pipelines validated, fragments decoded strictly", func() {
		var failures []string
		checked := 0
		for _, file := range shown() {
			_, blocks := markdown(file)
			for _, b := range blocks {
				if !b.IsYAML() {
					continue
				}
				where := fmt.Sprintf("%s:%d", file, b.Line)
				kind, err := concoursetest.KindOf([]byte(b.Text))
				if err == nil {
					_, err = concoursetest.Validate(tool, where, []byte(b.Text), kind)
				}
				if err != nil {
					failures = append(failures, err.Error())
				}
				checked++
			}
		}
		Expect(failures).To(BeEmpty())
		Expect(checked).To(BeNumerically(">=", 5))
	})

	It("validates the README's leading examples as whole pipelines, as fly set-pipeline does", func() {
		_, blocks := markdown("README.md")
		var yamls []concoursetest.Block
		for _, b := range blocks {
			if b.IsYAML() {
				yamls = append(yamls, b)
			}
		}
		Expect(len(yamls)).To(BeNumerically(">=", 2))
		for _, b := range yamls[:2] {
			kind, err := concoursetest.KindOf([]byte(b.Text))
			Expect(err).NotTo(HaveOccurred())
			Expect(kind).To(Equal(concoursetest.Pipeline), "README.md:%d", b.Line)
			report, err := concoursetest.Validate(tool, fmt.Sprintf("README.md:%d", b.Line), []byte(b.Text), kind)
			Expect(err).NotTo(HaveOccurred())
			Expect(report).To(HaveSuffix(": accepted"))
		}
	})

})
