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
	for _, cmd := range []string{"check", "in", "out"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, cmd), "./cmd/"+cmd)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build %s: %w", cmd, err)
		}
	}

	reg := registrytest.NewInProcess()
	defer reg.Close()
	repo := reg.Repo("demo/app")
	heading("An in-process registry at %s; pushing generated images to %s", reg.Host, repo)
	tags := imagetest.TagSet{"1.0.0": "v1.0.0", "1.1.0": "v1.1.0", "1.1": "v1.1.0", "1": "v1.1.0", "1.2.0-rc.1": "rc", "latest": "v1.1.0", "nightly": "nightly"}
	digests, err := imagetest.PushTags(repo, tags.TagImages(), reg.RemoteOptions()...)
	if err != nil {
		return fmt.Errorf("push demo images: %w", err)
	}
	for _, t := range tags.TagImages() {
		fmt.Printf("  %-11s %s\n", t.Tag, digests[t.Tag])
	}

	d := demo{bin: bin}
	source := map[string]any{"repository": repo, "insecure": true}

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

func heading(format string, args ...any) {
	fmt.Printf("\n== "+format+"\n", args...)
}

type demo struct{ bin string }

// exec runs one executable with req on stdin and shows the exchange.
func (d demo) exec(cmd string, req any, args ...string) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	fmt.Printf("$ echo '%s' | %s %s\n", body, cmd, strings.Join(args, " "))
	c := exec.Command(filepath.Join(d.bin, cmd), args...)
	c.Stdin = bytes.NewReader(body)
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
