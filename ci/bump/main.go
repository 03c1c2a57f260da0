// Command bump moves the shipped dependency set (go.ship.mod, the modfile
// `make bin`, `make image` and `make base-type` build with) to the newest
// releases the module proxy serves (`make bump`), or reports, with -check,
// every module it would move (`make bump-check`, run by CI).
//
// Every module the file requires is asked for @upgrade, which is @latest
// unless the file already holds something newer (a pseudo-version past the
// last tag). A module whose newest release needs a newer Go than the
// toolchain stays where it is and is named, because GOTOOLCHAIN=local keeps
// the build on the Go the Dockerfile and CI use. go.mod, the set a runtime
// importing the hook reads, is never touched.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	modfile := flag.String("modfile", "go.ship.mod", "the shipped set's `modfile`, beside go.mod")
	check := flag.Bool("check", false, "change nothing; list the modules a bump would move and fail if there are any")
	flag.Parse()
	if err := run(*modfile, *check); err != nil {
		fmt.Fprintln(os.Stderr, "bump:", err)
		os.Exit(1)
	}
}

func run(modfile string, check bool) error {
	modfile, err := filepath.Abs(modfile)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", modfile, err)
	}
	before, err := requires(modfile)
	if err != nil {
		return err
	}
	target := modfile
	if check {
		tmp, err := os.MkdirTemp("", "bump-check-")
		if err != nil {
			return fmt.Errorf("create a scratch copy: %w", err)
		}
		defer os.RemoveAll(tmp)
		if target, err = copyModfile(modfile, tmp); err != nil {
			return err
		}
	}
	held, err := bump(target)
	if err != nil {
		return err
	}
	after, err := requires(target)
	if err != nil {
		return err
	}
	for _, h := range held {
		fmt.Fprintln(os.Stderr, "held:", h)
	}
	moved := diff(before, after)
	for _, m := range moved {
		fmt.Println(m)
	}
	if check && len(moved) > 0 {
		return fmt.Errorf("%s is behind the newest releases in %d module(s): run `make bump`, test, commit go.ship.mod and go.ship.sum", filepath.Base(modfile), len(moved))
	}
	return nil
}

// bump upgrades every requirement of modfile until go mod tidy changes
// nothing more, and returns the modules held back by their Go version.
func bump(modfile string) ([]string, error) {
	held := map[string]string{}
	for round := 0; round < 5; round++ {
		reqs, err := requires(modfile)
		if err != nil {
			return nil, err
		}
		if err := upgrade(modfile, reqs, held); err != nil {
			return nil, err
		}
		if _, err := goCmd(modfile, "mod", "tidy"); err != nil {
			return nil, err
		}
		after, err := requires(modfile)
		if err != nil {
			return nil, err
		}
		if len(diff(reqs, after)) == 0 {
			var out []string
			for _, h := range held {
				out = append(out, h)
			}
			sort.Strings(out)
			return out, nil
		}
	}
	return nil, errors.New("the requirements still move after 5 rounds of go get and go mod tidy")
}

// needsNewerGo is how go get names a release the local toolchain cannot build.
var needsNewerGo = regexp.MustCompile(`(\S+)@(v\S+) requires go >= ([0-9.]+)`)

// upgrade runs one go get of every requirement not held, holding back (and
// recording in held) each module whose upgrade needs a newer Go.
func upgrade(modfile string, reqs map[string]string, held map[string]string) error {
	for {
		args := []string{"get"}
		for path := range reqs {
			if _, ok := held[path]; !ok && path != "go" {
				args = append(args, path+"@upgrade")
			}
		}
		sort.Strings(args[1:])
		out, err := goCmd(modfile, args...)
		if err == nil {
			return nil
		}
		progress := false
		for _, m := range needsNewerGo.FindAllStringSubmatch(out, -1) {
			if _, ok := reqs[m[1]]; ok {
				if _, was := held[m[1]]; !was {
					held[m[1]] = fmt.Sprintf("%s is not asked for its newest release %s, which needs go %s: it gets what the other modules require", m[1], m[2], m[3])
					progress = true
				}
			}
		}
		if !progress {
			return err
		}
	}
}

// requires reads modfile's requirements, path to version.
func requires(modfile string) (map[string]string, error) {
	out, err := exec.Command("go", "mod", "edit", "-json", modfile).Output()
	if err != nil {
		return nil, fmt.Errorf("go mod edit -json %s: %w", modfile, err)
	}
	var f struct {
		Go      string
		Require []struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &f); err != nil {
		return nil, fmt.Errorf("read %s: %w", modfile, err)
	}
	reqs := map[string]string{"go": f.Go}
	for _, r := range f.Require {
		reqs[r.Path] = r.Version
	}
	return reqs, nil
}

// diff lists, sorted, each requirement that differs between a and b.
func diff(a, b map[string]string) []string {
	var out []string
	for path, v := range b {
		if a[path] != v {
			out = append(out, fmt.Sprintf("%s %s -> %s", path, orNone(a[path]), v))
		}
	}
	for path, v := range a {
		if _, ok := b[path]; !ok {
			out = append(out, fmt.Sprintf("%s %s -> none", path, v))
		}
	}
	sort.Strings(out)
	return out
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

// goCmd runs go with modfile as the main module's go.mod, on the local
// toolchain, and returns its combined output.
func goCmd(modfile string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if !strings.HasPrefix(f, "-modfile=") {
			flags = append(flags, f)
		}
	}
	flags = append(flags, "-modfile="+modfile)
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(flags, " "), "GOTOOLCHAIN=local", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("go %s (%d arguments): %w\n%s", args[0], len(args)-1, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// copyModfile copies modfile and its .sum into dir and returns the copy's path.
func copyModfile(modfile, dir string) (string, error) {
	dst := filepath.Join(dir, filepath.Base(modfile))
	for _, pair := range [][2]string{{modfile, dst}, {strings.TrimSuffix(modfile, ".mod") + ".sum", strings.TrimSuffix(dst, ".mod") + ".sum"}} {
		data, err := os.ReadFile(pair[0])
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("copy %s: %w", pair[0], err)
		}
		if err := os.WriteFile(pair[1], data, 0o644); err != nil {
			return "", fmt.Errorf("copy %s: %w", pair[0], err)
		}
	}
	return dst, nil
}
