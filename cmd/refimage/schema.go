package main

import (
	"fmt"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// The keys of stock Concourse's pipeline schema (upstream atc.Config, as
// `fly set-pipeline` and ../shared/tools/concourse-validate decode it).
// Concourse decodes these sections strictly ("json: unknown field"), finds
// a step's kind by its keys and calls the keys left over "unknown fields"
// when it validates. Unknown top-level keys are ignored (they hold YAML
// anchors). A spec compares explain with concourse-validate.
var (
	sectionKeys = map[string]keySet{
		"resources":      keys("name", "old_name", "public", "webhook_token", "type", "source", "check_every", "check_timeout", "tags", "version", "icon", "expose_build_created_by"),
		"resource_types": keys("name", "type", "source", "defaults", "privileged", "check_every", "tags", "params"),
		"prototypes":     keys("name", "type", "source", "defaults", "privileged", "check_every", "tags", "params"),
		"groups":         keys("name", "jobs", "resources"),
		"var_sources":    keys("name", "type", "config"),
		"jobs": keys("name", "old_name", "public", "disable_manual_trigger", "disable_reruns", "serial", "interruptible",
			"serial_groups", "max_in_flight", "tags", "build_logs_to_retain", "build_log_retention",
			"on_success", "on_failure", "on_abort", "on_error", "ensure", "plan"),
	}
	displayKeys           = keys("background_image", "background_filter")
	buildLogRetentionKeys = keys("builds", "minimum_succeeded_builds", "days")
	acrossVarKeys         = keys("var", "values", "max_in_flight")
	taskConfigKeys        = keys("platform", "rootfs_uri", "image_resource", "container_limits", "params", "run", "inputs", "outputs", "caches")
	jobHooks              = []string{"on_success", "on_failure", "on_abort", "on_error", "ensure"}
)

// stepKinds are Concourse's step kinds in the order it looks for them;
// wrappers (hooks, across, attempts, timeout) modify the core step that
// follows, a core step ends the search.
var stepKinds = []struct {
	key     string
	wrapper bool
	keys    keySet
}{
	{"ensure", true, keys("ensure")},
	{"on_error", true, keys("on_error")},
	{"on_abort", true, keys("on_abort")},
	{"on_failure", true, keys("on_failure")},
	{"on_success", true, keys("on_success")},
	{"across", true, keys("across", "fail_fast")},
	{"attempts", true, keys("attempts")},
	{"run", false, keys("run", "type", "params", "privileged", "tags", "container_limits", "timeout")},
	{"task", false, keys("task", "privileged", "hermetic", "file", "container_limits", "config", "params", "vars", "tags", "input_mapping", "output_mapping", "image", "timeout")},
	{"put", false, keys("put", "resource", "params", "inputs", "tags", "get_params", "timeout", "no_get")},
	{"get", false, keys("get", "resource", "version", "params", "passed", "trigger", "tags", "timeout")},
	{"timeout", true, keys("timeout")},
	{"set_pipeline", false, keys("set_pipeline", "file", "team", "vars", "var_files", "instance_vars")},
	{"load_var", false, keys("load_var", "file", "format", "reveal")},
	{"try", false, keys("try")},
	{"do", false, keys("do", "tags")},
	{"in_parallel", false, keys("in_parallel", "tags")},
}

type keySet map[string]bool

func keys(k ...string) keySet {
	s := keySet{}
	for _, v := range k {
		s[v] = true
	}
	return s
}

// schemaError is a key Concourse does not accept, with its line.
type schemaError struct {
	line int
	// decoding is true for an error of Concourse's decoding (which fails
	// before any validation), false for one of its validation.
	decoding bool
	msg      string
	key      string
}

// schema checks a pipeline's keys as Concourse does; producesKey admits
// produces on resource_types entries and resources (a runtime whose
// schema has it).
type schema struct {
	producesKey bool
	first       *schemaError // the first decoding error
	firstValid  *schemaError // the first validation error
}

func (s *schema) fail(e schemaError) {
	switch {
	case e.decoding && s.first == nil:
		s.first = &e
	case !e.decoding && s.firstValid == nil:
		s.firstValid = &e
	}
}

// check returns the error Concourse would report first, or nil.
func (s *schema) check(root *yamlv3.Node) *schemaError {
	if root.Kind == yamlv3.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	eachPair(root, func(k, v *yamlv3.Node) {
		switch name := k.Value; {
		case name == "display":
			s.mapping(v, displayKeys, nil)
		case name == "jobs":
			eachItem(v, func(job *yamlv3.Node) { s.job(job) })
		case sectionKeys[name] != nil:
			allowed := sectionKeys[name]
			if s.producesKey && (name == "resources" || name == "resource_types") {
				allowed = with(allowed, "produces")
			}
			eachItem(v, func(item *yamlv3.Node) { s.mapping(item, allowed, nil) })
		}
	})
	if s.first != nil {
		return s.first
	}
	return s.firstValid
}

func (s *schema) job(n *yamlv3.Node) {
	name := ""
	s.mapping(n, sectionKeys["jobs"], func(k, v *yamlv3.Node) {
		if k.Value == "name" {
			name = v.Value
		}
	})
	path := "jobs." + name + ".plan"
	eachPair(n, func(k, v *yamlv3.Node) {
		switch {
		case k.Value == "plan":
			eachIndexed(v, func(i int, step *yamlv3.Node) { s.step(step, fmt.Sprintf("%s.do[%d]", path, i)) })
		case k.Value == "build_log_retention":
			s.mapping(v, buildLogRetentionKeys, nil)
		case slices.Contains(jobHooks, k.Value):
			s.step(v, path+"."+k.Value)
		}
	})
}

// step finds a step's kind as Concourse does, reports the keys no kind
// claims, and goes into the steps it holds.
func (s *schema) step(n *yamlv3.Node, path string) {
	n = deref(n)
	if n.Kind != yamlv3.MappingNode {
		return
	}
	left := map[string]*yamlv3.Node{}
	eachPair(n, func(k, _ *yamlv3.Node) { left[k.Value] = k })
	found, core := false, false
	for _, kind := range stepKinds {
		if left[kind.key] == nil {
			continue
		}
		found = true
		for k := range kind.keys {
			delete(left, k)
		}
		if !kind.wrapper {
			core = true
			break
		}
	}
	switch {
	case !found:
		s.fail(schemaError{line: n.Line, decoding: true, msg: "no step configured"})
		return
	case !core:
		s.fail(schemaError{line: n.Line, decoding: true, msg: "no core step type declared (e.g. get, put, task, etc.)"})
		return
	}
	if len(left) > 0 {
		var names []string
		line := 0
		for k, node := range left {
			names = append(names, k)
			if line == 0 || node.Line < line {
				line = node.Line
			}
		}
		slices.Sort(names)
		s.fail(schemaError{line: line, msg: fmt.Sprintf("%s: unknown fields %+q", path, names), key: names[0]})
	}
	s.children(n, path)
}

func (s *schema) children(n *yamlv3.Node, path string) {
	eachPair(n, func(k, v *yamlv3.Node) {
		switch k.Value {
		case "do":
			eachIndexed(v, func(i int, c *yamlv3.Node) { s.step(c, fmt.Sprintf("%s.do[%d]", path, i)) })
		case "in_parallel":
			v = deref(v)
			if v.Kind == yamlv3.MappingNode {
				eachPair(v, func(pk, pv *yamlv3.Node) {
					if pk.Value == "steps" {
						v = pv
					}
				})
			}
			eachIndexed(v, func(i int, c *yamlv3.Node) { s.step(c, fmt.Sprintf("%s.in_parallel.steps[%d]", path, i)) })
		case "across":
			// Concourse decodes each var strictly while it reads the step.
			eachItem(v, func(item *yamlv3.Node) {
				eachPair(item, func(ik, _ *yamlv3.Node) {
					if !acrossVarKeys[ik.Value] {
						s.fail(schemaError{line: ik.Line, decoding: true, msg: fmt.Sprintf("malformed across step: json: unknown field %q", ik.Value), key: ik.Value})
					}
				})
			})
		case "try", "on_success", "on_failure", "on_abort", "on_error", "ensure":
			s.step(v, path+"."+k.Value)
		case "config":
			if task, isTask := pairValue(n, "task"); isTask {
				s.taskConfig(v, fmt.Sprintf("%s.task(%s).config", path, task.Value))
			}
		}
	})
}

func (s *schema) taskConfig(n *yamlv3.Node, path string) {
	n = deref(n)
	if n.Kind != yamlv3.MappingNode {
		return
	}
	var names []string
	line := 0
	eachPair(n, func(k, _ *yamlv3.Node) {
		if !taskConfigKeys[k.Value] {
			names = append(names, k.Value)
			if line == 0 {
				line = k.Line
			}
		}
	})
	if len(names) > 0 {
		slices.Sort(names)
		s.fail(schemaError{line: line, msg: fmt.Sprintf("%s: unknown fields %+q", path, names), key: names[0]})
	}
}

// mapping reports the first key of n that allowed lacks, as Concourse's
// strict decoding does, and calls each (when not nil) on every pair.
func (s *schema) mapping(n *yamlv3.Node, allowed keySet, each func(k, v *yamlv3.Node)) {
	eachPair(n, func(k, v *yamlv3.Node) {
		if !allowed[k.Value] {
			s.fail(schemaError{line: k.Line, decoding: true, msg: fmt.Sprintf("json: unknown field %q", k.Value), key: k.Value})
		}
		if each != nil {
			each(k, v)
		}
	})
}

func with(s keySet, k string) keySet {
	out := keySet{k: true}
	for v := range s {
		out[v] = true
	}
	return out
}

func deref(n *yamlv3.Node) *yamlv3.Node {
	for n != nil && n.Kind == yamlv3.AliasNode {
		n = n.Alias
	}
	return n
}

// eachPair calls f on every key and value of a mapping, merge keys (<<)
// expanded as YAML defines them.
func eachPair(n *yamlv3.Node, f func(k, v *yamlv3.Node)) {
	n = deref(n)
	if n == nil || n.Kind != yamlv3.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Value == "<<" && k.Tag == "!!merge" {
			if v.Kind == yamlv3.SequenceNode {
				for _, m := range v.Content {
					eachPair(m, f)
				}
				continue
			}
			eachPair(v, f)
			continue
		}
		f(k, v)
	}
}

