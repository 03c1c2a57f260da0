// Command demo is `make demo`: it starts an in-process registry on
// 127.0.0.1, pushes generated images, builds refimage's executables and
// runs them exactly as Concourse does (request on stdin, response on
// stdout, logs on stderr), printing each exchange. No Docker, no network.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	bin, err := os.MkdirTemp("", "refimage-demo-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(bin)
	if err := buildExecutables(bin); err != nil {
		return err
	}

	reg := registrytest.NewInProcess()
	defer reg.Close()
	repo := reg.Repo("demo/app")
	digests, err := pushTags(reg, repo)
	if err != nil {
		return err
	}
	d := &demo{bin: bin}
	source := map[string]any{"repository": repo, "insecure": true}
	if err := d.check(repo, source, digests); err != nil {
		return err
	}
	pushed, err := d.put(source)
	if err != nil {
		return err
	}
	if err := d.get(source, pushed); err != nil {
		return err
	}
	typeRepo := reg.Repo("refimage/refimage")
	labelled := imagetest.Spec{Labels: map[string]string{hook.ProducesLabel: hook.ProducesRegistryImage}}
	if _, err := imagetest.Push(typeRepo+":1", imagetest.MustImage(labelled), reg.RemoteOptions()...); err != nil {
		return fmt.Errorf("push the demo type's image: %w", err)
	}
	return d.hook(repo, typeRepo, pushed)
}

// buildExecutables builds refimage's commands into bin.
func buildExecutables(bin string) error {
	for _, cmd := range []string{"check", "in", "out", "refimage"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, cmd), "github.com/refimage/refimage/cmd/"+cmd)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build %s: %w", cmd, err)
		}
	}
	return nil
}

// pushTags pushes generated images under release tags, aliases, a
// pre-release and a nightly, prints them and returns their digests by tag.
func pushTags(reg *registrytest.Registry, repo string) (map[string]string, error) {
	heading("An in-process registry at %s; pushing generated images to %s", reg.Host, repo)
	tags := imagetest.TagSet{"1.0.0": "v1.0.0", "1.1.0": "v1.1.0", "1.1": "v1.1.0", "1": "v1.1.0", "1.2.0-rc.1": "rc", "latest": "v1.1.0", "nightly": "nightly"}
	digests, err := imagetest.PushTags(repo, tags.TagImages(), reg.RemoteOptions()...)
	if err != nil {
		return nil, fmt.Errorf("push demo images: %w", err)
	}
	for _, t := range tags.TagImages() {
		fmt.Printf("  %-11s %s\n", t.Tag, digests[t.Tag])
	}
	return digests, nil
}

// check runs check on the pushed tags: discovery, a cursor, a fixed tag and
// a source with a mistake in it.
func (d *demo) check(repo string, source map[string]any, digests map[string]string) error {
	heading("check, semver discovery (aliases collapse, pre-releases skipped, latest already a version)")
	if _, err := d.exec("check", map[string]any{"source": source}); err != nil {
		return err
	}

	heading("check with a cursor: only that version and newer ones")
	if _, err := d.exec("check", map[string]any{"source": source, "version": map[string]string{"tag": "1.1.0", "digest": digests["1.1.0"]}}); err != nil {
		return err
	}

	heading("check with tag: nightly")
	withTag := map[string]any{"repository": repo, "insecure": true, "tag": "nightly"}
	if _, err := d.exec("check", map[string]any{"source": withTag}); err != nil {
		return err
	}

	heading("check with a mistake in the source: one line on stderr, nothing on stdout, exit 1")
	if _, err := d.exec("check", map[string]any{"source": map[string]any{"repository": repo, "tag_regx": "^v"}}); err == nil {
		return fmt.Errorf("check accepted an unknown field")
	}
	return nil
}

// demoPipeline is a two-job pipeline: build pushes the image, test gets it
// with passed: [build] and runs a task in it that also takes it as input.
// The type's image, like refimage's, carries the label
// io.github.refimage.produces=registry-image: no produces: key, which stock
// Concourse rejects.
const demoPipeline = `resource_types:
- name: refimage
  type: registry-image
  source: {repository: %[2]s, tag: "1", insecure: true}

resources:
- name: app-image
  type: refimage
  source: {repository: %[1]s, insecure: true}

jobs:
- name: build
  plan:
  - task: build
    config:
      platform: linux
      outputs: [{name: image}]
      run: {path: build}
  - put: app-image
    params: {image: image/image.tar, version: 1.2.0}
- name: test
  plan:
  - get: app-image
    passed: [build]
  - task: unit
    image: app-image
    config:
      platform: linux
      inputs: [{name: app-image}]
      run: {path: /bin/app}
`

