//go:build cosign

// Package cosign_test cross-checks refimage's signatures with the cosign CLI
// users already have, built from the Go module proxy at the version
// tools/cosign pins, against the CNCF Distribution registry with TLS and
// basic auth: what refimage's put signs, cosign verify accepts; what cosign
// sign signs, refimage's check, in and hook accept; and a signature both
// must refuse, both refuse. Run with make cosign-e2e.
package cosign_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/internal/signtest"
)

func TestCosign(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "cosign cross-check")
}

const (
	regUser, regPass = "ci", "r3g-pa55-Vw"
	keyPass          = "c0sign-key-pa55"
)

var (
	checkBin, inBin, outBin, cosignBin string
	dist                               *registrytest.Registry
	work                               string
	// cosignEnv points cosign at the registry's CA and credentials, and
	// at a home of its own: nothing of this machine's is read or written.
	cosignEnv []string
	// keys written by cosign generate-key-pair: cosign.* signs what must
	// verify, other.* is another key (read by cosign from its file).
	pub, priv string
)

var _ = BeforeSuite(func() {
	var err error
	cosignBin, err = signtest.CosignBinary()
	Expect(err).NotTo(HaveOccurred())
	for _, b := range []struct {
		dst *string
		pkg string
	}{{&checkBin, "check"}, {&inBin, "in"}, {&outBin, "out"}} {
		*b.dst, err = gexec.Build("github.com/refimage/refimage/cmd/" + b.pkg)
		Expect(err).NotTo(HaveOccurred())
	}
	DeferCleanup(gexec.CleanupBuildArtifacts)

	dist, err = registrytest.StartDistribution(registrytest.WithTLS(), registrytest.WithBasicAuth(regUser, regPass))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(dist.Close)

	work = GinkgoT().TempDir()
	Expect(os.WriteFile(filepath.Join(work, "ca.pem"), dist.CACertPEM, 0o600)).To(Succeed())
	auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{dist.Host: map[string]string{"auth": auth}}})
	Expect(err).NotTo(HaveOccurred())
	Expect(os.MkdirAll(filepath.Join(work, "docker"), 0o700)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(work, "docker", "config.json"), cfg, 0o600)).To(Succeed())
	// cosign looks for Sigstore's trust root on the internet (TUF) before
	// it verifies: every request off this machine goes to a loopback port
	// where nothing listens (Go never proxies loopback, where the registry
	// is), so no spec reaches out, or depends on whether it could.
	cosignEnv = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(work, "home"),
		"DOCKER_CONFIG=" + filepath.Join(work, "docker"), "SSL_CERT_FILE=" + filepath.Join(work, "ca.pem"),
		"TUF_ROOT=" + filepath.Join(work, "tuf"), "COSIGN_PASSWORD=" + keyPass, "COSIGN_YES=true",
		"HTTPS_PROXY=" + noProxy, "HTTP_PROXY=" + noProxy}
	// A trust root with no authority in it: enough for cosign to check a
	// Sigstore bundle against a key, offline (docs/signing.md).
	Expect(os.WriteFile(filepath.Join(work, "trusted_root.json"), []byte(emptyTrustedRoot), 0o600)).To(Succeed())

	for _, prefix := range []string{"cosign", "other"} {
		out, code := runCosign("generate-key-pair", "--output-key-prefix", filepath.Join(work, prefix))
		Expect(code).To(Equal(0), out)
	}
	pub, priv = readFile("cosign.pub"), readFile("cosign.key")
})

// noProxy is a proxy where nothing listens: port 1 on loopback.
const noProxy = "http://127.0.0.1:1"

// emptyTrustedRoot is a Sigstore TrustedRoot that trusts no log, CA or
// timestamp authority.
const emptyTrustedRoot = `{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`

func readFile(name string) string {
	b, err := os.ReadFile(filepath.Join(work, name))
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// runCosign runs the cosign CLI in work and returns its output and exit code.
func runCosign(args ...string) (string, int) {
	cmd := exec.Command(cosignBin, args...)
	cmd.Dir, cmd.Env = work, cosignEnv
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), exit.ExitCode()
	}
	Expect(err).NotTo(HaveOccurred())
	return out.String(), 0
}

// result is one run of a resource binary.
type result struct {
	stdout, stderr string
	code           int
}

// runResource runs bin as Concourse does: the request on stdin, args (a
// directory) as arguments, only the environment given.
func runResource(bin string, req any, env []string, args ...string) result {
	body, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else {
		Expect(err).NotTo(HaveOccurred())
	}
	for _, secret := range []string{regPass, keyPass, priv} {
		Expect(r.stdout + r.stderr).NotTo(ContainSubstring(secret))
	}
	return r
}

// source is a refimage source for repo on the registry, verifying with keys.
func source(repo string, keys ...string) map[string]any {
	return map[string]any{"repository": repo, "ca_certs": []string{string(dist.CACertPEM)},
		"username": regUser, "password": regPass, "verify": map[string]any{"public_keys": keys}}
}
