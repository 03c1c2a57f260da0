//go:build concoursevalidate

// Run by make concourse-validate: it needs stock Concourse's parser,
// ../shared/tools/concourse-validate, which a bare clone does not have.

package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/concoursetest"
)

// header declares what the pipelines below get; each adds one job.
const header = `resource_types:
- name: refimage
  type: registry-image
  source: {repository: ghcr.io/refimage/refimage}
resources:
- name: app
  type: refimage
  source: {repository: registry.example.test/app}
`

var _ = Describe("refimage explain reads a pipeline as stock Concourse does (compared with concourse-validate)", Label("concourse-validate"), func() {
	var tool string
	BeforeEach(func() {
		var err error
		tool, err = concoursetest.Tool(filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
	})

	// concourse runs the real parser on content and returns its one finding.
	concourse := func(content string) string {
		report, err := concoursetest.Validate(tool, "pipeline.yml", []byte(content), concoursetest.Pipeline)
		Expect(err).To(MatchError(concoursetest.ErrRejected), report)
		findings := concoursetest.Findings(report)
		Expect(findings).To(HaveLen(1), report)
		return findings[0]
	}

	write := func(content string) string {
		file := filepath.Join(GinkgoT().TempDir(), "pipeline.yml")
		Expect(os.WriteFile(file, []byte(content), 0o644)).To(Succeed())
		return file
	}

	DescribeTable("a key Concourse does not know: Concourse's own message, with the key's line, and how to fix it",
		func(content string, line int, fix string, args ...string) {
			want := concourse(content)
			file := write(content)
			s := explain(append(args, file)...)
			Expect(s.ExitCode()).To(Equal(1))
			Expect(s.Out.Contents()).To(BeEmpty())
			Expect(string(s.Err.Contents())).To(Equal(fmt.Sprintf("refimage explain: %s:%d: %s: %s\n", file, line, want, fix)))
		},
		Entry("produces on a resource_types entry", strings.Replace(header, "  type: registry-image\n", "  type: registry-image\n  produces: registry-image\n", 1)+
			"jobs:\n- name: a\n  plan:\n  - get: app\n", 4, produceFix),
		Entry("produces on a resource", header+"  produces: registry-image\njobs:\n- name: a\n  plan:\n  - get: app\n", 9, produceFix),
		Entry("produces on a get step, even for a runtime whose schema has produces", header+"jobs:\n- name: a\n  plan:\n  - get: app\n    produces: registry-image\n", 13,
			"no step has a produces key: remove it", "--schema-has-produces"),
		Entry("a misspelt key of a resource", header+"  check_evry: 1m\njobs:\n- name: a\n  plan:\n  - get: app\n", 9, keyFix),
		Entry("a misspelt key of a job", header+"jobs:\n- name: a\n  serial_group: [x]\n  plan:\n  - get: app\n", 11, keyFix),
		Entry("a misspelt key of a step in in_parallel", header+"jobs:\n- name: a\n  plan:\n  - in_parallel:\n      limit: 2\n      steps:\n      - get: app\n        triger: true\n", 16, keyFix),
		Entry("a misspelt key of a step in a job's hook", header+"jobs:\n- name: a\n  plan:\n  - get: app\n  on_failure:\n    get: other\n    resource: app\n    pased: [a]\n", 16, keyFix),
		Entry("a misspelt key of a step under do and try", header+"jobs:\n- name: a\n  plan:\n  - get: app\n  - do:\n    - try: {task: t, file: app/t.yml, imag: app}\n", 14, keyFix),
		Entry("a misspelt key of a task's config", header+"jobs:\n- name: a\n  plan:\n  - get: app\n  - task: t\n    config:\n      platform: linux\n      ouputs: [{name: o}]\n      run: {path: a}\n", 16, keyFix),
		Entry("a misspelt key of an across var", header+"jobs:\n- name: a\n  plan:\n  - get: app\n  - across:\n    - var: v\n      value: [1, 2]\n    task: t\n    file: app/t.yml\n", 15, keyFix),
		Entry("a step of no kind", header+"jobs:\n- name: a\n  plan:\n  - gett: app\n", 12, "fly set-pipeline rejects it: give the step a kind (get, put, task, …)"),
	)

	DescribeTable("what Concourse accepts, explain reads",
		func(content string, args ...string) {
			report, err := concoursetest.Validate(tool, "pipeline.yml", []byte(content), concoursetest.Pipeline)
			if len(args) == 0 {
				Expect(err).NotTo(HaveOccurred(), report)
			}
			s := explain(append(args, write(content))...)
			Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
			Expect(s.Err.Contents()).To(BeEmpty())
		},
		Entry("anchors, merge keys and a top-level key of the author's own", "shared: &src {repository: registry.example.test/app}\n"+
			"resources:\n- name: app\n  type: registry-image\n  source: *src\njobs:\n- name: a\n  plan:\n  - &g {get: app}\n  - <<: *g\n    get: again\n    resource: app\n    timeout: 1h\n    attempts: 2\n"),
		Entry("every key of a resource, a resource type, a job and a get", "resource_types:\n- {name: t, type: registry-image, source: {repository: r}, defaults: {}, privileged: false, check_every: 1h, tags: [a], params: {}}\n"+
			"resources:\n- {name: app, type: t, source: {}, old_name: o, public: true, webhook_token: w, check_every: never, check_timeout: 1m, tags: [a], version: {tag: a}, icon: docker, expose_build_created_by: true}\n"+
			"jobs:\n- name: a\n  old_name: b\n  public: true\n  disable_manual_trigger: true\n  disable_reruns: true\n  serial: true\n  interruptible: true\n  serial_groups: [g]\n  max_in_flight: 1\n  build_log_retention: {builds: 1, minimum_succeeded_builds: 1, days: 1}\n"+
			"  plan:\n  - {get: app, resource: app, version: latest, params: {}, passed: [], trigger: true, tags: [a], timeout: 1h}\n"),
		Entry("produces on a resource_types entry and a resource, for a runtime whose schema has it", strings.Replace(header, "  type: registry-image\n", "  type: registry-image\n  produces: registry-image\n", 1)+
			"  produces: registry-image\njobs:\n- name: a\n  plan:\n  - get: app\n", "--schema-has-produces"),
	)
})

const (
	produceFix = "stock Concourse and JetBridge have no produces key (fly set-pipeline rejects it): remove it (refimage's image label io.github.refimage.produces says the same), or pass --schema-has-produces if your runtime's pipeline schema has it"
	keyFix     = "fly set-pipeline rejects it: fix or remove the key"
)
