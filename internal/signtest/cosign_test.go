package signtest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/refimage/refimage/internal/signtest"
)

// TestCosignVersionIsPinnedOnce: the version the suite expects, the one
// tools/cosign builds and the one make tools-cosign names must agree, or
// the suite would build a second binary or run another version.
func TestCosignVersionIsPinnedOnce(t *testing.T) {
	root := filepath.Join("..", "..")
	gomod, err := os.ReadFile(filepath.Join(root, "tools", "cosign", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^require github\.com/sigstore/cosign/v2 ` + regexp.QuoteMeta(signtest.CosignVersion) + `$`).Match(gomod) {
		t.Errorf("tools/cosign/go.mod does not require github.com/sigstore/cosign/v2 %s", signtest.CosignVersion)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^COSIGN_VERSION = ` + regexp.QuoteMeta(signtest.CosignVersion) + `$`).Match(makefile) {
		t.Errorf("the Makefile's COSIGN_VERSION is not %s", signtest.CosignVersion)
	}
}
