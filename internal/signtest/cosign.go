package signtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CosignVersion is the version of the cosign CLI that tools/cosign/go.mod
// pins and CosignBinary builds.
const CosignVersion = "v2.6.5"

const cosignPackage = "github.com/sigstore/cosign/v2/cmd/cosign"

// cosignBuildTimeout bounds a cold build, which takes minutes: cosign links
// cloud KMS clients, a TUF client and the Rekor and Fulcio APIs.
const cosignBuildTimeout = 30 * time.Minute

var cosign struct {
	once sync.Once
	path string
	err  error
}

// CosignBinary returns the path of the cosign CLI, building it first if
// this machine has not yet (make cosign does the same): the result is
// cached at <repo root>/.cache/bin/cosign-<CosignVersion>.
func CosignBinary() (string, error) {
	cosign.once.Do(func() { cosign.path, cosign.err = buildCosign() })
	return cosign.path, cosign.err
}

func buildCosign() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("build cosign: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	path := filepath.Join(root, ".cache", "bin", "cosign-"+CosignVersion)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("build cosign: %w", err)
	}
	tmp := fmt.Sprintf("%s.build-%d", path, os.Getpid())
	defer os.Remove(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), cosignBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, "tools", "cosign"), "-o", tmp, cosignPackage)
	// GOWORK=off: a go.work at the root must not capture the tools module.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build cosign: go build %s: %w\n%s", cosignPackage, err, log.String())
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("build cosign: %w", err)
	}
	return path, nil
}
