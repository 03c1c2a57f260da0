package depcheck_test

import (
	"fmt"
	"go/version"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// shipModFile is the shipped set (README, "Two dependency sets"): what the
// executables are built with, through -modfile. It must never be behind
// go.mod, or the image would ship older code than a runtime's build of the
// same packages; `make bump-check` (CI) compares it with the proxy.
const shipModFile = "go.ship.mod"

// shipBehind lists how the shipped modfile falls behind the library's go.mod.
func shipBehind(libData, shipData []byte) ([]string, error) {
	lib, err := modfile.Parse("go.mod", libData, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.mod: %w", err)
	}
	ship, err := modfile.Parse(shipModFile, shipData, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", shipModFile, err)
	}
	var bad []string
	if ship.Module == nil || lib.Module == nil || ship.Module.Mod.Path != lib.Module.Mod.Path {
		bad = append(bad, fmt.Sprintf("%s must declare the module go.mod declares", shipModFile))
	}
	if lib.Go != nil && (ship.Go == nil || version.Compare("go"+ship.Go.Version, "go"+lib.Go.Version) < 0) {
		bad = append(bad, fmt.Sprintf("%s's go directive is below go.mod's %s: run `make bump`", shipModFile, lib.Go.Version))
	}
	shipped := map[string]string{}
	for _, r := range ship.Require {
		shipped[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range lib.Require {
		path, v := r.Mod.Path, r.Mod.Version
		got, ok := shipped[path]
		switch {
		case !ok && !r.Indirect:
			bad = append(bad, fmt.Sprintf("%s does not require %s, which go.mod requires directly: `go get -modfile=%s %s@latest` (or `make bump`)", shipModFile, path, shipModFile, path))
		case ok && semver.Compare(got, v) < 0:
			bad = append(bad, fmt.Sprintf("%s %s is behind go.mod's %s: run `make bump`", path, got, v))
		}
	}
	if replaces(lib) != replaces(ship) {
		bad = append(bad, fmt.Sprintf("go.mod and %s replace different modules: write each replace in both", shipModFile))
	}
	return bad, nil
}

func replaces(f *modfile.File) string {
	var rs []string
	for _, r := range f.Replace {
		rs = append(rs, r.Old.String()+" => "+r.New.String())
	}
	return strings.Join(rs, "\n")
}

func TestShippedSetIsNotBehindTheLibrary(t *testing.T) {
	root := repoRoot(t)
	lib, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	ship, err := os.ReadFile(filepath.Join(root, shipModFile))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := shipBehind(lib, ship)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

func TestShipBehindFindsEachKind(t *testing.T) {
	lib := "module example.com/m\ngo 1.25.6\nrequire (\n\tgithub.com/a/direct v1.2.0\n\tgithub.com/b/gone v1.0.0 // indirect\n)\n"
	cases := map[string]string{
		"module example.com/other\ngo 1.26.0\nrequire github.com/a/direct v1.3.0\n":                                       "must declare the module go.mod declares",
		"module example.com/m\ngo 1.25.0\nrequire github.com/a/direct v1.3.0\n":                                           "go directive is below go.mod's 1.25.6",
		"module example.com/m\ngo 1.26.0\nrequire github.com/a/direct v1.1.9\n":                                           "github.com/a/direct v1.1.9 is behind go.mod's v1.2.0",
		"module example.com/m\ngo 1.26.0\n":                                                                               "does not require github.com/a/direct",
		"module example.com/m\ngo 1.26.0\nrequire (\n\tgithub.com/a/direct v1.3.0\n\tgithub.com/b/gone v0.9.0\n)\n":       "github.com/b/gone v0.9.0 is behind",
		"module example.com/m\ngo 1.26.0\nrequire github.com/a/direct v1.3.0\nreplace github.com/a/direct => ../direct\n": "replace different modules",
	}
	for ship, want := range cases {
		bad, err := shipBehind([]byte(lib), []byte(ship))
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) != 1 || !strings.Contains(bad[0], want) {
			t.Errorf("%s %q: got %q, want one problem containing %q", shipModFile, ship, bad, want)
		}
	}
	ahead := "module example.com/m\ngo 1.26.0\nrequire github.com/a/direct v1.3.0\n"
	if bad, err := shipBehind([]byte(lib), []byte(ahead)); err != nil || len(bad) != 0 {
		t.Errorf("a shipped set ahead of go.mod, an indirect module dropped: got %q, %v", bad, err)
	}
}
