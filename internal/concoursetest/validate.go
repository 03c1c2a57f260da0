package concoursetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ToolPath is where concourse-validate lies, relative to the repository's
// root, in developers' checkouts and in CI alike.
const ToolPath = "../shared/tools/concourse-validate"

// Tool returns the path of concourse-validate for the repository rooted at
// root: root/ToolPath, or, when root is a linked git worktree, ToolPath
// beside the main worktree (whose ../shared is the same folder).
func Tool(root string) (string, error) {
	tried := []string{filepath.Join(root, ToolPath)}
	cmd := exec.Command("git", "rev-parse", "--path-format=absolute", "--git-common-dir")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		main := filepath.Dir(strings.TrimSpace(string(out)))
		tried = append(tried, filepath.Join(main, ToolPath))
	}
	for _, p := range tried {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("find concourse-validate: not at %s: the tests need stock Concourse's parser in ../shared/tools beside the repository", strings.Join(tried, " nor at "))
}

// Kind is what a YAML document is to Concourse.
type Kind int

const (
	// NotPipeline has none of a pipeline's top-level sections.
	NotPipeline Kind = iota
	// Fragment has some sections (resource_types alone, a jobs list
	// whose resources are elsewhere): it is decoded strictly but not
	// validated (-schema-only).
	Fragment
	// Pipeline has jobs and resources: it is decoded and validated as
	// fly set-pipeline would.
	Pipeline
)

// sections are the top-level keys of a Concourse pipeline.
var sections = []string{"groups", "var_sources", "resources", "resource_types", "prototypes", "jobs", "display"}

// KindOf says whether text is a whole pipeline, a fragment of one, or
// neither, from its top-level keys.
func KindOf(text []byte) (Kind, error) {
	var top map[string]any
	if err := yaml.Unmarshal(text, &top); err != nil {
		return NotPipeline, fmt.Errorf("read top-level keys: %w", err)
	}
	_, jobs := top["jobs"]
	_, resources := top["resources"]
	if jobs && resources {
		return Pipeline, nil
	}
	for _, s := range sections {
		if _, ok := top[s]; ok {
			return Fragment, nil
		}
	}
	return NotPipeline, nil
}

// ErrRejected is wrapped by Validate's error when the tool does not accept
// the text.
var ErrRejected = errors.New("stock Concourse does not accept it")

// Validate runs tool on text, named name in its output, with -schema-only
// for a Fragment. It returns the tool's output (one line per finding:
// "NAME: accepted", "NAME: rejected: …", "NAME: invalid: …", warnings);
// the error wraps ErrRejected and carries that output when the text is not
// accepted.
func Validate(tool, name string, text []byte, kind Kind) (string, error) {
	if kind == NotPipeline {
		return "", fmt.Errorf("validate %s: it is not a pipeline or a fragment of one (no top-level %s)", name, strings.Join(sections, ", "))
	}
	dir, err := os.MkdirTemp("", "concourse-validate")
	if err != nil {
		return "", fmt.Errorf("validate %s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, filepath.Base(name))
	if err := os.WriteFile(file, text, 0o644); err != nil {
		return "", fmt.Errorf("validate %s: %w", name, err)
	}
	args := []string{file}
	if kind == Fragment {
		args = []string{"-schema-only", file}
	}
	var out bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	report := strings.ReplaceAll(strings.TrimSpace(out.String()), file, name)
	var exit *exec.ExitError
	switch {
	case errors.As(runErr, &exit) && exit.ExitCode() == 1:
		return report, fmt.Errorf("validate %s: %w: %s", name, ErrRejected, report)
	case runErr != nil:
		return report, fmt.Errorf("run %s on %s: %w: %s", tool, name, runErr, report)
	}
	return report, nil
}

// Findings returns Concourse's messages from a report of Validate, without
// the tool's prefixes: the decoding error of a rejected file ("json:
// unknown field \"produces\""), or each validation error of an invalid one
// ("jobs.a.plan.do[0]: unknown fields [\"produces\"]").
func Findings(report string) []string {
	var out []string
	for _, line := range strings.Split(report, "\n") {
		_, msg, found := strings.Cut(line, ": rejected: ")
		if found {
			out = append(out, strings.TrimPrefix(msg, "error unmarshaling JSON: while decoding JSON: "))
			continue
		}
		if strings.HasPrefix(line, "\t") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
