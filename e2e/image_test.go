//go:build e2e

package e2e_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/registrytest"
)

// taskSource is the task's program: it prints its arguments and a file
// only the image has, so the output proves which image ran.
const taskSource = `package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	marker, err := os.ReadFile("/etc/refimage-marker")
	if err != nil {
		fmt.Println("no marker:", err)
		os.Exit(3)
	}
	fmt.Printf("task ran: %s; marker: %s\n", strings.Join(os.Args[1:], " "), strings.TrimSpace(string(marker)))
}
`

// buildTaskBinary compiles taskSource as a static Linux binary.
func buildTaskBinary() []byte {
	dir := GinkgoT().TempDir()
	Expect(os.WriteFile(filepath.Join(dir, "main.go"), []byte(taskSource), 0o644)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module task\n\ngo 1.26\n"), 0o644)).To(Succeed())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "task", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	bin, err := os.ReadFile(filepath.Join(dir, "task"))
	Expect(err).NotTo(HaveOccurred())
	return bin
}

// taskImage is one layer holding /task and /etc/refimage-marker.
func taskImage(marker string) v1.Image {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	bin := buildTaskBinary()
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"task", 0o755, bin}, {"etc/", 0o755, nil}, {"etc/refimage-marker", 0o644, []byte(marker + "\n")}} {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag = tar.TypeDir
		}
		Expect(tw.WriteHeader(hdr)).To(Succeed())
		_, err := tw.Write(f.data)
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(tw.Close()).To(Succeed())
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	Expect(err).NotTo(HaveOccurred())
	img, err := mutate.AppendLayers(empty.Image, layer)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := img.ConfigFile()
	Expect(err).NotTo(HaveOccurred())
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint = []string{"/task"}
	img, err = mutate.ConfigFile(img, cfg)
	Expect(err).NotTo(HaveOccurred())
	return img
}

// push writes img under repo:tag on the registry, as an upstream put would.
func push(reg *registrytest.Registry, img v1.Image, ref string) v1.Hash {
	tag, err := name.NewTag(reg.Repo(ref))
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(tag, img, reg.RemoteOptions()...)).To(Succeed())
	d, err := img.Digest()
	Expect(err).NotTo(HaveOccurred())
	return d
}
