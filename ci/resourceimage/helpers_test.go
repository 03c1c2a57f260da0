package resourceimage_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// eachEntry calls fn with each entry of the tar stream r, in order; body
// reads the entry's contents until fn returns.
func eachEntry(r io.Reader, fn func(h *tar.Header, body io.Reader)) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		Expect(err).NotTo(HaveOccurred())
		fn(h, tr)
	}
}

// extract unpacks a tar stream of refimage's own image (directories and
// regular files only, which the specs check) under dir.
func extract(r io.Reader, dir string) {
	eachEntry(r, func(h *tar.Header, body io.Reader) {
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			Expect(os.MkdirAll(p, 0o755)).To(Succeed())
		case tar.TypeReg:
			Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			Expect(err).NotTo(HaveOccurred())
			_, err = io.Copy(f, body)
			Expect(err).NotTo(HaveOccurred())
			Expect(f.Close()).To(Succeed())
		default:
			Fail("unexpected entry type in " + h.Name)
		}
	})
}

// asContainer gives an extracted rootfs what a container runtime mounts
// into every container and the image does not ship: /proc (Go's
// golang.org/x/sys/unix.Futimes, for one, goes through /proc/self/fd). Only
// root can; runInRootfs chroots only as root, too.
func asContainer(rootfs string) {
	if os.Geteuid() != 0 {
		return
	}
	proc := filepath.Join(rootfs, "proc")
	Expect(os.Mkdir(proc, 0o555)).To(Succeed())
	Expect(syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")).To(Succeed())
	DeferCleanup(func() {
		Expect(syscall.Unmount(proc, syscall.MNT_DETACH)).To(Succeed())
	})
}

// resourceRun is one exchange with a resource executable.
type resourceRun struct {
	stdout, stderr string
	code           int
}

// runInRootfs runs the executable at path (absolute, inside rootfs) as
// Concourse runs a resource: request on stdin, response on stdout, logs on
// stderr. As root it runs chrooted into rootfs, so that it sees the image's
// files only; otherwise it runs from the extracted tree directly.
func runInRootfs(rootfs, path string, request any, args ...string) resourceRun {
	req, err := json.Marshal(request)
	Expect(err).NotTo(HaveOccurred())
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command(path, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs}
		cmd.Dir = "/"
	} else {
		By("not root: running " + path + " from the extracted tree without chroot")
		cmd = exec.Command(filepath.Join(rootfs, path), args...)
	}
	// What Concourse sets, and nothing of this machine's environment.
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "BUILD_ID=1", "BUILD_NAME=1",
		"BUILD_JOB_NAME=ship", "BUILD_PIPELINE_NAME=refimage", "BUILD_TEAM_NAME=main"}
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, GinkgoWriter)
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		Expect(err).NotTo(HaveOccurred())
	}
	return resourceRun{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// source is the resource's source for the pushed image.
func source(tag string) map[string]any {
	return map[string]any{
		"repository": registry.Repo(repoName),
		"tag":        tag,
		"username":   registry.Username,
		"password":   registry.Password,
		"ca_certs":   []string{string(registry.CACertPEM)},
	}
}
