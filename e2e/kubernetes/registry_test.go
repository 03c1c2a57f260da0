//go:build kubernetes

package kubernetes_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/internal/registrytest"
)

// registry is the CNCF Distribution registry (make tools) serving HTTPS
// with the run's CA and htpasswd accounts, on the node IP: kubelet pulls
// from it, pods reach it, and the hook resolves against it. Its JSON
// access log is how the suite counts requests and bytes served.
type registry struct {
	s       settings
	caPEM   []byte
	users   []registryUser
	logPath string
}

func registryHost() string { return fmt.Sprintf("%s:%d", nodeIP, registryPort) }

func (n *node) startRegistry(users []registryUser) error {
	bin, err := registrytest.DistributionBinary()
	if err != nil {
		return fmt.Errorf("the Distribution registry (make tools): %w", err)
	}
	p := n.pki
	cfg := fmt.Sprintf(`version: 0.1
log: {level: info, formatter: json, accesslog: {disabled: false}}
storage:
  filesystem: {rootdirectory: %q}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: %s
  secret: %s
  tls: {certificate: %q, key: %q}
auth:
  htpasswd: {realm: refimage-k8s-e2e, path: %q}
`, n.s.path("registry", "data"), registryHost(), randomHex(16), p.file("registry.crt"), p.file("registry.key"), p.file("htpasswd"))
	if err := os.MkdirAll(n.s.path("registry"), 0o755); err != nil {
		return err
	}
	cfgPath := n.s.path("registry", "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	// REGISTRY_* and OTEL_* in the environment would reconfigure it behind the config's back.
	cmd.Env = registryEnv(os.Environ())
	if err := daemon(n.s, "registry", cmd); err != nil {
		return err
	}
	n.registry = &registry{s: n.s, caPEM: p.caPEM, users: users, logPath: filepath.Join(n.s.logs(), "registry.log")}
	return waitFor("registry", 30*time.Second, func() error {
		if err := alive(n.s, "registry"); err != nil {
			return err
		}
		resp, err := n.registry.client().Get("https://" + registryHost() + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("GET /v2/: %s, want 401", resp.Status)
		}
		return nil
	})
}

func registryEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "REGISTRY_") && !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return append(out, "OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none")
}

func (r *registry) transport() *http.Transport {
	return httpsTransport(r.caPEM)
}

func (r *registry) client() *http.Client {
	return &http.Client{Transport: r.transport(), Timeout: 10 * time.Second}
}

// remote returns go-containerregistry options for user.
func (r *registry) remote(u registryUser) []remote.Option {
	return []remote.Option{remote.WithTransport(r.transport()),
		remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: u.name, Password: u.password}))}
}

// repo is a repository's reference on the registry.
func (r *registry) repo(name string) string { return registryHost() + "/" + name }

// source is a refimage source for repo with user's credentials and the CA.
func (r *registry) source(repo string, u registryUser) map[string]any {
	return map[string]any{"repository": r.repo(repo), "username": u.name, "password": u.password,
		"ca_certs": []string{string(r.caPEM)}}
}

// mark is a position in the access log; served counts what came after it.
func (r *registry) mark() int64 {
	fi, err := os.Stat(r.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// served is what the registry's access log says it answered. Requests
// counts the 401 challenges too (Challenges), which Distribution logs as
// authorization errors, not as completed responses, and without a size.
type served struct {
	Requests, Challenges, Blobs, Manifests int
	Bytes                                  int64
	Users                                  map[string]int
}

func (v served) String() string {
	return fmt.Sprintf("%d requests (%d 401 challenges, %d manifest, %d blob), %d bytes", v.Requests, v.Challenges, v.Manifests, v.Blobs, v.Bytes)
}

// served reads the access log's "response completed" entries after mark.
func (r *registry) served(mark int64) served {
	data, _ := os.ReadFile(r.logPath)
	if mark > int64(len(data)) {
		mark = 0
	}
	out := served{Users: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data[mark:]))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Msg     string `json:"msg"`
			URI     string `json:"http.request.uri"`
			Written int64  `json:"http.response.written"`
			User    string `json:"auth.user.name"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if strings.HasPrefix(e.Msg, "error authorizing context") {
			out.Requests++
			out.Challenges++
			continue
		}
		if e.Msg != "response completed" {
			continue
		}
		out.Requests++
		out.Bytes += e.Written
		switch {
		case strings.Contains(e.URI, "/blobs/"):
			out.Blobs++
		case strings.Contains(e.URI, "/manifests/"):
			out.Manifests++
		}
		if e.User != "" {
			out.Users[e.User]++
		}
	}
	return out
}
