package registrytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// writeConfig writes the registry's config.yml, and the certificate, key and
// htpasswd files it names, into dir. It returns the config path and the CA's
// PEM (nil without TLS).
//
// Everything that could reach beyond loopback is left out: no notification
// endpoints, no redis cache, no proxy (pull-through) section, no debug or
// metrics listener, no bugsnag/newrelic reporting.
func writeConfig(dir string, o options) (string, []byte, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return "", nil, fmt.Errorf("generate http secret: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:0
  secret: %s
`, quote(filepath.Join(dir, "data")), hex.EncodeToString(secret))

	var caPEM []byte
	if o.tls {
		ca, cert, err := newTLSPair()
		if err != nil {
			return "", nil, err
		}
		certPath, keyPath := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
		if err := writeFiles(map[string][]byte{certPath: cert.certPEM, keyPath: cert.keyPEM}); err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n", quote(certPath), quote(keyPath))
		caPEM = ca.certPEM
	}

	if o.username != "" || o.password != "" {
		// bcrypt's minimum cost: the hash is for a throwaway registry, and a
		// cheap cost keeps each authenticated request fast.
		hash, err := bcrypt.GenerateFromPassword([]byte(o.password), bcrypt.MinCost)
		if err != nil {
			return "", nil, fmt.Errorf("hash password: %w", err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := writeFiles(map[string][]byte{htpasswd: []byte(o.username + ":" + string(hash) + "\n")}); err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: %s\n    path: %s\n", realm, quote(htpasswd))
	}

	cfg := filepath.Join(dir, "config.yml")
	if err := writeFiles(map[string][]byte{cfg: []byte(b.String())}); err != nil {
		return "", nil, err
	}
	return cfg, caPEM, nil
}

func writeFiles(files map[string][]byte) error {
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// quote renders s as a YAML double-quoted scalar; Go's escapes are a subset
// of YAML's, so a temp path with odd characters stays one string.
func quote(s string) string {
	return strconv.Quote(s)
}
