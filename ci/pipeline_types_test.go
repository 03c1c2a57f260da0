package ci_test

import (
	"os"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// The parts of the pipeline the specs read. What the pipeline may hold is
// stock Concourse's parser's to say (a spec runs concourse-validate on it);
// task files, which that tool does not read, are decoded strictly here.
type pipeline struct {
	ResourceTypes []resourceType `json:"resource_types"`
	Resources     []resource     `json:"resources"`
	Jobs          []job          `json:"jobs"`
}

type resourceType struct {
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Source map[string]any `json:"source"`
}

type resource struct {
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Icon   string         `json:"icon"`
	Source map[string]any `json:"source"`
}

type job struct {
	Name   string `json:"name"`
	Serial bool   `json:"serial"`
	Plan   []step `json:"plan"`
}

type step struct {
	InParallel []step `json:"in_parallel"`

	Get     string         `json:"get"`
	Trigger bool           `json:"trigger"`
	Passed  []string       `json:"passed"`
	Params  map[string]any `json:"params"`

	Put       string         `json:"put"`
	GetParams map[string]any `json:"get_params"`

	Task          string            `json:"task"`
	File          string            `json:"file"`
	Image         string            `json:"image"`
	InputMapping  map[string]string `json:"input_mapping"`
	OutputMapping map[string]string `json:"output_mapping"`
}

type task struct {
	Platform string            `json:"platform"`
	Inputs   []named           `json:"inputs"`
	Outputs  []named           `json:"outputs"`
	Caches   []cached          `json:"caches"`
	Params   map[string]string `json:"params"`
	Run      struct {
		Path string   `json:"path"`
		Dir  string   `json:"dir"`
		Args []string `json:"args"`
	} `json:"run"`
	ImageResource map[string]any `json:"image_resource"`
}

type named struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional"`
}

type cached struct {
	Path string `json:"path"`
}

// loadPipeline reads the parts of a pipeline file the specs use.
func loadPipeline(path string, into any) {
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.Unmarshal(b, into)).To(Succeed(), path)
}

func loadStrict(path string, into any) {
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(b, into)).To(Succeed(), path)
}

// steps flattens a plan, in_parallel blocks included, in order.
func steps(plan []step) []step {
	var out []step
	for _, s := range plan {
		if len(s.InParallel) > 0 {
			out = append(out, steps(s.InParallel)...)
			continue
		}
		out = append(out, s)
	}
	return out
}
