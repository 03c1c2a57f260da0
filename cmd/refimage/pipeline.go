package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/refimage/refimage/hook"
)

// pipeline is the part of a Concourse pipeline file explain reads; other
// fields are ignored, and ((vars)) stay as they are.
type pipeline struct {
	ResourceTypes []hook.ResourceType `json:"resource_types"`
	Resources     []hook.Resource     `json:"resources"`
	Jobs          []job               `json:"jobs"`
}

type job struct {
	Name      string `json:"name"`
	Plan      []step `json:"plan"`
	OnSuccess *step  `json:"on_success"`
	OnFailure *step  `json:"on_failure"`
	OnAbort   *step  `json:"on_abort"`
	OnError   *step  `json:"on_error"`
	Ensure    *step  `json:"ensure"`
}

// steps are the job's plan followed by its hooks.
func (j job) steps() []step {
	out := j.Plan
	for _, h := range []*step{j.OnSuccess, j.OnFailure, j.OnAbort, j.OnError, j.Ensure} {
		if h != nil {
			out = append(out[:len(out):len(out)], *h)
		}
	}
	return out
}

// step is any step of a build plan; the fields set say which kind it is.
type step struct {
	Get       string         `json:"get"`
	Put       string         `json:"put"`
	Task      string         `json:"task"`
	Resource  string         `json:"resource"`
	Params    map[string]any `json:"params"`
	GetParams map[string]any `json:"get_params"`
	NoGet     bool           `json:"no_get"`
	Passed    []string       `json:"passed"`

	Image        string            `json:"image"`
	File         string            `json:"file"`
	Config       *taskConfig       `json:"config"`
	InputMapping map[string]string `json:"input_mapping"`

	InParallel *parallel `json:"in_parallel"`
	Aggregate  []step    `json:"aggregate"`
	Do         []step    `json:"do"`
	Try        *step     `json:"try"`
	OnSuccess  *step     `json:"on_success"`
	OnFailure  *step     `json:"on_failure"`
	OnAbort    *step     `json:"on_abort"`
	OnError    *step     `json:"on_error"`
	Ensure     *step     `json:"ensure"`
}

type taskConfig struct {
	Inputs []struct {
		Name string `json:"name"`
	} `json:"inputs"`
}

// parallel is in_parallel: a list of steps, or {steps: […], limit, fail_fast}.
type parallel struct{ Steps []step }

func (p *parallel) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &p.Steps)
	}
	var obj struct {
		Steps []step `json:"steps"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	p.Steps = obj.Steps
	return nil
}

// children are the steps nested in s, in plan order.
func (s step) children() []step {
	var out []step
	if s.InParallel != nil {
		out = append(out, s.InParallel.Steps...)
	}
	out = append(out, s.Aggregate...)
	out = append(out, s.Do...)
	for _, c := range []*step{s.Try, s.OnSuccess, s.OnFailure, s.OnAbort, s.OnError, s.Ensure} {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parsePipeline reads a pipeline file as Concourse does: a key its schema
// lacks is an error in Concourse's words (produces too, unless producesKey
// says the runtime's schema has it), then sigs.k8s.io/yaml decodes what
// explain reads. A mistake is reported with its line, found in the YAML
// node tree.
func parsePipeline(file string, data []byte, producesKey bool) (*pipeline, error) {
	var root yamlv3.Node
	if yamlv3.Unmarshal(data, &root) == nil {
		s := schema{producesKey: producesKey}
		if e := s.check(&root); e != nil {
			return nil, fmt.Errorf("%s:%d: %s: %s", file, e.line, e.msg, e.hint())
		}
	}
	var p pipeline
	err := yaml.Unmarshal(data, &p)
	if err == nil {
		return &p, validatePipeline(file, data, &p)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		line := lineOf(data, strings.Split(typeErr.Field, "."), typeErr.Value)
		return nil, fmt.Errorf("%s:%d: %s must be %s, not %s", file, line, typeErr.Field, goKind(typeErr.Type.Kind().String()), jsonKind(typeErr.Value))
	}
	// The YAML parser's own errors carry "line N" already.
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return nil, fmt.Errorf("%s:%s: %s", file, m[1], m[2])
	}
	return nil, fmt.Errorf("%s: %s", file, msg)
}

func validatePipeline(file string, data []byte, p *pipeline) error {
	resources := map[string]bool{}
	for _, r := range p.Resources {
		if r.Name == "" || r.Type == "" {
			return fmt.Errorf("%s:%d: every resource needs a name and a type", file, lineOf(data, []string{"resources"}, "array"))
		}
		resources[r.Name] = true
	}
	for _, j := range p.Jobs {
		if j.Name == "" {
			return fmt.Errorf("%s:%d: a job has no name", file, lineOf(data, []string{"jobs"}, "array"))
		}
		var bad string
		walk(j.steps(), func(s step) {
			name := s.Get
			if s.Resource != "" {
				name = s.Resource
			}
			if s.Get != "" && bad == "" && !resources[name] {
				bad = s.Get
			}
		})
		if bad != "" {
			return fmt.Errorf("%s:%d: job %s gets %s, which is not in resources: declare it or fix the name", file, lineOfValue(data, "get", bad), j.Name, bad)
		}
	}
	return nil
}

func walk(steps []step, f func(step)) {
	for _, s := range steps {
		f(s)
		walk(s.children(), f)
	}
}

// lineOf finds the first node at path (keys; sequences are searched
// element by element) whose kind is the JSON kind named, for an error
// that encoding/json reported without a line.
func lineOf(data []byte, path []string, jsonKind string) int {
	var root yamlv3.Node
	if yamlv3.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return 0
	}
	var find func(n *yamlv3.Node, path []string) int
	find = func(n *yamlv3.Node, path []string) int {
		if n.Kind == yamlv3.SequenceNode {
			for _, c := range n.Content {
				if l := find(c, path); l > 0 {
					return l
				}
			}
			if len(path) == 0 && jsonKind == "array" {
				return n.Line
			}
			return 0
		}
		if len(path) == 0 {
			if kindOf(n) == jsonKind {
				return n.Line
			}
			return 0
		}
		if n.Kind != yamlv3.MappingNode {
			return 0
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[0] {
				return find(n.Content[i+1], path[1:])
			}
		}
		return 0
	}
	return find(root.Content[0], path)
}

// lineOfValue finds the line of `key: value` anywhere in the file.
func lineOfValue(data []byte, key, value string) int {
	var root yamlv3.Node
	if yamlv3.Unmarshal(data, &root) != nil {
		return 0
	}
	var find func(n *yamlv3.Node) int
	find = func(n *yamlv3.Node) int {
		if n.Kind == yamlv3.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key && n.Content[i+1].Value == value {
					return n.Content[i].Line
				}
			}
		}
		for _, c := range n.Content {
			if l := find(c); l > 0 {
				return l
			}
		}
		return 0
	}
	return find(&root)
}

func kindOf(n *yamlv3.Node) string {
	switch n.Kind {
	case yamlv3.MappingNode:
		return "object"
	case yamlv3.SequenceNode:
		return "array"
	case yamlv3.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "bool"
		}
		return "string"
	}
	return ""
}

func goKind(k string) string {
	switch k {
	case "slice", "array":
		return "a list"
	case "struct", "map", "ptr":
		return "a mapping"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	}
	return "a " + k
}

func jsonKind(v string) string {
	switch v {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	}
	return "a " + v
}