func eachItem(n *yamlv3.Node, f func(*yamlv3.Node)) {
	eachIndexed(n, func(_ int, c *yamlv3.Node) { f(c) })
}

func eachIndexed(n *yamlv3.Node, f func(int, *yamlv3.Node)) {
	n = deref(n)
	if n == nil || n.Kind != yamlv3.SequenceNode {
		return
	}
	for i, c := range n.Content {
		f(i, deref(c))
	}
}

// pairValue returns the value of key in mapping n.
func pairValue(n *yamlv3.Node, key string) (*yamlv3.Node, bool) {
	var out *yamlv3.Node
	eachPair(n, func(k, v *yamlv3.Node) {
		if k.Value == key {
			out = v
		}
	})
	return out, out != nil
}

// hint says how to fix e.
func (e *schemaError) hint() string {
	if e.key == "produces" && !e.decoding {
		return "no step has a produces key: remove it"
	}
	if e.key == "produces" {
		return "stock Concourse and JetBridge have no produces key (fly set-pipeline rejects it): remove it (refimage's image label io.github.refimage.produces says the same), or pass --schema-has-produces if your runtime's pipeline schema has it"
	}
	if strings.HasPrefix(e.msg, "no ") {
		return "fly set-pipeline rejects it: give the step a kind (get, put, task, …)"
	}
	return "fly set-pipeline rejects it: fix or remove the key"
}
