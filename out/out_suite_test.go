package out_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

func TestOut(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "out")
}

var (
	outBin string
	// Real registries, shared by the suite; each spec uses its own repository.
	shared   *registrytest.Shared
	flavours = registrytest.Flavours(&shared, func(stop func()) { DeferCleanup(stop) })
)

const tlsUser, tlsPass = "pusher", "pu5h-s3cr3t-Xy"

var _ = SynchronizedBeforeSuite(func() []byte {
	bin, err := gexec.Build("github.com/refimage/refimage/cmd/out")
	Expect(err).NotTo(HaveOccurred())
	_, err = registrytest.DistributionBinary()
	Expect(err).NotTo(HaveOccurred())
	return []byte(bin)
}, func(bin []byte) {
	outBin = string(bin)
	var err error
	shared, err = registrytest.StartShared(tlsUser, tlsPass)
	Expect(err).NotTo(HaveOccurred())
})

var _ = SynchronizedAfterSuite(func() {
	shared.Close()
}, func() {
	gexec.CleanupBuildArtifacts()
})

var repoSeq atomic.Int64

// freshRepo is a repository name no other spec uses.
func freshRepo(reg *registrytest.Registry) string {
	return reg.Repo(fmt.Sprintf("out/spec-%d-%d", GinkgoParallelProcess(), repoSeq.Add(1)))
}

// result is one run of the out binary.
type result struct {
	stdout, stderr string
	code           int
	resp           resource.VersionResponse
}

// runOut runs the out binary as Concourse does: the request on stdin and the
// put's inputs directory as the argument.
func runOut(dir string, req any) result {
	body, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(outBin, dir)
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
	GinkgoWriter.Printf("out exited %d\nstderr:\n%s\nstdout:\n%s\n", r.code, r.stderr, r.stdout)
	if r.code == 0 {
		Expect(json.Unmarshal(stdout.Bytes(), &r.resp)).To(Succeed())
	}
	return r
}

// expectFailure checks the protocol's contract for bad input: non-zero exit,
// nothing on stdout, one error line on stderr containing each of parts, and
// no credential anywhere.
func expectFailure(r result, parts ...string) {
	ExpectWithOffset(1, r.code).NotTo(Equal(0))
	ExpectWithOffset(1, r.stdout).To(BeEmpty())
	var errLines []string
	for _, l := range bytes.Split([]byte(r.stderr), []byte("\n")) {
		if bytes.HasPrefix(l, []byte("error: ")) {
			errLines = append(errLines, string(l))
		}
	}
	ExpectWithOffset(1, errLines).To(HaveLen(1), "exactly one error line")
	for _, p := range parts {
		ExpectWithOffset(1, errLines[0]).To(ContainSubstring(p))
	}
	ExpectWithOffset(1, r.stderr).NotTo(ContainSubstring(tlsPass))
}

// inputs is a fresh put inputs directory.
func inputs() string {
	return GinkgoT().TempDir()
}

// proxiedPut prepares a put through a proxy, which counts requests and
// injects faults, in front of a new in-process registry: an inputs
// directory with a random image in image.tar, and a fresh repository.
func proxiedPut() (proxy *registrytest.Proxy, dir, repo string) {
	target := registrytest.NewInProcess()
	DeferCleanup(target.Close)
	proxy = registrytest.NewProxy(target)
	DeferCleanup(proxy.Close)
	dir = inputs()
	writeTarball(dir, "image.tar", randomImage())
	return proxy, dir, freshRepo(proxy.Registry)
}

// writeTarball saves img as a Docker image tarball at dir/rel.
func writeTarball(dir, rel string, img v1.Image) {
	path := filepath.Join(dir, rel)
	Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
	tag, err := name.NewTag("example.com/fixture:latest")
	Expect(err).NotTo(HaveOccurred())
	Expect(tarball.WriteToFile(path, tag, img)).To(Succeed())
}

// writeLayoutIndex writes idx as an OCI layout whose index.json is idx.
func writeLayoutIndex(dir, rel string, idx v1.ImageIndex) {
	_, err := layout.Write(filepath.Join(dir, rel), idx)
	Expect(err).NotTo(HaveOccurred())
}

// writeLayoutImage writes an OCI layout whose index.json lists img alone,
// as BuildKit's oci exporter does for one platform.
func writeLayoutImage(dir, rel string, img v1.Image) {
	p, err := layout.Write(filepath.Join(dir, rel), empty.Index)
	Expect(err).NotTo(HaveOccurred())
	Expect(p.AppendImage(img)).To(Succeed())
}

var emptyIndex = empty.Index

// tarDir archives the regular files under dir into the tar file dst, with
// names relative to dir.
func tarDir(dir, dst string) {
	f, err := os.Create(dst)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	tw := tar.NewWriter(f)
	Expect(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})).To(Succeed())
	Expect(tw.Close()).To(Succeed())
}

func writeFile(dir, rel, content string) error {
	return os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644)
}

func randomImage() v1.Image {
	img, err := random.Image(2048, 2)
	Expect(err).NotTo(HaveOccurred())
	return img
}

func digestOf(d interface{ Digest() (v1.Hash, error) }) string {
	h, err := d.Digest()
	Expect(err).NotTo(HaveOccurred())
	return h.String()
}

// remoteDigest is the digest reference ref points at, read with ggcr.
func remoteDigest(reg *registrytest.Registry, ref string) string {
	r, err := name.ParseReference(ref)
	Expect(err).NotTo(HaveOccurred())
	desc, err := remote.Head(r, reg.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	return desc.Digest.String()
}

// expectNoRepository checks that nothing was pushed to repo: listing its
// tags fails.
func expectNoRepository(reg *registrytest.Registry, repo string) {
	GinkgoHelper()
	r, err := name.NewRepository(repo)
	Expect(err).NotTo(HaveOccurred())
	_, err = remote.List(r, reg.RemoteOptions()...)
	Expect(err).To(HaveOccurred(), "nothing should have been pushed to %s", repo)
}

// remoteTags lists repo's tags.
func remoteTags(reg *registrytest.Registry, repo string) []string {
	r, err := name.NewRepository(repo)
	Expect(err).NotTo(HaveOccurred())
	tags, err := remote.List(r, reg.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	return tags
}
