package in_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("mode selection", func() {
	var reg *fakeRegistry
	var repo, digest string

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
		digest = push(repo, "1.0", image(layer(imagetest.Gzip, imagetest.File("hello", "world"))))
	})

	DescribeTable("follows the precedence of DESIGN.md and says why on the first line",
		func(params, source map[string]any, env []string, wantFull bool, why string) {
			src := map[string]any{"repository": repo}
			for k, v := range source {
				src[k] = v
			}
			res := runIn(request{Source: src, Params: params, Version: resource.Version{Tag: "1.0", Digest: digest}}, env...)
			Expect(res.code).To(Equal(0), res.stderr)
			Expect(res.firstLine()).To(ContainSubstring(why))
			if wantFull {
				Expect(res.firstLine()).To(HavePrefix("full download: "))
				Expect(res.file("rootfs/hello")).To(Equal("world"))
			} else {
				Expect(res.firstLine()).To(HavePrefix("reference only: "))
				Expect(tree(res.dest)).To(ConsistOf("repository", "tag", "digest"))
			}
		},
		Entry("params true beats everything", map[string]any{"fetch_artifact": true, "skip_download": true},
			map[string]any{"fetch_artifact": false}, []string{inPod}, true, "params.fetch_artifact is true"),
		Entry("params false beats source true", map[string]any{"fetch_artifact": false},
			map[string]any{"fetch_artifact": true}, nil, false, "params.fetch_artifact is false"),
		Entry("skip_download beats source true", map[string]any{"skip_download": true},
			map[string]any{"fetch_artifact": true}, nil, false, "params.skip_download is true"),
		Entry("source true beats a pod", nil, map[string]any{"fetch_artifact": true}, []string{inPod}, true, "source.fetch_artifact is true"),
		Entry("source false beats another runtime", nil, map[string]any{"fetch_artifact": false}, nil, false, "source.fetch_artifact is false"),
		Entry("a Kubernetes pod means reference only", nil, nil, []string{inPod}, false, "KUBERNETES_SERVICE_HOST"),
		Entry("any other runtime means a full download", nil, nil, nil, true, "not a Kubernetes pod"),
	)

	DescribeTable("an explicit format asks for the image's bytes, even in a Kubernetes pod",
		func(params, source map[string]any, want string, why string) {
			src := map[string]any{"repository": repo}
			for k, v := range source {
				src[k] = v
			}
			res := runIn(request{Source: src, Params: params, Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
			Expect(res.code).To(Equal(0), res.stderr)
			Expect(res.firstLine()).To(HavePrefix("full download: "))
			Expect(res.firstLine()).To(ContainSubstring(why))
			Expect(filepath.Join(res.dest, want)).To(BeAnExistingFile())
		},
		Entry("rootfs", map[string]any{"format": "rootfs"}, nil, "rootfs/hello", `params.format is "rootfs"`),
		Entry("oci", map[string]any{"format": "oci"}, nil, "image.tar", `params.format is "oci"`),
		Entry("oci-layout beats source false", map[string]any{"format": "oci-layout"},
			map[string]any{"fetch_artifact": false}, "oci/index.json", `params.format is "oci-layout"`),
		Entry("fetch_artifact true says why itself", map[string]any{"format": "oci", "fetch_artifact": true}, nil, "image.tar", "params.fetch_artifact is true"),
	)

	It("writes the reference only for skip_download with a format, as registry-image skips the download", func() {
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"skip_download": true, "format": "oci"},
			Version: resource.Version{Tag: "1.0", Digest: digest}})
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.firstLine()).To(HavePrefix(`reference only: params.skip_download is true, so params.format "oci" is not written`))
		Expect(tree(res.dest)).To(ConsistOf("repository", "tag", "digest"))
	})

	It("refuses fetch_artifact: false with a format in one line naming which to drop, before any request", func() {
		reg.reset()
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": false, "format": "oci"},
			Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		Expect(res.stderr).To(MatchRegexp(`^error: [^\n]*params.fetch_artifact[^\n]*drop format[^\n]*drop fetch_artifact[^\n]*\n$`))
		Expect(reg.requestsTo()).To(BeEmpty())
		Expect(tree(res.dest)).To(BeEmpty())
	})
})

var _ = Describe("source.content_trust", func() {
	DescribeTable("is ignored by in, as registry-image ignores it outside put, in one stderr line after the mode",
		func(env []string, want string) {
			reg := newFakeRegistry()
			repo := reg.repo("app")
			digest := push(repo, "1.0", image(layer(imagetest.Gzip, imagetest.File("hello", "world"))))
			src := map[string]any{"repository": repo, "content_trust": map[string]any{
				"server": "https://notary.example", "repository_key_id": "id", "repository_passphrase": "PASS-ct-456"}}
			res := runIn(request{Source: src, Version: resource.Version{Tag: "1.0", Digest: digest}}, env...)
			Expect(res.code).To(Equal(0), res.stderr)
			Expect(res.file(want)).NotTo(BeEmpty())
			lines := strings.Split(res.stderr, "\n")
			Expect(lines[0]).To(MatchRegexp(`^(reference only|full download): `))
			Expect(lines[1]).To(Equal("warning: source.content_trust is ignored: it only signs what put pushes (Notary v1), which refimage's put refuses"))
			Expect(strings.Count(res.stderr, "content_trust")).To(Equal(1))
			Expect(res.stderr).NotTo(ContainSubstring("PASS-ct-456"))
		},
		Entry("reference only", []string{inPod}, "digest"),
		Entry("full download", nil, "rootfs/hello"),
	)
})

