package in_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

func TestIn(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "In Suite")
}

var inBin string

var _ = SynchronizedBeforeSuite(func() []byte {
	bin, err := gexec.Build("github.com/refimage/refimage/cmd/in")
	Expect(err).NotTo(HaveOccurred())
	return []byte(bin)
}, func(bin []byte) {
	inBin = string(bin)
})

var _ = SynchronizedAfterSuite(func() {}, gexec.CleanupBuildArtifacts)

// fakeRegistry is ggcr's in-process registry on loopback, behind a handler
// that records requests and can break blob downloads.
type fakeRegistry struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "HEAD /v2/test/manifests/sha256:…"
	// blobFault, when set, serves a blob GET in its place; it returns false
	// to let the registry answer.
	blobFault func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeRegistry() *fakeRegistry {
	f := &fakeRegistry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		fault := f.blobFault
		f.mu.Unlock()
		if fault != nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && fault(w, r) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	DeferCleanup(f.Close)
	return f
}

func (f *fakeRegistry) host() string { return strings.TrimPrefix(f.URL, "http://") }

func (f *fakeRegistry) repo(name string) string { return f.host() + "/" + name }

// reset forgets the requests so far.
func (f *fakeRegistry) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func (f *fakeRegistry) setFault(fault func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobFault = fault
}

// requestsTo lists the requests to repository paths (not /v2/ pings).
func (f *fakeRegistry) requestsTo() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if r != "GET /v2/" && r != "HEAD /v2/" {
			out = append(out, r)
		}
	}
	return out
}

func push(repo, tag string, img v1.Image) string {
	digest, err := imagetest.Push(repo+":"+tag, img)
	Expect(err).NotTo(HaveOccurred())
	return digest
}

func layer(c imagetest.Compression, entries ...imagetest.Entry) v1.Layer {
	l, err := imagetest.Layer(c, entries...)
	Expect(err).NotTo(HaveOccurred())
	return l
}

func image(layers ...v1.Layer) v1.Image {
	return imagetest.MustImage(imagetest.Spec{Layers: layers})
}

// result is one run of the in binary.
type result struct {
	code   int
	stdout []byte
	stderr string
	dest   string
}

func (r result) response() resource.VersionResponse {
	var resp resource.VersionResponse
	Expect(json.Unmarshal(r.stdout, &resp)).To(Succeed(), "stdout: %s", r.stdout)
	return resp
}

func (r result) file(name string) string {
	b, err := os.ReadFile(filepath.Join(r.dest, name))
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// firstLine is the mode line.
func (r result) firstLine() string {
	line, _, _ := strings.Cut(r.stderr, "\n")
	return line
}

// runIn runs the binary as Concourse does, into a fresh directory, with
// only the environment given (never this machine's).
func runIn(req any, env ...string) result {
	return runInto(GinkgoT().TempDir(), req, env...)
}

// runInto is runIn into dest.
func runInto(dest string, req any, env ...string) result {
	return runAs(inBin, nil, dest, req, env...)
}

// runAs is runInto with the binary bin, as another user (nil: this
// process's).
func runAs(bin string, cred *syscall.Credential, dest string, req any, env ...string) result {
	body, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(bin, dest)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = bytes.NewReader(body)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else {
		Expect(err).NotTo(HaveOccurred())
	}
	return result{code: code, stdout: stdout.Bytes(), stderr: stderr.String(), dest: dest}
}

// request is an in request as Concourse sends it.
type request struct {
	Source  map[string]any   `json:"source"`
	Params  map[string]any   `json:"params,omitempty"`
	Version resource.Version `json:"version"`
}

const inPod = "KUBERNETES_SERVICE_HOST=10.0.0.1"

func tree(dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			r, _ := filepath.Rel(dir, p)
			out = append(out, r)
		}
		return nil
	})
	Expect(err).NotTo(HaveOccurred())
	return out
}

// extractInProcess runs a full download of repo@digest into a fresh
// destination, in process, with debug logging, and returns the rootfs, the
// log and the error.
func extractInProcess(repo, digest string, opts ...in.Option) (rootfs, log string, err error) {
	return extractInto(GinkgoT().TempDir(), repo, digest, opts...)
}

// extractInto is extractInProcess into dest.
func extractInto(dest, repo, digest string, opts ...in.Option) (rootfs, log string, err error) {
	var buf bytes.Buffer
	logger := logrus.New()
	logger.SetOutput(&buf)
	logger.SetLevel(logrus.DebugLevel)
	req := resource.InRequest{Source: resource.Source{Repository: repo},
		Version: resource.Version{Tag: "latest", Digest: digest}}
	_, err = in.Run(context.Background(), req, dest, append(opts, in.WithLogger(logger))...)
	return filepath.Join(dest, "rootfs"), buf.String(), err
}
