package check_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"sync/atomic"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

func TestCheck(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "check")
}

var (
	checkBin string
	// Real registries, shared by the suite; each spec uses its own repository.
	shared   *registrytest.Shared
	flavours = registrytest.Flavours(&shared, func(stop func()) { DeferCleanup(stop) })
)

var _ = SynchronizedBeforeSuite(func() []byte {
	bin, err := gexec.Build("github.com/refimage/refimage/cmd/check")
	Expect(err).NotTo(HaveOccurred())
	_, err = registrytest.DistributionBinary()
	Expect(err).NotTo(HaveOccurred())
	return []byte(bin)
}, func(bin []byte) {
	checkBin = string(bin)
	var err error
	shared, err = registrytest.StartShared("ci", "s3cr3t-pa55")
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
	return reg.Repo(fmt.Sprintf("check/spec-%d-%d", GinkgoParallelProcess(), repoSeq.Add(1)))
}

// pushTags pushes a tag set and returns each tag's digest.
func pushTags(reg *registrytest.Registry, repo string, set imagetest.TagSet) map[string]string {
	digests, err := imagetest.PushTags(repo, set.TagImages(), reg.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	return digests
}

// proxied pushes a tag set to repo on a new in-process registry and returns
// a proxy in front of it, which counts requests and injects faults, with
// each tag's digest.
func proxied(repo string, set imagetest.TagSet) (*registrytest.Proxy, map[string]string) {
	reg := flavours[0].Start()
	digests := pushTags(reg, reg.Repo(repo), set)
	proxy := registrytest.NewProxy(reg)
	DeferCleanup(proxy.Close)
	return proxy, digests
}

// result is one run of the check binary.
type result struct {
	stdout, stderr string
	code           int
	versions       []resource.Version
}

// runCheck runs the check binary as Concourse does: the request on stdin.
func runCheck(req any) result {
	body, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	return runCheckRaw(body)
}

func runCheckRaw(body []byte) result {
	cmd := exec.Command(checkBin)
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else {
		Expect(err).NotTo(HaveOccurred())
	}
	if r.code == 0 {
		Expect(json.Unmarshal(stdout.Bytes(), &r.versions)).To(Succeed(), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	return r
}

// versionsOf turns tags into the versions check should print.
func versionsOf(digests map[string]string, tags ...string) []resource.Version {
	out := []resource.Version{}
	for _, t := range tags {
		Expect(digests).To(HaveKey(t))
		out = append(out, resource.Version{Tag: t, Digest: digests[t]})
	}
	return out
}