var _ = Describe("reference only", func() {
	var reg *fakeRegistry
	var repo, digest, configDigest string

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
		img := imagetest.MustImage(imagetest.Spec{
			Layers:      []v1.Layer{layer(imagetest.Gzip, imagetest.File("hello", "world"))},
			Labels:      map[string]string{"org.example.team": "core", "other": "x"},
			Annotations: map[string]string{"org.example.build": "42"},
		})
		digest = push(repo, "1.0", img)
		cfg, err := img.ConfigName()
		Expect(err).NotTo(HaveOccurred())
		configDigest = cfg.String()
		reg.reset()
	})

	It("writes repository, tag and digest as registry-image does, with one manifest HEAD", func() {
		res := runIn(request{Source: map[string]any{"repository": repo}, Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.file("repository")).To(Equal(repo))
		Expect(res.file("tag")).To(Equal("1.0"))
		Expect(res.file("digest")).To(Equal(digest))
		Expect(tree(res.dest)).To(ConsistOf("repository", "tag", "digest"))
		Expect(reg.requestsTo()).To(Equal([]string{"HEAD /v2/app/manifests/" + digest}))
		Expect(res.response()).To(Equal(resource.VersionResponse{
			Version:  resource.Version{Tag: "1.0", Digest: digest},
			Metadata: []resource.MetadataField{{Name: "repository", Value: repo}, {Name: "tag", Value: "1.0"}},
		}))
	})

	It("keeps the version it was given when the tag has moved", func() {
		push(repo, "1.0", image(layer(imagetest.Gzip, imagetest.File("hello", "moved"))))
		res := runIn(request{Source: map[string]any{"repository": repo}, Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.file("digest")).To(Equal(digest))
		Expect(res.response().Version.Digest).To(Equal(digest))
	})

	DescribeTable("fails naming the repository and digest when the digest is gone",
		func(env ...string) {
			gone := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			res := runIn(request{Source: map[string]any{"repository": repo}, Version: resource.Version{Tag: "1.0", Digest: gone}}, env...)
			Expect(res.code).NotTo(Equal(0))
			Expect(res.stdout).To(BeEmpty())
			Expect(res.stderr).To(ContainSubstring("digest " + gone + " is not in " + repo))
			Expect(tree(res.dest)).To(BeEmpty())
		},
		Entry("reference only", inPod),
		Entry("full download"),
	)

	It("refuses to run without a destination, in one line", func() {
		cmd := exec.Command(inBin)
		cmd.Env = []string{}
		cmd.Stdin = strings.NewReader(`{"source":{"repository":"` + repo + `"},"version":{"tag":"1.0","digest":"` + digest + `"}}`)
		out, err := cmd.Output()
		Expect(err).To(HaveOccurred())
		Expect(out).To(BeEmpty())
		Expect(string(err.(*exec.ExitError).Stderr)).To(MatchRegexp(`^error: in needs its destination directory as its first argument[^\n]*\n$`))
	})

	It("adds the labels and annotations the regexes select, as registry-image", func() {
		res := runIn(request{
			Source:  map[string]any{"repository": repo, "label_regex": "^org\\.example\\.", "annotation_regex": "build"},
			Version: resource.Version{Tag: "1.0", Digest: digest},
		}, inPod)
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.response().Metadata).To(Equal([]resource.MetadataField{
			{Name: "repository", Value: repo}, {Name: "tag", Value: "1.0"},
			{Name: "org.example.team", Value: "core"}, {Name: "org.example.build", Value: "42"},
		}))
		Expect(reg.requestsTo()).To(Equal([]string{
			"GET /v2/app/manifests/" + digest, "GET /v2/app/blobs/" + configDigest,
		}), "the manifest and the config, once each, and no layer")
	})

	It("writes exactly what registry.ResolveReference computes, as the hook does", func() {
		req := resource.InRequest{Source: resource.Source{Repository: repo, LabelRegex: "team"}, Version: resource.Version{Tag: "1.0", Digest: digest}}
		ref, err := registry.ResolveReference(context.Background(), req, func(ctx context.Context, src resource.Source) (registry.Registry, error) {
			return registry.NewClient(ctx, src)
		})
		Expect(err).NotTo(HaveOccurred())

		res := runIn(request{Source: map[string]any{"repository": repo, "label_regex": "team"}, Version: req.Version}, inPod)
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.response()).To(Equal(ref.Response))
		Expect(ref.Files).To(HaveLen(len(tree(res.dest))))
		for _, f := range ref.Files {
			b, err := os.ReadFile(filepath.Join(res.dest, f.Name))
			Expect(err).NotTo(HaveOccurred())
			Expect(b).To(Equal(f.Data))
		}
	})
})
