package in_test

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("in with source.verify, against the Distribution registry with TLS and basic auth", Ordered, func() {
	const password = "s3cr3t-pa55"
	var (
		proxy        *registrytest.Proxy
		repo         string
		digests      map[string]string
		kp, stranger signtest.KeyPair
		listed       signtest.KeyPair // listed beside kp, signs nothing
	)

	BeforeAll(func() {
		dist, err := registrytest.StartDistribution(registrytest.WithTLS(), registrytest.WithBasicAuth("ci", password))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(dist.Close)
		proxy = registrytest.NewProxy(dist)
		DeferCleanup(proxy.Close)
		repo = proxy.Repo("in/signed")
		kp, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		stranger, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		listed, err = signtest.NewKeyPair("pw")
		Expect(err).NotTo(HaveOccurred())
		digests = map[string]string{}
		opts := proxy.RemoteOptions()
		for _, tag := range []string{"signed", "unsigned", "tampered", "other-key", "other-digest"} {
			img := imagetest.MustImage(imagetest.Spec{Labels: map[string]string{"tag": tag},
				Layers: []v1.Layer{layer(imagetest.Gzip, imagetest.File("etc/"+tag, tag))}})
			digests[tag], err = imagetest.Push(repo+":"+tag, img, opts...)
			Expect(err).NotTo(HaveOccurred())
		}
		for tag, how := range map[string]struct {
			key  signtest.KeyPair
			kind signtest.Kind
		}{"signed": {kp, signtest.Valid}, "tampered": {kp, signtest.Tampered}, "other-key": {stranger, signtest.Valid}, "other-digest": {kp, signtest.OtherDigest}} {
			Expect(signtest.Attach(repo+"@"+digests[tag], how.key, how.kind, digests["signed"], opts...)).To(Succeed())
		}
	})
	BeforeEach(func() { proxy.Reset() })

	request := func(tag string, params map[string]any) request {
		src := map[string]any{"repository": repo, "ca_certs": []string{string(proxy.CACertPEM)}, "username": "ci", "password": password,
			"verify": map[string]any{"public_keys": []string{listed.PublicPEM + "\n", kp.PublicPEM}}}
		return request{Source: src, Params: params, Version: resource.Version{Tag: tag, Digest: digests[tag]}}
	}

	It("writes the reference of a signed digest: one HEAD, the signature manifest and its payload", func() {
		res := runIn(request("signed", nil), inPod)
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.file("digest")).To(Equal(digests["signed"]))
		c := proxy.Counts()
		Expect([]int{c.ManifestHEAD, c.ManifestGET, c.BlobGET, c.Total - c.Ping}).To(Equal([]int{1, 1, 1, 3}))
	})

	It("downloads a signed digest in full", func() {
		res := runIn(request("signed", map[string]any{"fetch_artifact": true}))
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(res.file("rootfs/etc/signed")).To(Equal("signed"))
	})

	for _, mode := range []struct {
		name   string
		params map[string]any
		env    []string
		blobs  int // blobs read at most: a signature payload, and the config for fetch_metadata; never a layer
	}{{"reference only", nil, []string{inPod}, 1}, {"reference with fetch_metadata", map[string]any{"fetch_metadata": true}, []string{inPod}, 2},
		{"full download", map[string]any{"fetch_artifact": true}, nil, 1}} {
		DescribeTable("fails with one line and an empty destination, "+mode.name,
			func(tag, why string) {
				res := runIn(request(tag, mode.params), mode.env...)
				Expect(res.code).NotTo(Equal(0))
				Expect(res.stdout).To(BeEmpty())
				Expect(tree(res.dest)).To(BeEmpty())
				lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
				Expect(lines[len(lines)-1]).To(And(ContainSubstring(digests[tag]+" has no valid signature: "), ContainSubstring(why)))
				Expect(lines).To(HaveLen(2), "the mode line and the error")
				Expect(res.stderr).NotTo(ContainSubstring(password))
				Expect(proxy.Counts().BlobGET).To(BeNumerically("<=", mode.blobs), "no layer downloaded")
			},
			Entry("unsigned", "unsigned", "unsigned: "),
			Entry("a tampered signature", "tampered", "signed with another key, or altered"),
			Entry("a signature by another key", "other-key", "none of the 1 signature(s)"),
			Entry("a signature for another digest", "other-digest", "signs another image"),
		)
	}
})
