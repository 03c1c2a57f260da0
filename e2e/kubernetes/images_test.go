//go:build kubernetes

package kubernetes_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/ci/resourceimage"
	"github.com/refimage/refimage/internal/imagetest"
)

// buildTaskTool compiles tasktool (static, so it runs in an image with
// nothing else) into dir.
func buildTaskTool(dir string) (string, error) {
	out := filepath.Join(dir, "tasktool")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./tasktool")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tasktool: %w: %s", err, b)
	}
	return out, nil
}

// toolImage is an image holding tasktool as /tasktool, its entrypoint,
// and the files given (path → content), so that images with the same tool
// differ by their files.
func toolImage(tool string, files map[string]string, labels map[string]string, args ...string) (v1.Image, error) {
	bin, err := os.ReadFile(tool)
	if err != nil {
		return nil, err
	}
	entries := []imagetest.Entry{imagetest.File("tasktool", string(bin)).WithMode(0o755)}
	for p, c := range files {
		entries = append(entries, imagetest.File(p, c))
	}
	layer, err := imagetest.Layer(imagetest.Gzip, entries...)
	if err != nil {
		return nil, err
	}
	return imagetest.Image(imagetest.Spec{Layers: []v1.Layer{layer}, Entrypoint: []string{"/tasktool"},
		Cmd: args, Env: []string{"PATH=/"}, Labels: labels})
}

// pushLayout pushes the index of `make image`'s OCI layout to ref and
// returns its digest.
func pushLayout(dir, ref string, opts []remote.Option) (string, error) {
	idx, err := resourceimage.ReadLayout(dir)
	if err != nil {
		return "", fmt.Errorf("%w (make image writes it)", err)
	}
	return imagetest.PushIndex(ref, idx, opts...)
}

// pushTools pushes the tool image and the builder image (the tool, and a
// Docker tarball of an image for a put to push) to the registry; it
// returns both pinned references.
func pushTools() (string, string) {
	reg := k8s.registry
	img, err := toolImage(tool, nil, nil)
	Expect(err).NotTo(HaveOccurred())
	toolDigest, err := imagetest.Push(reg.repo("e2e/tool:1"), img, reg.remote(teamA)...)
	Expect(err).NotTo(HaveOccurred())

	out, err := toolImage(tool, map[string]string{"etc/marker": "pushed by out\n"}, nil)
	Expect(err).NotTo(HaveOccurred())
	tag, err := name.NewTag("build/output:latest")
	Expect(err).NotTo(HaveOccurred())
	var tarBytes bytes.Buffer
	Expect(tarball.Write(tag, out, &tarBytes)).To(Succeed())
	builder, err := toolImage(tool, map[string]string{"build/image.tar": tarBytes.String()}, nil)
	Expect(err).NotTo(HaveOccurred())
	builderDigest, err := imagetest.Push(reg.repo("e2e/builder:1"), builder, reg.remote(teamA)...)
	Expect(err).NotTo(HaveOccurred())
	return reg.repo("e2e/tool@" + toolDigest), reg.repo("e2e/builder@" + builderDigest)
}
