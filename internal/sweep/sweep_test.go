package sweep_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

func TestSweep(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "credential sweep")
}

// marker starts every credential the specs hand out; nothing any
// executable prints may contain it.
const marker = "LEAKMARK"

var bins = map[string]string{}

var _ = BeforeSuite(func() {
	for _, name := range []string{"check", "in", "out", "refimage"} {
		bin, err := gexec.Build("github.com/refimage/refimage/cmd/" + name)
		Expect(err).NotTo(HaveOccurred())
		bins[name] = bin
	}
	DeferCleanup(gexec.CleanupBuildArtifacts)
})

// scenario is a registry that fails in one way, and the source that
// reaches it with markers in every credential field it can carry.
type scenario struct {
	source map[string]any
	digest string
}

func credentials(src map[string]any) map[string]any {
	src["username"] = "robot"
	src["password"] = marker + "-password"
	return src
}

var anyDigest = "sha256:" + strings.Repeat("ab", 32)

// pushed is an image on a registry behind a proxy built with opts, and
// its layer's digest.
func pushed(opts ...registrytest.ProxyOption) (proxy *registrytest.Proxy, digest, layer string) {
	target := registrytest.NewInProcess()
	DeferCleanup(target.Close)
	img, err := random.Image(2048, 1)
	Expect(err).NotTo(HaveOccurred())
	digest, err = imagetest.Push(target.Repo("team/app")+":latest", img, target.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	layers, err := img.Layers()
	Expect(err).NotTo(HaveOccurred())
	d, err := layers[0].Digest()
	Expect(err).NotTo(HaveOccurred())
	proxy = registrytest.NewProxy(target, opts...)
	DeferCleanup(proxy.Close)
	return proxy, digest, d.String()
}

// tokenRegistry asks for a bearer token at a realm whose query holds a
// marker, hands out a token that is one, and then refuses everything.
func tokenRegistry() string {
	var url string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			_, _ = fmt.Fprintf(w, `{"token": %q, "access_token": %q}`, marker+"-token", marker+"-token")
		case r.Header.Get("Authorization") != "Bearer "+marker+"-token":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token?sig=%s-realm",service="sweep"`, url, marker))
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
		}
	}))
	DeferCleanup(server.Close)
	url = server.URL
	return strings.TrimPrefix(server.URL, "http://")
}

var scenarios = map[string]func() scenario{
	"refused credentials (401)": func() scenario {
		target := registrytest.NewInProcess(registrytest.WithBasicAuth("robot", "the-right-one"))
		DeferCleanup(target.Close)
		return scenario{source: credentials(map[string]any{"repository": target.Repo("team/app"), "insecure": true}), digest: anyDigest}
	},
	"an unreachable registry": func() scenario {
		return scenario{source: credentials(map[string]any{"repository": "127.0.0.1:1/team/app", "insecure": true}), digest: anyDigest}
	},
	"a blob redirected to a presigned storage URL that drops": func() scenario {
		proxy, digest, layer := pushed(registrytest.WithStorageRedirect("X-Amz-Credential=" + marker + "-cred&X-Amz-Signature=" + marker + "-sig"))
		// The layer, which in fetches itself; go-containerregistry, which
		// fetches the config, hides a query's values on its own.
		proxy.Fail(registrytest.Fault{Kind: registrytest.DropConnection, PathContains: "/storage/v2/team/app/blobs/" + layer})
		return scenario{source: credentials(map[string]any{"repository": proxy.Repo("team/app"), "insecure": true}), digest: digest}
	},
	"an upload whose signed Location drops": func() scenario {
		proxy, digest, _ := pushed(registrytest.WithUploadQuery("_state=" + marker + "-state"))
		proxy.Fail(registrytest.Fault{Kind: registrytest.DropConnection, Method: http.MethodPatch})
		return scenario{source: credentials(map[string]any{"repository": proxy.Repo("team/app"), "insecure": true}), digest: digest}
	},
	"a token server, then 403": func() scenario {
		return scenario{source: credentials(map[string]any{"repository": tokenRegistry() + "/team/app", "insecure": true}), digest: anyDigest}
	},
	"a request that does not validate, every credential field set": func() scenario {
		src := credentials(map[string]any{"repository": "registry.example.test/team/app", "unknown_field": marker + "-field",
			"aws_secret_access_key": marker + "-aws-secret", "aws_session_token": marker + "-aws-token",
			"registry_mirror": map[string]any{"host": "mirror.example.test", "username": "robot", "password": marker + "-mirror"},
			"content_trust": map[string]any{"server": "https://notary.example.test", "repository_key_id": "k",
				"repository_key": marker + "-ct-key", "repository_passphrase": marker + "-ct-pass", "tls_key": marker + "-tls-key"}})
		return scenario{source: src, digest: anyDigest}
	},
}

// run runs bin with args and request on stdin and returns all it printed.
func run(bin string, request any, args ...string) string {
	body, err := json.Marshal(request)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + GinkgoT().TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	return out.String()
}

// actions run one executable against a scenario.
var actions = map[string]func(s scenario) string{
	"check": func(s scenario) string { return run(bins["check"], map[string]any{"source": s.source}) },
	"in": func(s scenario) string {
		return run(bins["in"], map[string]any{"source": s.source, "params": map[string]any{"fetch_artifact": true},
			"version": map[string]string{"tag": "latest", "digest": s.digest}}, GinkgoT().TempDir())
	},
	"out": func(s scenario) string {
		dir := GinkgoT().TempDir()
		img, err := random.Image(2048, 1)
		Expect(err).NotTo(HaveOccurred())
		Expect(tarball.WriteToFile(filepath.Join(dir, "image.tar"), nil, img)).To(Succeed())
		return run(bins["out"], map[string]any{"source": s.source, "params": map[string]any{"image": "image.tar", "version": "1.0.0"}}, dir)
	},
	"refimage resolve": func(s scenario) string {
		return run(bins["refimage"], map[string]any{"type": "registry-image", "image": map[string]any{"base_type": "registry-image"},
			"params": map[string]any{"skip_download": true}, "source": s.source,
			"version": map[string]string{"tag": "latest", "digest": s.digest}, "kubernetes": map[string]any{"namespace": "ci"}}, "resolve")
	},
	"refimage explain": func(s scenario) string {
		pipeline, err := json.Marshal(map[string]any{
			"resources": []any{map[string]any{"name": "app", "type": "registry-image", "source": s.source}},
			"jobs": []any{map[string]any{"name": "use", "plan": []any{map[string]any{"get": "app"},
				map[string]any{"task": "t", "image": "app", "config": map[string]any{"platform": "linux", "run": map[string]any{"path": "true"}}}}}},
		})
		Expect(err).NotTo(HaveOccurred())
		path := filepath.Join(GinkgoT().TempDir(), "pipeline.yml")
		Expect(os.WriteFile(path, pipeline, 0o600)).To(Succeed())
		return run(bins["refimage"], nil, "explain", path)
	},
}

var _ = Describe("no executable prints a credential", func() {
	for scenarioName, build := range scenarios {
		for actionName, act := range actions {
			It(fmt.Sprintf("%s: %s", actionName, scenarioName), func() {
				output := act(build())
				Expect(output).NotTo(ContainSubstring(marker), "everything %s printed", actionName)
			})
		}
	}
})
