//go:build concourse

// Command tasktool is the only program in the concourse suite's task images
// (which have no shell): a few busybox-like commands, run in sequence, with
// "+" between commands:
//
//	tasktool cat FILE... + ls DIR... + image FORMAT DIR MARKER [TAG...] + dial HOST:PORT...
//
// `image` writes an image of one layer (this binary as /tasktool and
// MARKER in /etc/refimage-marker) to DIR: FORMAT "tarball" writes
// DIR/image.tar, "layout" an OCI layout in DIR; TAGs go to DIR/tags.
// `dial` prints whether a TCP connection to each address opens.
package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	for _, cmd := range split(os.Args[1:]) {
		if err := run(cmd); err != nil {
			fmt.Fprintf(os.Stderr, "tasktool %s: %v\n", strings.Join(cmd, " "), err)
			os.Exit(1)
		}
	}
}

func split(args []string) [][]string {
	var cmds [][]string
	cur := []string{}
	for _, a := range args {
		if a == "+" {
			cmds, cur = append(cmds, cur), []string{}
			continue
		}
		cur = append(cur, a)
	}
	return append(cmds, cur)
}

func run(cmd []string) error {
	if len(cmd) == 0 {
		return fmt.Errorf("no command")
	}
	switch cmd[0] {
	case "cat":
		for _, f := range cmd[1:] {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			fmt.Printf("%s: %s\n", f, strings.TrimSpace(string(data)))
		}
		return nil
	case "ls":
		for _, d := range cmd[1:] {
			entries, err := os.ReadDir(d)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(entries))
			for _, e := range entries {
				names = append(names, e.Name())
			}
			sort.Strings(names)
			fmt.Printf("%s: %s\n", d, strings.Join(names, " "))
		}
		return nil
	case "dial":
		for _, addr := range cmd[1:] {
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				fmt.Printf("dial %s: %v\n", addr, err)
				continue
			}
			conn.Close()
			fmt.Printf("dial %s: connected\n", addr)
		}
		return nil
	case "image":
		if len(cmd) < 4 {
			return fmt.Errorf("usage: image FORMAT DIR MARKER [TAG...]")
		}
		return writeImage(cmd[1], cmd[2], cmd[3], cmd[4:])
	}
	return fmt.Errorf("unknown command %q", cmd[0])
}

func writeImage(format, dir, marker string, tags []string) error {
	img, err := image(marker)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(tags) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "tags"), []byte(strings.Join(tags, " ")+"\n"), 0o644); err != nil {
			return err
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s digest: %s\n", marker, d)
	switch format {
	case "tarball":
		ref, err := name.NewTag("image:" + "built")
		if err != nil {
			return err
		}
		return tarball.WriteToFile(filepath.Join(dir, "image.tar"), ref, img)
	case "layout":
		p, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
		if err != nil {
			return err
		}
		return p.AppendImage(img)
	}
	return fmt.Errorf("unknown format %q (tarball or layout)", format)
}

// image is this binary as /tasktool and the marker file, runnable as a
// task image.
func image(marker string) (v1.Image, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"tasktool", 0o755, bin}, {"etc/refimage-marker", 0o644, []byte(marker + "\n")}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint = []string{"/tasktool"}
	return mutate.ConfigFile(img, cfg)
}
