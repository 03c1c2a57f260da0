//go:build concourse

package concourse_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

// taskTool is the static binary every task image holds as /tasktool.
var taskTool string

// buildTaskTool compiles ./tasktool as a static Linux binary.
func buildTaskTool(out string) {
	cmd := exec.Command("go", "build", "-tags", "concourse", "-trimpath", "-ldflags=-s -w", "-o", out, "./tasktool")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	b, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(b))
	taskTool = out
}

// pushTaskImage pushes the image a task's `tasktool image` would write
// with this marker (the same bytes, so the same digest) and returns its
// digest; opts carry a registry's credentials.
func pushTaskImage(ref, marker string, opts ...remote.Option) string {
	dir := GinkgoT().TempDir()
	out, err := exec.Command(taskTool, "image", "layout", dir, marker).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	p, err := layout.FromPath(filepath.Join(dir, "oci"))
	Expect(err).NotTo(HaveOccurred())
	idx, err := p.ImageIndex()
	Expect(err).NotTo(HaveOccurred())
	m, err := idx.IndexManifest()
	Expect(err).NotTo(HaveOccurred())
	img, err := idx.Image(m.Manifests[0].Digest)
	Expect(err).NotTo(HaveOccurred())
	digest, err := imagetest.Push(ref, img, opts...)
	Expect(err).NotTo(HaveOccurred())
	return digest
}

// pushDistinct pushes imagetest.DistinctImage(key) to ref.
func pushDistinct(ref, key string) string {
	digest, err := imagetest.Push(ref, imagetest.DistinctImage(key))
	Expect(err).NotTo(HaveOccurred())
	return digest
}

// registryTags lists repo's tags; none when the repository does not exist.
func registryTags(repo string, opts ...remote.Option) []string {
	r, err := name.NewRepository(repo)
	Expect(err).NotTo(HaveOccurred())
	list, err := remote.List(r, opts...)
	if err != nil {
		Expect(err.Error()).To(Or(ContainSubstring("NAME_UNKNOWN"), ContainSubstring("404")))
		return nil
	}
	return list
}

// decision is one row of `refimage explain`: the step, and whether it
// skips its pod. why is matched loosely (a substring of the reason), the
// decision exactly.
type decision struct {
	job, get string
	skip     bool
	why      string
}

// expectExplained runs `refimage explain --json --labels` on a pipeline
// file, with its ((vars)) given as fly would, and expects exactly these get
// steps, decided so.
func expectExplained(file string, vars map[string]string, want ...decision) {
	data, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	text := string(data)
	for k, v := range vars {
		text = strings.ReplaceAll(text, "(("+k+"))", v)
	}
	file = filepath.Join(GinkgoT().TempDir(), filepath.Base(file))
	Expect(os.WriteFile(file, []byte(text), 0o644)).To(Succeed())
	out, err := exec.Command(refimageCLI, "explain", "--json", "--labels", file).Output()
	Expect(err).NotTo(HaveOccurred(), "refimage explain %s", file)
	var rows []map[string]any
	Expect(json.Unmarshal(out, &rows)).To(Succeed(), string(out))
	str := func(r map[string]any, k string) string { s, _ := r[k].(string); return s }
	Expect(rows).To(HaveLen(len(want)), string(out))
	for _, w := range want {
		var found map[string]any
		for _, r := range rows {
			if str(r, "job") == w.job && (str(r, "get") == w.get || strings.HasPrefix(str(r, "get"), w.get+" ")) {
				found = r
			}
		}
		Expect(found).NotTo(BeNil(), "no row for job %s, get %s in\n%s", w.job, w.get, out)
		wantDecision := "pod"
		if w.skip {
			wantDecision = "skip pod"
		}
		Expect(str(found, "decision")).To(Equal(wantDecision), "job %s, get %s", w.job, w.get)
		Expect(str(found, "reason")).To(ContainSubstring(w.why), "job %s, get %s", w.job, w.get)
	}
}
