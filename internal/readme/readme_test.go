package readme_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/refimage/refimage/internal/concoursetest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("README.md", func() {
	It("shows, after a pipeline, exactly what refimage explain prints for it", func() {
		_, all := markdown("README.md")
		pipelines, compared := 0, 0
		for i, b := range all {
			if !b.IsYAML() {
				continue
			}
			pipelines++
			file := filepath.Join(GinkgoT().TempDir(), "pipeline.yml")
			Expect(os.WriteFile(file, []byte(b.Text), 0o644)).To(Succeed())
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(refimagePath, "explain", file)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			Expect(cmd.Run()).To(Succeed(), "README.md:%d: refimage explain: %s", b.Line, stderr.String())
			if i+1 < len(all) && all[i+1].Lang == "text" && strings.HasPrefix(all[i+1].Text, "JOB") {
				Expect(stdout.String()).To(Equal(all[i+1].Text), "README.md:%d: what refimage explain prints", all[i+1].Line)
				compared++
			}
		}
		Expect(pipelines).NotTo(BeZero())
		Expect(compared).NotTo(BeZero())
	})

	It("shows a Go example that compiles in the module", func() {
		_, all := markdown("README.md")
		examples := 0
		for _, b := range all {
			if b.Lang != "go" {
				continue
			}
			examples++
			pkg, err := os.MkdirTemp(filepath.Join(root(), "internal", "readme"), "example")
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(os.RemoveAll, pkg)
			Expect(os.WriteFile(filepath.Join(pkg, "example.go"), []byte(b.Text), 0o644)).To(Succeed())
			vet := exec.Command("go", "vet", "./"+filepath.Base(pkg))
			vet.Dir = filepath.Dir(pkg)
			out, err := vet.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "README.md:%d: the Go example does not compile:\n%s", b.Line, out)
		}
		Expect(examples).NotTo(BeZero())
	})

	It("names only make targets and refimage commands that exist", func() {
		text, all := markdown("README.md")
		makefile, err := os.ReadFile(filepath.Join(root(), "Makefile"))
		Expect(err).NotTo(HaveOccurred())
		hasTarget := func(t string) bool {
			return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(t) + `:`).Match(makefile)
		}
		for _, m := range regexp.MustCompile("`make ([a-z0-9-]+)").FindAllStringSubmatch(text, -1) {
			Expect(hasTarget(m[1])).To(BeTrue(), "the README names `make %s`, which the Makefile lacks", m[1])
		}
		for _, b := range all {
			if b.Lang != "sh" {
				continue
			}
			for _, line := range strings.Split(strings.TrimSpace(b.Text), "\n") {
				fields := strings.Fields(line)
				Expect(len(fields)).To(BeNumerically(">=", 2), "README.md:%d: %q", b.Line, line)
				switch fields[0] {
				case "make":
					Expect(hasTarget(fields[1])).To(BeTrue(), "README.md:%d: make %s: no such target", b.Line, fields[1])
				case "refimage":
					Expect(fields[1]).To(BeElementOf("resolve", "explain"), "README.md:%d: no such command", b.Line)
				default:
					Fail(fmt.Sprintf("README.md:%d: %q is a command no test runs", b.Line, line))
				}
			}
		}
	})

	It("gives refimage resources only sources and defaults that refimage's strict decoding accepts", func() {
		_, all := markdown("README.md")
		checked := 0
		for _, b := range all {
			if !b.IsYAML() {
				continue
			}
			var pipeline struct {
				ResourceTypes []struct {
					Name     string         `json:"name"`
					Defaults map[string]any `json:"defaults"`
				} `json:"resource_types"`
				Resources []struct {
					Name   string         `json:"name"`
					Type   string         `json:"type"`
					Source map[string]any `json:"source"`
				} `json:"resources"`
			}
			Expect(yaml.Unmarshal([]byte(b.Text), &pipeline)).To(Succeed(), "README.md:%d", b.Line)
			for _, rt := range pipeline.ResourceTypes {
				strictly(b, "defaults of "+rt.Name, rt.Defaults)
			}
			for _, r := range pipeline.Resources {
				if r.Type == "git" || r.Type == "time" {
					continue
				}
				strictly(b, "source of "+r.Name, r.Source)
				checked++
			}
		}
		Expect(checked).NotTo(BeZero())
	})
})

func strictly(b concoursetest.Block, what string, value map[string]any) {
	body, err := json.Marshal(value)
	Expect(err).NotTo(HaveOccurred())
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	Expect(dec.Decode(&resource.Source{})).To(Succeed(), "README.md:%d: %s", b.Line, what)
}

var _ = Describe("the README on produces:", func() {
	It("names produces: only in a passage that says which runtimes reject the key", func() {
		text, _ := markdown("README.md")
		key := regexp.MustCompile("`produces:")
		for i, paragraph := range strings.Split(text, "\n\n") {
			if !key.MatchString(paragraph) {
				continue
			}
			Expect(strings.ToLower(paragraph)).To(And(ContainSubstring("stock concourse"), ContainSubstring("jetbridge"), ContainSubstring("reject")),
				"README.md, paragraph %d, names produces: without saying which runtimes reject it:\n%s", i+1, paragraph)
		}
	})
})
