package resourceimage

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"golang.org/x/crypto/x509roots/fallback/bundle"
	"golang.org/x/mod/modfile"
)

// caModule is the module whose roots CABundle writes.
const caModule = "golang.org/x/crypto/x509roots/fallback"

// CABundle returns, as PEM, the Mozilla roots that the version of
// golang.org/x/crypto/x509roots/fallback linked into this program carries
// (CheckCABundle makes sure it is the one go.ship.mod ships), so that the
// image trusts the same roots whichever machine builds it.
//
// Roots that Mozilla only trusts with a constraint (a distrust-after date)
// are left out: a PEM bundle cannot carry the constraint, and trusting
// such a root without it would be wider than Mozilla's own policy.
func CABundle() ([]byte, error) {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, fmt.Errorf("encode CA bundle: %w", err)
		}
	}
	return b.Bytes(), nil
}

// CheckCABundle fails unless this program links the CA roots that the
// shipped set (ShipModFile in moduleDir) names. The roots are compiled
// into the program that writes the image, not into the binaries it
// compiles, so a `go run ./ci/imagebuild` without -modfile would write
// go.mod's older roots into an image whose binaries are current.
func CheckCABundle(moduleDir string) error {
	path := filepath.Join(moduleDir, ShipModFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the shipped set: %w", err)
	}
	f, err := modfile.ParseLax(path, data, nil)
	if err != nil {
		return fmt.Errorf("parse the shipped set: %w", err)
	}
	var want string
	for _, r := range f.Require {
		if r.Mod.Path == caModule {
			want = r.Mod.Version
		}
	}
	linked := "none"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == caModule {
				linked = d.Version
			}
		}
	}
	if want == "" || linked != want {
		return fmt.Errorf("the CA roots linked are %s %s, but %s ships %q: build this program with -modfile=%s (make image does)",
			caModule, linked, ShipModFile, want, ShipModFile)
	}
	return nil
}
