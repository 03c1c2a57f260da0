package ci_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// baseTypes are the Concourse base types the pipeline may use directly;
// registry-image is not among them: every image is got with refimage.
var baseTypes = map[string]bool{"git": true, "github-release": true}

// sourceRepo is the git resource holding this repository, in whose
// checkout task files are found.
const sourceRepo = "source"

var _ = Describe("ci/pipeline.yml", func() {
	var (
		p         pipeline
		resources map[string]resource
		types     map[string]resourceType
		jobs      map[string]job
		repoRoot  string
	)

	BeforeEach(func() {
		p = pipeline{}
		loadPipeline("pipeline.yml", &p)
		repoRoot = ".."
		resources, types, jobs = map[string]resource{}, map[string]resourceType{}, map[string]job{}
		for _, t := range p.ResourceTypes {
			Expect(types).NotTo(HaveKey(t.Name), "resource type declared twice")
			types[t.Name] = t
		}
		for _, r := range p.Resources {
			Expect(resources).NotTo(HaveKey(r.Name), "resource declared twice")
			resources[r.Name] = r
		}
		for _, j := range p.Jobs {
			Expect(jobs).NotTo(HaveKey(j.Name), "job declared twice")
			jobs[j.Name] = j
		}
	})

	isImage := func(resourceName string) bool { return resources[resourceName].Type == "refimage" }

	It("gets every image with refimage, itself fetched with the base registry-image type", func() {
		Expect(types).To(HaveKey("refimage"))
		Expect(types["refimage"].Type).To(Equal("registry-image"))
		for _, r := range p.Resources {
			_, custom := types[r.Type]
			Expect(custom || baseTypes[r.Type]).To(BeTrue(), "resource %s has type %s, neither declared nor an allowed base type", r.Name, r.Type)
		}
		Expect(types).To(HaveLen(1), "no other custom type: one to fetch images")
	})

	It("uses every resource, and names only resources and jobs that exist", func() {
		used := map[string]bool{}
		for _, j := range p.Jobs {
			for _, s := range steps(j.Plan) {
				for _, name := range []string{s.Get, s.Put} {
					if name == "" {
						continue
					}
					Expect(resources).To(HaveKey(name), "job %s", j.Name)
					used[name] = true
				}
				for _, upstream := range s.Passed {
					Expect(jobs).To(HaveKey(upstream), "job %s: passed", j.Name)
					Expect(touches(jobs[upstream], s.Get)).To(BeTrue(), "job %s: %s passed %s, which neither gets nor puts it", j.Name, s.Get, upstream)
				}
			}
		}
		for n := range resources {
			Expect(used).To(HaveKey(n), "resource %s is unused", n)
		}
	})

	It("runs every task from a task file in this repository, on an image got with refimage, with its inputs present", func() {
		files := map[string]bool{}
		for _, j := range p.Jobs {
			artifacts := map[string]bool{}
			gets := map[string]bool{}
			for _, s := range steps(j.Plan) {
				switch {
				case s.Get != "":
					artifacts[s.Get], gets[s.Get] = true, true
				case s.Put != "":
					artifacts[s.Put] = true // the implicit get
				case s.Task != "":
					where := fmt.Sprintf("job %s, task %s", j.Name, s.Task)
					artifact, rel, ok := strings.Cut(s.File, "/")
					Expect(ok && artifact == sourceRepo).To(BeTrue(), "%s: task file %q is not in the %s checkout", where, s.File, sourceRepo)
					Expect(artifacts).To(HaveKey(artifact), "%s: %s is not got before the task", where, artifact)
					files[filepath.Clean(rel)] = true

					var t task
					loadStrict(filepath.Join(repoRoot, rel), &t)
					Expect(t.Platform).To(Equal("linux"), where)
					Expect(t.ImageResource).To(BeNil(), "%s: the image comes from the pipeline's refimage get, not image_resource", where)
					Expect(gets).To(HaveKey(s.Image), "%s: image %q is not got in the job", where, s.Image)
					Expect(isImage(s.Image)).To(BeTrue(), "%s: image %s is not a refimage resource", where, s.Image)
					for _, in := range t.Inputs {
						from := in.Name
						if m, ok := s.InputMapping[in.Name]; ok {
							from = m
						}
						Expect(in.Optional || artifacts[from]).To(BeTrue(), "%s: input %s (%s) is not present", where, in.Name, from)
					}
					for k := range s.InputMapping {
						Expect(t.Inputs).To(ContainElement(named{Name: k}), "%s: input_mapping of an unknown input %s", where, k)
					}
					if t.Run.Dir != "" {
						Expect(t.Inputs).To(ContainElement(named{Name: t.Run.Dir}), "%s: runs in %s, not an input", where, t.Run.Dir)
					}
					for _, out := range t.Outputs {
						artifacts[out.Name] = true
					}
				}
			}
		}
		entries, err := os.ReadDir(filepath.Join(repoRoot, "ci", "tasks"))
		Expect(err).NotTo(HaveOccurred())
		for _, e := range entries {
			Expect(files).To(HaveKey(filepath.Join("ci", "tasks", e.Name())), "task file %s is not used", e.Name())
		}
	})

	It("fetches an image's bytes only for a task that reads them, and says so for every other get", func() {
		for _, j := range p.Jobs {
			images, inputs := map[string]bool{}, map[string]bool{}
			for _, s := range steps(j.Plan) {
				if s.Task == "" {
					continue
				}
				images[s.Image] = true
				var t task
				_, rel, _ := strings.Cut(s.File, "/")
				loadStrict(filepath.Join(repoRoot, rel), &t)
				for _, in := range t.Inputs {
					from := in.Name
					if m, ok := s.InputMapping[in.Name]; ok {
						from = m
					}
					inputs[from] = true
				}
			}
			for _, s := range steps(j.Plan) {
				where := fmt.Sprintf("job %s", j.Name)
				if s.Put != "" && isImage(s.Put) {
					Expect(s.GetParams).To(HaveKeyWithValue("fetch_artifact", false), "%s: the put of %s is followed by a download nobody reads", where, s.Put)
				}
				if s.Get == "" || !isImage(s.Get) {
					continue
				}
				fetch, set := s.Params["fetch_artifact"]
				switch {
				case inputs[s.Get]:
					// Read by a task: the step decides, not the runtime's default.
					Expect(set).To(BeTrue(), "%s: %s is a task input; say whether the task reads its bytes (fetch_artifact)", where, s.Get)
				case images[s.Get]:
					// A task image: the runtime decides (a reference for kubelet,
					// bytes for a classic worker); true would force a download.
					Expect(fetch).NotTo(Equal(true), "%s: %s is only a task image; fetch_artifact: true downloads it for nothing on Kubernetes", where, s.Get)
				default:
					Expect(fetch).To(Equal(false), "%s: %s is neither an image nor an input; set fetch_artifact: false", where, s.Get)
				}
			}
		}
	})
})

// touches reports whether j gets or puts resource.
func touches(j job, resource string) bool {
	for _, s := range steps(j.Plan) {
		if s.Get == resource || s.Put == resource {
			return true
		}
	}
	return false
}
