package out_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// The implicit get that Concourse runs after a put must find what out
// printed: the same digest, by ggcr, by reference mode and by the in binary.
var _ = Describe("out, then in", func() {
	for _, fl := range flavours {
		Context("on "+fl.Name, func() {
			var (
				reg  *registrytest.Registry
				src  map[string]any
				resp resource.VersionResponse
			)
			BeforeEach(func() {
				reg = fl.Start()
				dir := inputs()
				idx, err := imagetest.MultiArch(imagetest.Spec{}, v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
				Expect(err).NotTo(HaveOccurred())
				writeLayoutIndex(dir, "oci", idx)
				src = reg.Source(freshRepo(reg))
				r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "oci", "version": "3.1.4", "bump_aliases": true}})
				Expect(r.code).To(Equal(0))
				resp = r.resp
				Expect(resp.Version).To(Equal(resource.Version{Tag: "3.1.4", Digest: digestOf(idx)}))
			})

			It("finds the printed digest with a HEAD by digest", func() {
				desc, err := remote.Head(mustRef(src["repository"].(string)+"@"+resp.Version.Digest), reg.RemoteOptions()...)
				Expect(err).NotTo(HaveOccurred())
				Expect(desc.Digest.String()).To(Equal(resp.Version.Digest))
			})

			It("resolves the printed version in reference mode", func() {
				req := resource.InRequest{Source: decodeSource(src), Version: resp.Version}
				ref, err := registry.ResolveReference(context.Background(), req, func(ctx context.Context, s resource.Source) (registry.Registry, error) {
					return registry.NewClient(ctx, s)
				})
				Expect(err).NotTo(HaveOccurred())
				Expect(ref.Response.Version).To(Equal(resp.Version))
				Expect(ref.Pinned.DigestStr()).To(Equal(resp.Version.Digest))
			})

			DescribeTable("the in binary gets the printed version",
				func(params map[string]any) {
					inBin := inBinary()
					dest := GinkgoT().TempDir()
					body, err := json.Marshal(map[string]any{"source": src, "params": params, "version": resp.Version})
					Expect(err).NotTo(HaveOccurred())
					cmd := exec.Command(inBin, dest)
					cmd.Stdin = bytes.NewReader(body)
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					Expect(cmd.Run()).To(Succeed(), stderr.String())
					var got resource.VersionResponse
					Expect(json.Unmarshal(stdout.Bytes(), &got)).To(Succeed())
					Expect(got.Version).To(Equal(resp.Version))
					digest, err := os.ReadFile(filepath.Join(dest, "digest"))
					Expect(err).NotTo(HaveOccurred())
					Expect(string(digest)).To(Equal(resp.Version.Digest))
				},
				Entry("reference mode", map[string]any{"fetch_artifact": false}),
				Entry("full download", map[string]any{"fetch_artifact": true, "format": "oci"}),
			)
		})
	}
})

var builtIn string

// inBinary builds cmd/in once per process.
func inBinary() string {
	if builtIn == "" {
		bin, err := gexec.Build("github.com/refimage/refimage/cmd/in")
		Expect(err).NotTo(HaveOccurred())
		builtIn = bin
	}
	return builtIn
}
