package resourceimage

import (
	"bytes"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// CABundle returns, as PEM, the Mozilla roots that the version of
// golang.org/x/crypto/x509roots/fallback pinned in go.mod carries, so that
// the image trusts the same roots whichever machine builds it.
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
