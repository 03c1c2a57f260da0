package in_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("reference only with fetch_metadata", func() {
	var reg *fakeRegistry
	var repo, digest, configDigest string

	BeforeEach(func() {
		reg = newFakeRegistry()
		repo = reg.repo("app")
		img := imagetest.MustImage(imagetest.Spec{
			Layers: []v1.Layer{layer(imagetest.Gzip, imagetest.File("hello", "world"))},
			Labels: map[string]string{"org.opencontainers.image.source": "https://example.test/app", "team": "core"},
		})
		cfg, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		cfg = cfg.DeepCopy()
		cfg.Config.Env = []string{"PATH=/usr/bin", "APP_HOME=/app"}
		cfg.Config.User = "1000:1000"
		cfg.Config.Entrypoint = []string{"/app/run"}
		img, err = mutate.ConfigFile(img, cfg)
		Expect(err).NotTo(HaveOccurred())
		digest = push(repo, "1.0", img)
		name, err := img.ConfigName()
		Expect(err).NotTo(HaveOccurred())
		configDigest = name.String()
		reg.reset()
	})

	DescribeTable("writes labels.json and metadata.json as a full download does, from the manifest and config alone",
		func(params, source map[string]any, why string) {
			src := map[string]any{"repository": repo}
			for k, v := range source {
				src[k] = v
			}
			version := resource.Version{Tag: "1.0", Digest: digest}
			res := runIn(request{Source: src, Params: params, Version: version}, inPod)
			Expect(res.code).To(Equal(0), res.stderr)
			Expect(res.firstLine()).To(HavePrefix("reference only: "))
			Expect(res.firstLine()).To(ContainSubstring(why + ", so labels.json and metadata.json are written too"))
			Expect(res.firstLine()).To(ContainSubstring("a manifest GET, which Docker Hub counts as a pull, and a config GET; no layer"))
			Expect(tree(res.dest)).To(ConsistOf("repository", "tag", "digest", "labels.json", "metadata.json"))
			Expect(reg.requestsTo()).To(Equal([]string{"GET /v2/app/manifests/" + digest, "GET /v2/app/blobs/" + configDigest}),
				"two requests: the manifest and the config, no layer byte")

			full := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_artifact": true}, Version: version})
			Expect(full.code).To(Equal(0), full.stderr)
			Expect(res.file("labels.json")).To(Equal(full.file("labels.json")))
			Expect(res.file("metadata.json")).To(Equal(full.file("metadata.json")))
			Expect(res.file("metadata.json")).To(ContainSubstring(`"user":"1000:1000"`))
			Expect(res.file("labels.json")).To(ContainSubstring(`"team":"core"`))
			Expect(res.response()).To(Equal(full.response()))
		},
		Entry("the step's params", map[string]any{"fetch_metadata": true}, nil, "params.fetch_metadata is true"),
		Entry("the resource's source (or the type's defaults, which Concourse merges into it)", nil, map[string]any{"fetch_metadata": true}, "source.fetch_metadata is true"),
		Entry("with skip_download", map[string]any{"skip_download": true, "fetch_metadata": true}, nil, "params.fetch_metadata is true"),
	)

	DescribeTable("stays three files and one HEAD unless asked, and says how to ask and what it costs",
		func(params, source map[string]any, why string) {
			src := map[string]any{"repository": repo}
			for k, v := range source {
				src[k] = v
			}
			res := runIn(request{Source: src, Params: params, Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
			Expect(res.code).To(Equal(0), res.stderr)
			Expect(res.firstLine()).To(ContainSubstring(why + ", so only repository, tag and digest are written (fetch_metadata: true adds labels.json and metadata.json, for a manifest GET, which Docker Hub counts as a pull, and a config GET)"))
			Expect(tree(res.dest)).To(ConsistOf("repository", "tag", "digest"))
			Expect(reg.requestsTo()).To(Equal([]string{"HEAD /v2/app/manifests/" + digest}))
		},
		Entry("not set", nil, nil, "fetch_metadata is not set"),
		Entry("the step's false beats the source's true", map[string]any{"fetch_metadata": false}, map[string]any{"fetch_metadata": true}, "params.fetch_metadata is false"),
	)

	It("refuses a fetch_metadata that is not a bool, in one line", func() {
		res := runIn(request{Source: map[string]any{"repository": repo}, Params: map[string]any{"fetch_metadata": "yes"}, Version: resource.Version{Tag: "1.0", Digest: digest}}, inPod)
		Expect(res.code).NotTo(Equal(0))
		Expect(res.stdout).To(BeEmpty())
		Expect(res.stderr).To(ContainSubstring("fetch_metadata"))
	})
})
