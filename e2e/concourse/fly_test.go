//go:build concourse

package concourse_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

// run runs fly against the suite's Concourse (target e2e) and returns its
// combined output; the error says fly failed, with that output.
func (c *concourse) run(args ...string) (string, error) {
	cmd := exec.Command(c.fly, append([]string{"-t", "e2e"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(c.s.state, "home"))
	b, err := cmd.CombinedOutput()
	// task output comes through a terminal (CRLF), step headers in colour
	out := ansi.ReplaceAllString(strings.ReplaceAll(string(b), "\r\n", "\n"), "")
	if err != nil {
		return out, fmt.Errorf("fly %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// must runs fly and fails the spec when fly fails.
func (c *concourse) must(args ...string) string {
	out, err := c.run(args...)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return out
}

// setPipeline sets and unpauses pipeline name from file, with ((vars))
// given as -v name=value, as an author parametrizes a pipeline.
func (c *concourse) setPipeline(name, file string, vars map[string]string) {
	args := []string{"set-pipeline", "-n", "-p", name, "-c", file}
	for k, v := range vars {
		args = append(args, "-v", k+"="+v)
	}
	c.must(args...)
	c.must("unpause-pipeline", "-p", name)
}

// trigger runs job (pipeline/job) to its end and returns the build log and
// the status Concourse recorded for the build. The log is read again once
// the build is over (fly watch), because the stream fly trigger-job -w
// prints can miss the output of a task that ends quickly.
func (c *concourse) trigger(job string) (log, status string) {
	out, _ := c.run("trigger-job", "-j", job, "-w") // fly exits non-zero when the build fails
	m := regexp.MustCompile(`started \S+ #(\d+)`).FindStringSubmatch(out)
	ExpectWithOffset(1, m).To(HaveLen(2), "fly trigger-job -j %s -w:\n%s", job, out)
	n, err := strconv.Atoi(m[1])
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return c.awaitBuild(job, n)
}

// buildStatus is the status of build n of job, as `fly builds` reports it
// ("not started" before Concourse records it).
func (c *concourse) buildStatus(job string, n int) string {
	var builds []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	Expect(json.Unmarshal([]byte(c.must("builds", "-j", job, "--json")), &builds)).To(Succeed())
	for _, b := range builds {
		if b.Name == strconv.Itoa(n) {
			return b.Status
		}
	}
	return "not started"
}

// check runs `fly check-resource` and returns its output and whether the
// check succeeded.
func (c *concourse) check(res string) (string, bool) {
	out, err := c.run("check-resource", "-r", res)
	GinkgoWriter.Printf("fly check-resource -r %s:\n%s\n", res, out)
	return out, err == nil
}

// versions are the versions `fly resource-versions` shows, newest first.
func (c *concourse) versions(res string) []resource.Version {
	var rows []struct {
		Version resource.Version `json:"version"`
	}
	Expect(json.Unmarshal([]byte(c.must("resource-versions", "-r", res, "--json")), &rows)).To(Succeed())
	out := make([]resource.Version, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Version)
	}
	GinkgoWriter.Printf("fly resource-versions -r %s: %v\n", res, out)
	return out
}

// ansi matches the colour codes fly passes through from build logs.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// awaitBuild waits for build number n of job (started by the suite, or by
// a trigger: true input) to end, and returns its log and status.
func (c *concourse) awaitBuild(job string, n int) (log, status string) {
	Eventually(func() string { return c.buildStatus(job, n) }, 5*time.Minute, 2*time.Second).
		Should(BeElementOf("succeeded", "failed", "errored", "aborted"))
	log, _ = c.run("watch", "-j", job, "-b", fmt.Sprint(n))
	GinkgoWriter.Printf("fly watch -j %s -b %d:\n%s\n", job, n, log)
	return log, c.buildStatus(job, n)
}
