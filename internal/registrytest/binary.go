package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// DistributionVersion is the version of the CNCF Distribution registry that
// tools/distribution/go.mod pins and StartDistribution runs.
const DistributionVersion = "v3.1.2"

// distributionPackage is the main package of the registry binary.
const distributionPackage = "github.com/distribution/distribution/v3/cmd/registry"

// buildTimeout bounds a cold build (about a minute and a half on a warm
// module cache), so a wedged toolchain fails the suite instead of hanging it.
const buildTimeout = 10 * time.Minute

var binary struct {
	once sync.Once
	path string
	err  error
}

// DistributionBinary returns the path of the registry binary, building it
// first if this machine has not yet: the result is cached at
// <repo root>/.cache/bin/registry-<DistributionVersion> and reused by every
// later test process. Concurrent first builds (parallel packages or Ginkgo
// processes) are safe: each builds to a temporary name in the same directory
// and renames it into place, which is atomic, and Go's build cache makes the
// duplicate work cheap.
func DistributionBinary() (string, error) {
	binary.once.Do(func() {
		binary.path, binary.err = ensureBinary()
	})
	return binary.path, binary.err
}

func ensureBinary() (string, error) {
	return BuildTool("distribution", distributionPackage, "registry-"+DistributionVersion, buildTimeout)
}

// BuildTool returns <repo root>/.cache/bin/<file>, building pkg from the
// module in tools/<module> into it first if this machine has not yet (a
// tool the suites run: the registry, the cosign CLI). Concurrent first
// builds are safe: each builds to a temporary name in the same directory
// and renames it into place.
func BuildTool(module, pkg, file string, timeout time.Duration) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("build %s: %w", file, err)
	}
	dir := filepath.Join(root, ".cache", "bin")
	path := filepath.Join(dir, file)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", file, err)
	}
	tmp, err := os.CreateTemp(dir, "."+file+"-build-*")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", file, err)
	}
	tmpPath := tmp.Name()
	_ = tmp.Close()
	// Removing after a successful rename fails harmlessly.
	defer os.Remove(tmpPath)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, "tools", module), "-o", tmpPath, pkg)
	// GOWORK=off: a go.work at the root must not capture the tools module.
	// CGO_ENABLED=0: the tests need Go only, not a C toolchain. GOFLAGS
	// without -modfile: the root's shipped set (make test) is not the
	// tools module's go.mod.
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS="+withoutModfile(os.Getenv("GOFLAGS")))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: go build %s: %w\n%s", file, pkg, err, out.String())
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return "", fmt.Errorf("build %s: %w", file, err)
	}
	return path, nil
}

// repoRoot finds the main module's root: from this source file's path when
// the binary was built without -trimpath, otherwise from `go env GOMOD` run
// in the working directory (a test's directory lies inside the module).
func repoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if isToolsRoot(root) {
			return filepath.Clean(root), nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find repository root: not inside a Go module")
	}
	root := filepath.Dir(gomod)
	if !isToolsRoot(root) {
		return "", fmt.Errorf("find repository root: %s has no tools/distribution/go.mod", root)
	}
	return root, nil
}

func isToolsRoot(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "tools", "distribution", "go.mod"))
	return err == nil
}

// withoutModfile is goflags less any -modfile flag.
func withoutModfile(goflags string) string {
	var kept []string
	for _, f := range strings.Fields(goflags) {
		if !strings.HasPrefix(f, "-modfile=") && !strings.HasPrefix(f, "--modfile=") {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, " ")
}
