package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestDemo keeps the README's first command true: the whole demo runs and
// shows each action's answer.
func TestDemo(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	runErr := run()
	os.Stdout = stdout
	w.Close()
	out := <-done
	if runErr != nil {
		t.Fatalf("demo failed: %v\n%s", runErr, out)
	}
	for _, want := range []string{
		`"tag": "1.1.0"`,                // check
		`unknown field "tag_regx"`,      // a bad request
		`"value": "1.2.0 1.2 1 latest"`, // out with bump_aliases
		"reference only: fetch_artifact is not set and this runs in a Kubernetes pod", // in as a pod
		"rootfs/etc/greeting", // in with fetch_artifact
		"test   app-image              app-image  refimage  skip pod",  // explain
		"carries the label io.github.refimage.produces=registry-image", // explain --labels
		`"image_pull_policy": "IfNotPresent"`,                          // resolve
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q\n%s", want, out)
		}
	}
}