// hook explains the pipeline and resolves its get with no pod, as a
// Kubernetes runtime would through the hook. typeRepo holds the custom
// type's image, labelled as refimage's own image is.
func (d *demo) hook(repo, typeRepo string, version json.RawMessage) error {
	pipeline := filepath.Join(d.bin, "pipeline.yml")
	if err := os.WriteFile(pipeline, fmt.Appendf(nil, demoPipeline, repo, typeRepo), 0o644); err != nil {
		return fmt.Errorf("write demo pipeline: %w", err)
	}
	heading("refimage explain --labels pipeline.yml: which gets need a pod, and who uses them (the type image's label read from the registry)")
	explain := exec.Command(filepath.Join(d.bin, "refimage"), "explain", "--labels", pipeline)
	explain.Stdout, explain.Stderr = os.Stdout, os.Stderr
	if err := explain.Run(); err != nil {
		return fmt.Errorf("refimage explain: %w", err)
	}

	heading("refimage resolve: job test's get, answered in process with no pod (files, pinned reference, Kubernetes objects)")
	d.env = nil
	// The get plan a Concourse 7+ runtime holds for it: the custom type's
	// image is a get of ghcr.io/refimage/refimage, which the runtime's
	// operator lists as an image type.
	req := map[string]any{
		"name":    "app-image",
		"type":    "refimage",
		"source":  map[string]any{"repository": repo, "insecure": true},
		"version": version,
		"image": map[string]any{"base_type": "registry-image", "get_plan": map[string]any{"get": map[string]any{
			"name": "refimage", "type": "registry-image", "source": map[string]any{"repository": "ghcr.io/refimage/refimage"},
			"image": map[string]any{"base_type": "registry-image"}}}},
		"runtime":    map[string]any{"image_types": []map[string]any{{"repository": "ghcr.io/refimage/refimage", "in": "refimage"}}},
		"kubernetes": map[string]any{"namespace": "ci", "input_path": "/tmp/build/app-image"},
	}
	_, err := d.exec("refimage", req, "resolve")
	return err
}

// put writes an image as an OCI layout and pushes it with out.
func (d *demo) put(source map[string]any) (json.RawMessage, error) {
	inputs := filepath.Join(d.bin, "put-inputs")
	layer, err := imagetest.Layer(imagetest.Gzip, imagetest.File("etc/greeting", "hello from refimage\n"), imagetest.File("bin/app", "#!/bin/sh\necho app\n").WithMode(0o755))
	if err != nil {
		return nil, fmt.Errorf("build demo layer: %w", err)
	}
	img, err := imagetest.Image(imagetest.Spec{Layers: []v1.Layer{layer}, Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/app"},
		Labels: map[string]string{"org.opencontainers.image.title": "demo"}})
	if err != nil {
		return nil, fmt.Errorf("build demo image: %w", err)
	}
	lp, err := layout.Write(filepath.Join(inputs, "image"), empty.Index)
	if err != nil {
		return nil, fmt.Errorf("write OCI layout: %w", err)
	}
	if err := lp.AppendImage(img); err != nil {
		return nil, fmt.Errorf("write OCI layout: %w", err)
	}
	heading("out: push an OCI layout as version 1.2.0, moving the 1.2, 1 and latest aliases")
	resp, err := d.exec("out", map[string]any{"source": source, "params": map[string]any{"image": "image", "version": "1.2.0", "bump_aliases": true}}, inputs)
	if err != nil {
		return nil, err
	}
	var printed struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(resp, &printed); err != nil {
		return nil, fmt.Errorf("decode out's response: %w", err)
	}
	return printed.Version, nil
}

// get runs in on the pushed version in both modes and shows what it wrote.
func (d *demo) get(source map[string]any, version json.RawMessage) error {
	req := map[string]any{"source": source, "version": version}

	heading("in as a Kubernetes pod (KUBERNETES_SERVICE_HOST set): the reference only, one manifest HEAD")
	refDir := filepath.Join(d.bin, "get-reference")
	d.env = []string{"KUBERNETES_SERVICE_HOST=10.0.0.1"}
	if _, err := d.exec("in", req, refDir); err != nil {
		return err
	}
	if err := listFiles(refDir, true); err != nil {
		return err
	}

	heading("in with params.fetch_artifact: true: the whole image, as registry-image writes it")
	fullDir := filepath.Join(d.bin, "get-full")
	req["params"] = map[string]any{"fetch_artifact": true}
	if _, err := d.exec("in", req, fullDir); err != nil {
		return err
	}
	return listFiles(fullDir, false)
}

// listFiles prints the files below dir, with their contents when asked.
func listFiles(dir string, contents bool) error {
	return filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !contents {
			fmt.Printf("  %s\n", rel)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Printf("  %-10s %s\n", rel, data)
		return nil
	})
}

func heading(format string, args ...any) {
	fmt.Printf("\n== "+format+"\n", args...)
}

type demo struct {
	bin string
	env []string // added to the environment of the executables
}

// exec runs one executable with req on stdin and shows the exchange.
func (d *demo) exec(cmd string, req any, args ...string) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	fmt.Printf("$ echo '%s' | %s %s\n", body, cmd, strings.Join(args, " "))
	c := exec.Command(filepath.Join(d.bin, cmd), args...)
	c.Stdin = bytes.NewReader(body)
	c.Env = append(os.Environ(), d.env...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	runErr := c.Run()
	for _, line := range strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n") {
		if line != "" {
			fmt.Printf("  stderr| %s\n", line)
		}
	}
	if stdout.Len() > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, stdout.Bytes(), "  ", "  ") == nil {
			fmt.Printf("  stdout: %s\n", strings.TrimSpace(pretty.String()))
		} else {
			fmt.Printf("  stdout: %s", stdout.String())
		}
	}
	if runErr != nil {
		fmt.Printf("  exit: %v\n", runErr)
		return nil, fmt.Errorf("%s: %w", cmd, runErr)
	}
	return stdout.Bytes(), nil
}
