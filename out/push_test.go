package out_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// decodeSource turns a test source into the typed form out.Run takes.
func decodeSource(src map[string]any) resource.Source {
	b, err := json.Marshal(src)
	Expect(err).NotTo(HaveOccurred())
	var s resource.Source
	Expect(json.Unmarshal(b, &s)).To(Succeed())
	return s
}

// runInProcess calls out.Run with a recording transport under the client.
func runInProcess(reg *registrytest.Registry, dir string, src map[string]any, params resource.PutParams) (resource.VersionResponse, *recordingTransport, error) {
	rec := &recordingTransport{inner: reg.Transport()}
	req := resource.OutRequest{Source: decodeSource(src), Params: params}
	resp, err := out.Run(context.Background(), req, dir, out.WithClientOptions(registry.WithTransport(rec)))
	return resp, rec, err
}

var _ = Describe("pushing", func() {
	for _, fl := range flavours {
		Context("on "+fl.Name, func() {
			It("uploads blobs, then manifests by digest, then the tags in order", func() {
				reg := fl.Start()
				dir := inputs()
				repo := freshRepo(reg)
				l, err := imagetest.Layer(imagetest.Gzip, imagetest.File("app/bin", "binary"))
				Expect(err).NotTo(HaveOccurred())
				idx, err := imagetest.MultiArch(imagetest.Spec{Layers: []v1.Layer{l}},
					v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
				Expect(err).NotTo(HaveOccurred())
				writeLayoutIndex(dir, "oci", idx)
				src := reg.Source(repo)
				src["tag"] = "edge"

				resp, rec, err := runInProcess(reg, dir, src, resource.PutParams{Image: "oci", Version: "2.0.0", BumpAliases: true})
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.Version).To(Equal(resource.Version{Tag: "edge", Digest: digestOf(idx)}))

				kinds, tagPuts := requestKinds(rec)
				// Child images upload concurrently, so one child's manifest may
				// precede another's blobs; the index comes after every blob,
				// and every tag after every manifest.
				Expect(kinds[0]).To(Equal("blob"))
				firstTag := slices.Index(kinds, "tag")
				Expect(firstTag).To(BeNumerically(">", 0))
				lastDigest := firstTag - 1
				Expect(kinds[lastDigest]).To(Equal("digest"), "the index by digest just before the tags")
				Expect(kinds[:lastDigest]).To(ContainElement("digest"))
				Expect(kinds[firstTag:]).To(HaveEach("tag"))
				digests := 0
				for _, k := range kinds {
					if k == "digest" {
						digests++
					}
				}
				Expect(digests).To(Equal(3), "two images and the index, by digest")
				Expect(tagPuts).To(Equal([]string{"edge", "2.0.0", "2.0", "2", "latest"}))
			})

			It("uploads no blob the repository already holds", func() {
				reg := fl.Start()
				dir := inputs()
				repo := freshRepo(reg)
				img := randomImage()
				writeTarball(dir, "image.tar", img)
				Expect(writeFile(dir, "tags.txt", "main")).To(Succeed())
				src := reg.Source(repo)

				_, first, err := runInProcess(reg, dir, src, resource.PutParams{Image: "image.tar", Version: "1.0.0", AdditionalTags: "tags.txt"})
				Expect(err).NotTo(HaveOccurred())
				Expect(first.uploaded.Load()).To(BeNumerically(">", 4096))
				kinds, tagPuts := requestKinds(first)
				n := len(kinds)
				Expect(n).To(BeNumerically(">", 4))
				Expect(kinds[:n-3]).To(HaveEach("blob"), "a single image: every blob first")
				Expect(kinds[n-3:]).To(Equal([]string{"digest", "tag", "tag"}))
				Expect(tagPuts).To(Equal([]string{"1.0.0", "main"}))

				resp, second, err := runInProcess(reg, dir, src, resource.PutParams{Image: "image.tar", Version: "1.0.1"})
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.Version.Digest).To(Equal(digestOf(img)))
				Expect(second.uploaded.Load()).To(BeZero())
				Expect(second.log()).NotTo(ContainElement(ContainSubstring("/blobs/uploads/")))
			})
		})
	}

	It("mounts layers from the base image's repository on the same registry instead of uploading them", func() {
		reg := shared.Plain
		dir := inputs()
		baseRepo, repo := freshRepo(reg), freshRepo(reg)
		base := randomImage()
		_, err := imagetest.Push(baseRepo+":3.19", base, reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		top, err := imagetest.Layer(imagetest.Gzip, imagetest.File("app/bin", "app"))
		Expect(err).NotTo(HaveOccurred())
		img, err := mutate.AppendLayers(base, top)
		Expect(err).NotTo(HaveOccurred())
		img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.base.name": baseRepo + ":3.19"}).(v1.Image)
		p, err := layout.Write(filepath.Join(dir, "oci"), emptyIndex)
		Expect(err).NotTo(HaveOccurred())
		Expect(p.AppendImage(img)).To(Succeed())
		topSize, err := top.Size()
		Expect(err).NotTo(HaveOccurred())
		cfg, err := img.RawConfigFile()
		Expect(err).NotTo(HaveOccurred())

		resp, rec, err := runInProcess(reg, dir, map[string]any{"repository": repo, "insecure": true, "tag": "latest"}, resource.PutParams{Image: "oci"})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Version.Digest).To(Equal(digestOf(img)))
		Expect(rec.uploaded.Load()).To(Equal(topSize+int64(len(cfg))), "only the new layer and the config are uploaded")
		Expect(rec.log()).To(ContainElement(ContainSubstring("/blobs/uploads/")))
		pulled, err := remote.Image(mustRef(repo+":latest"), reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		Expect(digestOf(pulled)).To(Equal(digestOf(img)))
	})

	Context("failing part-way", func() {
		var (
			proxy *registrytest.Proxy
			dir   string
			repo  string
		)
		BeforeEach(func() {
			proxy, dir, repo = proxiedPut()
			Expect(writeFile(dir, "tags.txt", "a b")).To(Succeed())
		})
		put := func() result {
			return runOut(dir, map[string]any{
				"source": map[string]any{"repository": repo, "insecure": true},
				"params": map[string]any{"image": "image.tar", "version": "1.2.3", "additional_tags": "tags.txt"},
			})
		}

		It("says which tags were pushed and which were not when a tag fails", func() {
			proxy.Fail(registrytest.Fault{Method: http.MethodPut, PathContains: "/manifests/a", Status: http.StatusForbidden})
			r := put()
			expectFailure(r, "tag "+repo+":a", "403 Forbidden", "tags pushed: 1.2.3; tags not pushed: a, b")
			Expect(remoteTags(proxy.Registry, repo)).To(ConsistOf("1.2.3"))
		})

		It("says no tag was pushed when a blob fails", func() {
			proxy.Fail(registrytest.Fault{Method: http.MethodPost, PathContains: "/blobs/uploads/", Status: http.StatusForbidden})
			r := put()
			expectFailure(r, "push "+repo+"@sha256:", "403 Forbidden", "no tag was pushed (1.2.3, a, b)")
			Expect(proxy.Counts().ManifestPUT).To(BeZero())
		})
	})

	Context("credentials", func() {
		It("fails clearly without credentials on an auth registry", func() {
			dir := inputs()
			writeTarball(dir, "image.tar", randomImage())
			src := shared.TLS.Source(freshRepo(shared.TLS))
			delete(src, "username")
			delete(src, "password")
			src["tag"] = "latest"
			r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "image.tar"}})
			expectFailure(r, "401 Unauthorized", "needs credentials to push: set username and password in source")
		})

		It("never prints a wrong password", func() {
			dir := inputs()
			writeTarball(dir, "image.tar", randomImage())
			src := shared.TLS.Source(freshRepo(shared.TLS))
			src["password"] = "wr0ng-Secret-Zq9"
			src["tag"] = "latest"
			r := runOut(dir, map[string]any{"source": src, "params": map[string]any{"image": "image.tar"}})
			expectFailure(r, "401 Unauthorized")
			Expect(r.stderr).NotTo(ContainSubstring("wr0ng-Secret-Zq9"))
		})
	})
})

// requestKinds classifies the recorded requests that write: "blob" for
// blob uploads, "digest" for manifests put by digest, "tag" for manifests
// put by tag; it also returns the tags in the order they were put.
func requestKinds(rec *recordingTransport) (kinds, tags []string) {
	for _, r := range rec.log() {
		method, path, _ := strings.Cut(r, " ")
		switch {
		case strings.Contains(path, "/blobs/uploads/"):
			kinds = append(kinds, "blob")
		case method == http.MethodPut && strings.Contains(path, "/manifests/sha256:"):
			kinds = append(kinds, "digest")
		case method == http.MethodPut && strings.Contains(path, "/manifests/"):
			kinds = append(kinds, "tag")
			tags = append(tags, path[strings.LastIndex(path, "/")+1:])
		}
	}
	return kinds, tags
}

func mustRef(s string) name.Reference {
	r, err := name.ParseReference(s)
	Expect(err).NotTo(HaveOccurred())
	return r
}
