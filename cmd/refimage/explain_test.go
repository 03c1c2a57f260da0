package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

func explain(args ...string) *gexec.Session {
	s, err := gexec.Start(exec.Command(refimagePath, append([]string{"explain"}, args...)...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(s).Should(gexec.Exit())
	return s
}

var _ = Describe("refimage explain", func() {
	DescribeTable("matches the golden output",
		func(pipeline, golden string, args ...string) {
			s := explain(append(args, filepath.Join("testdata", pipeline))...)
			Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
			path := filepath.Join("testdata", golden)
			if *update {
				Expect(os.WriteFile(path, s.Out.Contents(), 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(s.Out.Contents())).To(Equal(string(want)))
			Expect(s.Err.Contents()).To(BeEmpty())
		},
		Entry("a build-and-test pipeline, for a runtime whose schema has produces", "app.yml", "app.golden.txt", "--schema-has-produces"),
		Entry("a build-and-test pipeline, as JSON", "app.yml", "app.golden.json", "--json", "--schema-has-produces"),
		Entry("the rules ad-hoc implementations get wrong", "edge.yml", "edge.golden.txt", "--schema-has-produces"),
	)

	DescribeTable("malformed pipelines: one line with the file and line, nothing on stdout",
		func(content, wantErr string) {
			file := filepath.Join(GinkgoT().TempDir(), "pipeline.yml")
			Expect(os.WriteFile(file, []byte(content), 0o644)).To(Succeed())
			s := explain(file)
			Expect(s.ExitCode()).To(Equal(1))
			Expect(s.Out.Contents()).To(BeEmpty())
			Expect(string(s.Err.Contents())).To(Equal("refimage explain: " + file + wantErr + "\n"))
		},
		Entry("a YAML syntax error", "jobs:\n- name: a\n  plan: [\n", ":3: did not find expected node content"),
		Entry("jobs that are not a list", "resources: []\njobs: everything\n", ":2: jobs must be a list, not a string"),
		Entry("a plan that is not a list", "jobs:\n- name: a\n  plan:\n    get: x\n", ":4: jobs.plan must be a list, not a mapping"),
		Entry("a get of an undeclared resource", "resources: []\njobs:\n- name: a\n  plan:\n  - get: nowhere\n", ":5: job a gets nowhere, which is not in resources: declare it or fix the name"),
		Entry("a job without a name", "jobs:\n- plan: []\n", ":2: a job has no name"),
	)

	DescribeTable("usage errors",
		func(args []string, wantErr string) {
			s := explain(args...)
			Expect(s.ExitCode()).NotTo(Equal(0))
			Expect(s.Out.Contents()).To(BeEmpty())
			Expect(string(s.Err.Contents())).To(ContainSubstring(wantErr))
		},
		Entry("no file", nil, "give the pipeline file"),
		Entry("a missing file", []string{"testdata/nope.yml"}, "read pipeline: open testdata/nope.yml: no such file or directory"),
		Entry("an unknown flag", []string{"--yaml", "x.yml"}, `unexpected argument "--yaml"`),
	)
})

var _ = Describe("refimage explain, a format named on a get step", func() {
	var rows map[string]map[string]string

	BeforeEach(func() {
		s := explain("--json", filepath.Join("testdata", "format.yml"))
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		var got []map[string]any
		Expect(json.Unmarshal(s.Out.Contents(), &got)).To(Succeed())
		rows = map[string]map[string]string{}
		for _, r := range got {
			rows[r["get"].(string)] = map[string]string{"decision": r["decision"].(string), "reason": r["reason"].(string)}
		}
	})

	DescribeTable("counts as asking for the bytes, and the reason says so",
		func(get, decision, reason string) {
			Expect(rows[get]).To(HaveKeyWithValue("decision", decision))
			Expect(rows[get]["reason"]).To(ContainSubstring(reason))
		},
		Entry("format: oci on the base type", "app", "pod", `params.format is "oci", which asks for the image's bytes`),
		Entry("format: oci-layout on a custom type: a pod whatever its image's label says", "custom", "pod", `params.format is "oci-layout", which asks for the image's bytes`),
		Entry("format with skip_download: true: the reference only, as registry-image", "skipped", "skip pod", `params.skip_download is true, so params.format "rootfs" is not written`),
		Entry("format with fetch_artifact: false: an error that says which to drop", "both", "error", "drop format to get the reference, or drop fetch_artifact to download the image"),
	)
})
