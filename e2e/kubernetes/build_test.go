//go:build kubernetes

package kubernetes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"
)

// buildTimeout bounds a cold build: about 6 minutes on a quiet 2-core
// machine with empty Go caches, 20 on a busy one.
const buildTimeout = 40 * time.Minute

// kubeBinaries returns the directory holding kube-apiserver and kubelet at
// k8sVersion, building them first when the cache lacks them. A binary that
// already reports the pinned version is kept, so a warm run costs two
// `--version` calls.
func kubeBinaries(s settings, log io.Writer) (string, error) {
	bin := filepath.Join(s.cache, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("build Kubernetes: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(s.cache, ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("build Kubernetes: %w", err)
	}
	defer lock.Close()
	// One build at a time per cache; the lock goes with the process.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("build Kubernetes: lock the cache: %w", err)
	}
	var need []string
	for _, b := range []string{"kube-apiserver", "kubelet"} {
		if !reportsVersion(filepath.Join(bin, b)) {
			need = append(need, b)
		}
	}
	if len(need) == 0 {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	fmt.Fprintf(log, "building %s %s from the k8s.io/kubernetes module into %s (cold: about 6 min, up to 20 on a busy machine)\n",
		strings.Join(need, " and "), k8sVersion, bin)
	if err := buildFromModule(ctx, s, need, bin); err != nil {
		return "", fmt.Errorf("build Kubernetes %s: %w", k8sVersion, err)
	}
	fmt.Fprintf(log, "built %s in %.0fs\n", strings.Join(need, " and "), time.Since(start).Seconds())
	return bin, nil
}

func reportsVersion(path string) bool {
	out, err := exec.Command(path, "--version").Output()
	return err == nil && strings.Contains(string(out), "Kubernetes "+k8sVersion)
}

// kubeModule is what `go mod download -json` says about k8s.io/kubernetes.
type kubeModule struct {
	GoMod  string
	Origin struct{ Hash string }
}

// buildFromModule writes the wrapper module (its go.mod requires
// k8s.io/kubernetes and pins every staging module that the kubernetes
// go.mod replaces with a ./staging path at its published tag, since
// replace directives of a dependency are ignored), tidies it when it
// changed, and builds the commands with their version stamps.
func buildFromModule(ctx context.Context, s settings, cmds []string, bin string) error {
	src := filepath.Join(s.cache, "src", "kubernetes-"+k8sVersion)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	out, err := goCmd(ctx, src, "mod", "download", "-json", "k8s.io/kubernetes@"+k8sVersion)
	if err != nil {
		return err
	}
	var km kubeModule
	if err := json.Unmarshal(out, &km); err != nil {
		return fmt.Errorf("read go mod download's answer: %w", err)
	}
	gomod, err := wrapperGoMod(km.GoMod)
	if err != nil {
		return err
	}
	if old, _ := os.ReadFile(filepath.Join(src, "go.mod.in")); !bytes.Equal(old, gomod) {
		if err := writeWrapper(src, gomod); err != nil {
			return err
		}
		if _, err := goCmd(ctx, src, "mod", "tidy"); err != nil {
			return err
		}
		// go.mod.in last: a wrapper whose tidy failed is tidied again next time.
		if err := os.WriteFile(filepath.Join(src, "go.mod.in"), gomod, 0o644); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(s.cache, ".out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"build", "-buildvcs=false", "-ldflags=" + versionFlags(km.Origin.Hash), "-o", tmp + "/"}
	for _, c := range cmds {
		args = append(args, "k8s.io/kubernetes/cmd/"+c)
	}
	if _, err := goCmd(ctx, src, args...); err != nil {
		return err
	}
	for _, c := range cmds {
		if err := os.Rename(filepath.Join(tmp, c), filepath.Join(bin, c)); err != nil {
			return err
		}
		if !reportsVersion(filepath.Join(bin, c)) {
			return fmt.Errorf("%s does not report Kubernetes %s after the build", c, k8sVersion)
		}
	}
	return nil
}

// wrapperGoMod derives the wrapper's go.mod from the kubernetes go.mod.
func wrapperGoMod(kubeGoMod string) ([]byte, error) {
	data, err := os.ReadFile(kubeGoMod)
	if err != nil {
		return nil, fmt.Errorf("read the kubernetes go.mod: %w", err)
	}
	f, err := modfile.Parse(kubeGoMod, data, nil) // not ParseLax, which drops replace directives
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", kubeGoMod, err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "module refimage-k8s-build\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\n", f.Go.Version, k8sVersion)
	for _, r := range f.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			fmt.Fprintf(&b, "replace %s => %s %s\n", r.Old.Path, r.Old.Path, stagingVersion)
		}
	}
	return b.Bytes(), nil
}

func writeWrapper(src string, gomod []byte) error {
	tools := "//go:build tools\n\npackage tools\n\nimport (\n\t_ \"k8s.io/kubernetes/cmd/kube-apiserver\"\n\t_ \"k8s.io/kubernetes/cmd/kubelet\"\n)\n"
	_ = os.Remove(filepath.Join(src, "go.sum"))
	for name, data := range map[string][]byte{"go.mod": gomod, "tools.go": []byte(tools)} {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// versionFlags stamp what /version, --version and the node's
// status.nodeInfo.kubeletVersion report; a module build has no git tree.
func versionFlags(commit string) string {
	minor := strings.SplitN(strings.TrimPrefix(k8sVersion, "v1."), ".", 2)[0]
	var f []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		f = append(f, "-X", pkg+".gitVersion="+k8sVersion, "-X", pkg+".gitMajor=1", "-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean")
		if commit != "" {
			f = append(f, "-X", pkg+".gitCommit="+commit)
		}
	}
	return strings.Join(f, " ")
}

// goCmd runs the go command in dir with the module proxy's settings of
// this environment, and returns its stdout.
func goCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args[:min(len(args), 3)], " "), err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
