package depcheck_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/refimage/refimage"

// cloudSDKs are linked only by registry/cloud and what wires it in
// (internal/cli, cmd/*): a runtime that links the hook, or a library user
// of registry, does not link them unless it passes cloud's resolver.
var cloudSDKs = []string{"github.com/aws/", "github.com/Azure/", "github.com/AzureAD/", module + "/registry/cloud"}

// forbidden maps a package to the import path prefixes it must not reach,
// directly or through its dependencies.
var forbidden = map[string][]string{
	"registry/cloud": {module + "/check", module + "/in", module + "/out", module + "/hook", module + "/internal/", module + "/cmd", "k8s.io/",
		"github.com/vbauerster/mpb", "github.com/concourse/go-archive", "github.com/cyphar/filepath-securejoin"},
	"registry": {module + "/signature/sign", module + "/check", module + "/in", module + "/out", module + "/hook", module + "/internal/", module + "/cmd",
		"k8s.io/", "github.com/vbauerster/mpb", "github.com/concourse/go-archive", "github.com/cyphar/filepath-securejoin"},
	// The protocol package does no I/O: it must not reach the registry
	// client, whose transports and retries are another job.
	"resource": {module + "/signature/sign", module + "/registry", module + "/check", module + "/in", module + "/out", module + "/hook", module + "/internal/", module + "/cmd",
		"k8s.io/", "github.com/vbauerster/mpb", "github.com/concourse/go-archive", "github.com/cyphar/filepath-securejoin",
		"github.com/google/go-containerregistry/pkg/v1/remote", "net/http"},
	"check":     {module + "/signature/sign", module + "/in", module + "/out", module + "/hook", module + "/internal/", module + "/cmd", "k8s.io/", "github.com/vbauerster/mpb", "github.com/concourse/go-archive", "github.com/cyphar/filepath-securejoin"},
	"in":        {module + "/check", module + "/out", module + "/hook", module + "/internal/", module + "/cmd", "k8s.io/"},
	"out":       {module + "/check", module + "/in", module + "/hook", module + "/internal/", module + "/cmd", "k8s.io/"},
	"hook":      {module + "/signature/sign", module + "/in", module + "/out", module + "/internal/", module + "/cmd", "k8s.io/", "github.com/vbauerster/mpb", "github.com/concourse/go-archive", "github.com/cyphar/filepath-securejoin", "github.com/onsi/", "github.com/distribution/"},
	"hook/kube": {module + "/in", module + "/out", module + "/internal/", module + "/cmd", "k8s.io/client-go", "github.com/vbauerster/mpb", "github.com/onsi/", "github.com/distribution/"},
	// What verifies (linked by the hook, and by resource for parsing keys)
	// is standard library and ggcr's image model; signing (key decryption)
	// is out's alone.
	"signature": {module + "/resource", module + "/registry", module + "/check", module + "/in", module + "/out", module + "/hook", module + "/internal/", module + "/cmd",
		"k8s.io/", "golang.org/x/crypto/", "github.com/sigstore/", "github.com/google/go-containerregistry/pkg/v1/remote", "net/http"},
	"signature/sign": {module + "/resource", module + "/registry", module + "/check", module + "/in", module + "/hook", module + "/internal/", module + "/cmd", "k8s.io/", "github.com/sigstore/"},
	"internal/cli":   {module + "/check", module + "/in", module + "/out", module + "/hook", module + "/cmd", "k8s.io/"},
}

func init() {
	for _, pkg := range []string{"resource", "registry", "check", "in", "out", "hook", "hook/kube"} {
		forbidden[pkg] = append(forbidden[pkg], cloudSDKs...)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func TestImportDirections(t *testing.T) {
	root := repoRoot(t)
	for pkg, bans := range forbidden {
		if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
			continue // not written yet
		}
		cmd := exec.Command("go", "list", "-deps", "./"+pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			dep := sc.Text()
			for _, ban := range bans {
				if reaches(dep, ban) {
					t.Errorf("%s must not depend on %s (reached %s)", pkg, ban, dep)
				}
			}
		}
	}
}

// reaches reports whether dep is ban or below it; a ban ending in "/"
// names only what is below.
func reaches(dep, ban string) bool {
	if strings.HasSuffix(ban, "/") {
		return strings.HasPrefix(dep, ban)
	}
	return dep == ban || strings.HasPrefix(dep, ban+"/")
}

// processAccess is what only cmd/* and internal/cli may touch.
var processAccess = map[string]bool{"Stdin": true, "Stdout": true, "Args": true, "Exit": true, "Getenv": true, "LookupEnv": true, "Environ": true}

func TestOnlyMainsTouchTheProcess(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == ".git", rel == ".cache", rel == "tools", strings.HasPrefix(rel, "cmd"), rel == filepath.Join("internal", "cli"),
				strings.HasPrefix(rel, "internal/registrytest"), strings.HasPrefix(rel, "internal/demo"), strings.HasPrefix(rel, "e2e"), rel == "ci":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" && processAccess[sel.Sel.Name] {
				t.Errorf("%s uses os.%s: only cmd/* and internal/cli may", rel, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNothingImportsCmdOrTestHarnesses(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module+"/cmd") {
				t.Errorf("%s imports %s: nothing imports cmd", pkg, imp)
			}
			harness := strings.HasPrefix(imp, module+"/internal/registrytest") || strings.HasPrefix(imp, module+"/internal/imagetest")
			if harness && !strings.HasPrefix(pkg, module+"/internal/") && !strings.HasPrefix(pkg, module+"/ci") {
				t.Errorf("%s imports the test harness %s outside tests", pkg, imp)
			}
		}
	}
}
