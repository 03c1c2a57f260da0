package hook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

// runIn runs the in binary as Concourse does, in a Kubernetes pod (so in
// reference mode unless params say otherwise), and returns its stdout and
// the files it wrote.
func runIn(inPath string, req map[string]any) ([]byte, map[string]string) {
	dest := GinkgoT().TempDir()
	body, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(inPath, dest)
	cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=127.0.0.1")
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	Expect(err).NotTo(HaveOccurred(), stderr.String())
	files := map[string]string{}
	entries, err := os.ReadDir(dest)
	Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dest, e.Name()))
		Expect(err).NotTo(HaveOccurred())
		files[e.Name()] = string(data)
	}
	return stdout.Bytes(), files
}

var _ = Describe("Equivalence with the in binary", Ordered, func() {
	var inPath string
	BeforeAll(func() {
		var err error
		inPath, err = gexec.Build("github.com/refimage/refimage/cmd/in")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	It("writes and prints byte for byte what in writes and prints, over generated requests", func() {
		reg := startRegistry()
		rng := rand.New(rand.NewPCG(5, 7))
		h := mustNew(hook.WithLabeler(nil))
		for i := range 32 {
			path := fmt.Sprintf("team-%d/app%d", rng.IntN(3), i)
			tag := []string{"latest", "1.2.3", "v2", "2026-01-01_rc.1"}[rng.IntN(4)]
			labels := map[string]string{"org.opencontainers.image.revision": fmt.Sprint(rng.Int()), "team": "x"}
			digest := reg.push(path, tag, labels)
			source := map[string]any{"repository": reg.Repo(path)}
			if rng.IntN(4) == 0 {
				// A Docker Hub repository served by the mirror: the
				// repository file keeps the name as written.
				source = map[string]any{"repository": path,
					"registry_mirror": map[string]any{"host": reg.Host}}
			}
			switch rng.IntN(3) {
			case 0:
				source["label_regex"] = "^org\\."
			case 1:
				source["annotation_regex"] = "."
			}
			if rng.IntN(3) == 0 {
				source["tag"] = tag
			}
			params := map[string]any{}
			if rng.IntN(2) == 0 {
				params["fetch_artifact"] = false
			}
			version := resource.Version{Tag: tag, Digest: digest.String()}

			d, err := h.Decide(context.Background(), baseGet(source, params, version))
			Expect(err).NotTo(HaveOccurred())
			res, err := h.Resolve(context.Background(), d)
			Expect(err).NotTo(HaveOccurred())
			hookOut, err := json.Marshal(resource.VersionResponse{Version: res.Version, Metadata: res.Metadata})
			Expect(err).NotTo(HaveOccurred())

			stdout, files := runIn(inPath, map[string]any{"source": source, "params": params, "version": version})
			Expect(string(bytes.TrimSpace(stdout))).To(Equal(string(hookOut)), "request %d", i)
			Expect(files).To(Equal(res.FilesMap()), "request %d", i)
		}
	})

	It("honours passed constraints: the upstream's digest, not where the tag moved", func() {
		reg := startRegistry()
		repo := reg.Host + "/team/app"
		v1Digest := reg.push("team/app", "latest", nil) // job A pushed v1; its version goes downstream
		upstream := resource.Version{Tag: "latest", Digest: v1Digest.String()}
		v2Digest := reg.push("team/app", "latest", nil) // the tag then moves to v2
		Expect(v2Digest).NotTo(Equal(v1Digest))

		h := mustNew(hook.WithLabeler(nil))
		source := map[string]any{"repository": repo}
		d, err := h.Decide(context.Background(), baseGet(source, nil, upstream))
		Expect(err).NotTo(HaveOccurred())
		res, err := h.Resolve(context.Background(), d)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Version).To(Equal(upstream))
		Expect(res.Reference).To(Equal(repo + "@" + v1Digest.String()))
		Expect(res.FilesMap()).To(HaveKeyWithValue("digest", v1Digest.String()))

		stdout, files := runIn(inPath, map[string]any{"source": source, "version": upstream})
		var printed resource.VersionResponse
		Expect(json.Unmarshal(stdout, &printed)).To(Succeed())
		Expect(printed.Version).To(Equal(upstream))
		Expect(files).To(HaveKeyWithValue("digest", v1Digest.String()))
	})
})
