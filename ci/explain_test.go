package ci_test

import (
	"encoding/json"
	"os/exec"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

// explainRow is the part of `refimage explain --json` the spec reads.
type explainRow struct {
	Job      string   `json:"job"`
	Get      string   `json:"get"`
	Type     string   `json:"type"`
	Implicit bool     `json:"implicit"`
	Decision string   `json:"decision"`
	Reason   string   `json:"reason"`
	ImageOf  []string `json:"image_of"`
}

var _ = Describe("ci/pipeline.yml, as the runtime hook sees it (refimage explain)", func() {
	It("leaves every get of an image to refimage's label (no produces: key), and runs a pod for every other get", func() {
		bin, err := gexec.Build("github.com/refimage/refimage/cmd/refimage")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)

		cmd := exec.Command(bin, "explain", "--json", "pipeline.yml")
		cmd.Stderr = GinkgoWriter
		out, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred())
		var rows []explainRow
		Expect(json.Unmarshal(out, &rows)).To(Succeed())

		var p pipeline
		loadPipeline("pipeline.yml", &p)
		gets := 0
		for _, j := range p.Jobs {
			for _, s := range steps(j.Plan) {
				if s.Get != "" || s.Put != "" {
					gets++
				}
			}
		}
		Expect(rows).To(HaveLen(gets), "one row per get, implicit gets after puts included")
		for _, r := range rows {
			// explain reads no image without --labels; refimage's own
			// image carries the label, so a runtime with the hook skips.
			want := "pod"
			if r.Type == "refimage" {
				want = "by label"
			}
			Expect(r.Decision).To(Equal(want), "job %s, get %s: %s", r.Job, r.Get, r.Reason)
		}
	})
})
