package readme_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/refimage/refimage/resource"
)

// block is one fenced code block of the README.
type block struct {
	lang string
	text string
	line int
}

func blocks(t *testing.T, readme string) []block {
	t.Helper()
	var out []block
	var cur *block
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{lang: strings.TrimPrefix(line, "```"), line: i + 1}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: unterminated code block", cur.line)
	}
	return out
}

func root(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func readme(t *testing.T) (string, []block) {
	t.Helper()
	dir := root(t)
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, blocks(t, string(b))
}

// TestPipelinesExplainAsShown runs every YAML pipeline through refimage
// explain; where the README shows the output next, it must match exactly.
func TestPipelinesExplainAsShown(t *testing.T) {
	dir, all := readme(t)
	bin := filepath.Join(t.TempDir(), "refimage")
	build := exec.Command("go", "build", "-o", bin, "./cmd/refimage")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build refimage: %v\n%s", err, out)
	}
	pipelines := 0
	for i, b := range all {
		if b.lang != "yaml" {
			continue
		}
		pipelines++
		file := filepath.Join(t.TempDir(), "pipeline.yml")
		if err := os.WriteFile(file, []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, "explain", file)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("README.md:%d: refimage explain: %v\n%s", b.line, err, stderr.String())
			continue
		}
		if i+1 < len(all) && all[i+1].lang == "text" && strings.HasPrefix(all[i+1].text, "JOB") {
			if got, want := stdout.String(), all[i+1].text; got != want {
				t.Errorf("README.md:%d: refimage explain prints\n%s\nbut the README shows\n%s", all[i+1].line, got, want)
			}
		}
	}
	if pipelines == 0 {
		t.Fatal("the README shows no pipeline")
	}
}

// TestGoExampleCompiles vets the README's Go example inside the module.
func TestGoExampleCompiles(t *testing.T) {
	dir, all := readme(t)
	examples := 0
	for _, b := range all {
		if b.lang != "go" {
			continue
		}
		examples++
		pkg, err := os.MkdirTemp(filepath.Join(dir, "internal", "readme"), "example")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(pkg) })
		if err := os.WriteFile(filepath.Join(pkg, "example.go"), []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
		vet := exec.Command("go", "vet", "./"+filepath.Base(pkg))
		vet.Dir = filepath.Dir(pkg)
		if out, err := vet.CombinedOutput(); err != nil {
			t.Errorf("README.md:%d: the Go example does not compile: %v\n%s", b.line, err, out)
		}
	}
	if examples == 0 {
		t.Fatal("the README shows no Go example")
	}
}

// TestCommandsExist checks every make target and refimage subcommand the
// README names.
func TestCommandsExist(t *testing.T) {
	dir, all := readme(t)
	makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, m := range regexp.MustCompile("`make ([a-z-]+)").FindAllStringSubmatch(string(text), -1) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).Match(makefile) {
			t.Errorf("the README names `make %s`, which the Makefile lacks", m[1])
		}
	}
	for _, b := range all {
		if b.lang != "sh" {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(b.text), "\n") {
			fields := strings.Fields(line)
			switch {
			case len(fields) >= 2 && fields[0] == "make":
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(fields[1]) + `:`).Match(makefile) {
					t.Errorf("README.md:%d: make %s: no such target", b.line, fields[1])
				}
			case len(fields) >= 2 && fields[0] == "refimage":
				if fields[1] != "resolve" && fields[1] != "explain" {
					t.Errorf("README.md:%d: refimage %s: no such command", b.line, fields[1])
				}
			default:
				t.Errorf("README.md:%d: %q is a command no test runs", b.line, line)
			}
		}
	}
}

// TestSourcesAndParamsAreRealFields decodes every source and params the
// README's pipelines give refimage resources with the resource's strict
// decoding, so a misspelt or invented field in the README fails.
func TestSourcesAndParamsAreRealFields(t *testing.T) {
	_, all := readme(t)
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
	checked := 0
	for _, b := range all {
		if b.lang != "yaml" {
			continue
		}
		pipeline.ResourceTypes, pipeline.Resources = nil, nil
		if err := yaml.Unmarshal([]byte(b.text), &pipeline); err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		for _, rt := range pipeline.ResourceTypes {
			strictly(t, b.line, "defaults of "+rt.Name, rt.Defaults, &resource.Source{})
		}
		for _, r := range pipeline.Resources {
			if r.Type == "git" || r.Type == "time" {
				continue
			}
			strictly(t, b.line, "source of "+r.Name, r.Source, &resource.Source{})
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no source was checked")
	}
}

func strictly(t *testing.T, line int, what string, value map[string]any, into any) {
	t.Helper()
	body, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Errorf("README.md:%d: %s: %v", line, what, err)
	}
}
