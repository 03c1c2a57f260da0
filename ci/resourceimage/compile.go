package resourceimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// VersionVariable is the string variable the build stamps with the
// release (-ldflags -X).
const VersionVariable = "github.com/refimage/refimage/internal/cli.Version"

// ShipModFile is the modfile, beside go.mod, that holds the shipped
// dependency set: the newest releases (`make bump`). go.mod keeps the
// oldest versions that work, for runtimes that import the hook.
const ShipModFile = "go.ship.mod"

// BuildFlags are the go build flags of every image binary, before -ldflags:
// the shipped dependency set (relative to the module's directory, where go
// build runs), no module path or VCS state in the binary, so the output
// depends on the source alone. The Dockerfile spells out the same flags.
var BuildFlags = []string{"-modfile=" + ShipModFile, "-trimpath", "-buildvcs=false"}

// LDFlags are the linker flags for version: strip the symbol table and
// DWARF, stamp the version.
func LDFlags(version string) string {
	return "-s -w -X " + VersionVariable + "=" + version
}

// BuildEnv is the environment go build needs besides GOOS and GOARCH:
// static binaries, and the baseline instruction sets, so that the build
// machine's GOAMD64/GOARM64 settings cannot change the output.
var BuildEnv = []string{"CGO_ENABLED=0", "GOAMD64=v1", "GOARM64=v8.0"}

// Compiled maps a Binary's Name to the file go build wrote.
type Compiled map[string]string

// Compile builds the image's binaries for platform from the module in
// moduleDir into outDir, with one go build invocation.
func Compile(ctx context.Context, moduleDir, outDir string, platform v1.Platform, version string) (Compiled, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("compile for %s: %w", platform, err)
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-ldflags", LDFlags(version), "-o", outDir+string(filepath.Separator))
	out := Compiled{}
	for _, b := range Binaries {
		args = append(args, "./cmd/"+b.Name)
		out[b.Name] = filepath.Join(outDir, b.Name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	cmd.Env = buildEnv(platform)
	var log bytes.Buffer
	cmd.Stdout = &log
	cmd.Stderr = &log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build for %s: %w: %s", platform, err, strings.TrimSpace(log.String()))
	}
	return out, nil
}

// buildEnv is this process's environment with every variable that steers
// go build replaced by the image's settings.
func buildEnv(platform v1.Platform) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOAMD64", "GOARM64", "GOFLAGS", "GOEXPERIMENT", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, BuildEnv...)
	return append(env, "GOOS="+platform.OS, "GOARCH="+platform.Architecture, "GOFLAGS=", "GOWORK=off")
}
