package signtest

import (
	"sync"
	"time"

	"github.com/refimage/refimage/internal/registrytest"
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
// this machine has not yet (make tools-cosign does the same): the result
// is cached at <repo root>/.cache/bin/cosign-<CosignVersion>.
func CosignBinary() (string, error) {
	cosign.once.Do(func() {
		cosign.path, cosign.err = registrytest.BuildTool("cosign", cosignPackage, "cosign-"+CosignVersion, cosignBuildTimeout)
	})
	return cosign.path, cosign.err
}
