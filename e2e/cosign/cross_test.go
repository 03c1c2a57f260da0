//go:build cosign

package cosign_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature"
)

const inPod = "KUBERNETES_SERVICE_HOST=10.0.0.1"

// pushImage pushes a new random image to ref and returns its digest.
func pushImage(ref string) string {
	img, err := random.Image(512, 1)
	Expect(err).NotTo(HaveOccurred())
	d, err := imagetest.Push(ref, img, dist.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	return d
}

// sigTag is the signature tag of repo@digest.
func sigTag(repo, digest string) name.Tag {
	d, err := name.NewDigest(repo + "@" + digest)
	Expect(err).NotTo(HaveOccurred())
	return signature.SignatureTag(d)
}

// cosignSign signs repo@digest with a key cosign generated, as users do
// offline: no transparency log.
func cosignSign(key, repo, digest string) {
	out, code := runCosign("sign", "--key", filepath.Join(work, key), "--tlog-upload=false", repo+"@"+digest)
	Expect(code).To(Equal(0), out)
}

// cosignVerify is cosign verify's exit code and output for repo@digest.
func cosignVerify(pubKey, repo, digest string) (string, int) {
	return runCosign("verify", "--key", filepath.Join(work, pubKey), "--insecure-ignore-tlog=true", repo+"@"+digest)
}

// cosignVerifyBundle is cosignVerify for a signature made with
// --new-bundle-format, which cosign checks only against a trust root: the
// empty one, offline.
func cosignVerifyBundle(pubKey, repo, digest string) (string, int) {
	return runCosign("verify", "--key", filepath.Join(work, pubKey), "--insecure-ignore-tlog=true",
		"--new-bundle-format", "--trusted-root", filepath.Join(work, "trusted_root.json"), repo+"@"+digest)
}

// resolve runs the runtime hook's decision and resolution for the get.
func resolve(repo string, v resource.Version) (*hook.Resolution, error) {
	h, err := hook.New(hook.WithLabeler(nil))
	Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	d, err := h.Decide(ctx, hook.Get{Type: "registry-image", Source: source(repo, pub),
		Version: map[string]string{"tag": v.Tag, "digest": v.Digest}, TypeImage: hook.TypeImage{BaseType: "registry-image"}})
	Expect(err).NotTo(HaveOccurred())
	Expect(d.Skip).To(BeTrue(), d.Reason)
	return h.Resolve(ctx, d)
}

var _ = Describe("refimage's put, verified by cosign", func() {
	It("signs what it pushed so that cosign verify --key accepts it, and only with that key", func() {
		repo := dist.Repo("cross/put")
		dir := GinkgoT().TempDir()
		img, err := random.Image(512, 2)
		Expect(err).NotTo(HaveOccurred())
		tag, err := name.NewTag("example.com/fixture:latest")
		Expect(err).NotTo(HaveOccurred())
		Expect(tarball.WriteToFile(filepath.Join(dir, "image.tar"), tag, img)).To(Succeed())
		src := source(repo, pub)
		src["sign"] = map[string]any{"private_key": priv, "password": keyPass}
		r := runResource(outBin, map[string]any{"source": src, "params": map[string]any{"image": "image.tar", "version": "1.0.0"}}, nil, dir)
		Expect(r.code).To(Equal(0), r.stderr)
		var resp resource.VersionResponse
		Expect(json.Unmarshal([]byte(r.stdout), &resp)).To(Succeed())

		out, code := cosignVerify("cosign.pub", repo, resp.Version.Digest)
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring(`"docker-manifest-digest":"` + resp.Version.Digest + `"`))
		out, code = cosignVerify("other.pub", repo, resp.Version.Digest)
		Expect(code).NotTo(Equal(0), out)
	})

	It("reads and writes keys as cosign does: a key pair made in Go signs with cosign, and cosign's verifies refimage's put", func() {
		kp, err := signtest.NewKeyPair(keyPass)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(work, "go.key"), []byte(kp.PrivatePEM), 0o600)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(work, "go.pub"), []byte(kp.PublicPEM), 0o600)).To(Succeed())
		repo := dist.Repo("cross/gokey")
		d := pushImage(repo + ":1.0.0")
		cosignSign("go.key", repo, d)
		out, code := cosignVerify("go.pub", repo, d)
		Expect(code).To(Equal(0), out)
		r := runResource(checkBin, map[string]any{"source": source(repo, kp.PublicPEM)}, nil)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(d))
	})
})

var _ = Describe("signatures cosign makes, read by refimage's check, in and hook", Ordered, func() {
	var repo string
	digests := map[string]string{}
	// The tags, each with its digest signed (or not) as the tag says.
	bad := map[string]string{"1.1.0": "unsigned", "1.2.0": "tampered", "1.3.0": "other key", "1.4.0": "other digest"}

	BeforeAll(func() {
		repo = dist.Repo("cross/cosign")
		for _, t := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "donor"} {
			digests[t] = pushImage(repo + ":" + t)
		}
		cosignSign("cosign.key", repo, digests["1.0.0"])
		// A Sigstore bundle, attached as an OCI referrer.
		out, code := runCosign("sign", "--key", filepath.Join(work, "cosign.key"), "--tlog-upload=false", "--new-bundle-format", repo+"@"+digests["1.5.0"])
		Expect(code).To(Equal(0), out)
		cosignSign("cosign.key", repo, digests["1.2.0"])
		tamper(sigTag(repo, digests["1.2.0"]))
		cosignSign("other.key", repo, digests["1.3.0"])
		cosignSign("cosign.key", repo, digests["donor"])
		copyManifest(sigTag(repo, digests["donor"]), sigTag(repo, digests["1.4.0"]))
	})

	It("check emits the tags cosign signed (a .sig tag, a bundle) and skips every other with one line; cosign agrees on each", func() {
		listed, err := signtest.NewKeyPair("pw") // listed beside cosign.pub, signs nothing
		Expect(err).NotTo(HaveOccurred())
		r := runResource(checkBin, map[string]any{"source": source(repo, listed.PublicPEM+"\n", pub)}, nil)
		Expect(r.code).To(Equal(0), r.stderr)
		var versions []resource.Version
		Expect(json.Unmarshal([]byte(r.stdout), &versions)).To(Succeed())
		Expect(versions).To(Equal([]resource.Version{{Tag: "1.0.0", Digest: digests["1.0.0"]}, {Tag: "1.5.0", Digest: digests["1.5.0"]}}))
		for tag := range bad {
			Expect(r.stderr).To(ContainSubstring("skipping tag " + tag + " (" + digests[tag] + "): not verified: "))
		}
		Expect(strings.Count(r.stderr, "\n")).To(Equal(len(bad)), r.stderr)

		out, code := cosignVerify("cosign.pub", repo, digests["1.0.0"])
		Expect(code).To(Equal(0), out)
		Expect(out).NotTo(ContainSubstring("lookup "), "cosign looked up a name off this machine")
		out, code = cosignVerifyBundle("cosign.pub", repo, digests["1.5.0"])
		Expect(code).To(Equal(0), out)
		out, code = cosignVerifyBundle("other.pub", repo, digests["1.5.0"])
		Expect(code).NotTo(Equal(0), "cosign verify accepted the bundle of 1.5.0 with another key: %s", out)
		Expect(out).To(ContainSubstring("signatures do not match"), "refused for its key, not for want of a trust root")
		for tag, why := range bad {
			out, code := cosignVerify("cosign.pub", repo, digests[tag])
			Expect(code).NotTo(Equal(0), "cosign verify accepted the %s signature of %s: %s", why, tag, out)
		}
	})

	for _, tag := range []string{"1.0.0", "1.5.0"} {
		It("in writes the reference and downloads the image cosign signed, and the hook hands it over ("+tag+")", func() {
			v := resource.Version{Tag: tag, Digest: digests[tag]}
			r := runResource(inBin, map[string]any{"source": source(repo, pub), "version": v}, []string{inPod}, GinkgoT().TempDir())
			Expect(r.code).To(Equal(0), r.stderr)
			r = runResource(inBin, map[string]any{"source": source(repo, pub), "version": v, "params": map[string]any{"fetch_artifact": true}}, nil, GinkgoT().TempDir())
			Expect(r.code).To(Equal(0), r.stderr)
			res, err := resolve(repo, v)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Reference).To(Equal(repo + "@" + digests[tag]))
		})
	}

	DescribeTable("in (both modes) and the hook refuse",
		func(tag string) {
			v := resource.Version{Tag: tag, Digest: digests[tag]}
			for _, mode := range []struct {
				env    []string
				params map[string]any
			}{{[]string{inPod}, nil}, {nil, map[string]any{"fetch_artifact": true}}} {
				dest := GinkgoT().TempDir()
				r := runResource(inBin, map[string]any{"source": source(repo, pub), "version": v, "params": mode.params}, mode.env, dest)
				Expect(r.code).NotTo(Equal(0))
				Expect(r.stdout).To(BeEmpty())
				Expect(r.stderr).To(ContainSubstring(digests[tag] + " has no valid signature: "))
				entries, err := os.ReadDir(dest)
				Expect(err).NotTo(HaveOccurred())
				Expect(entries).To(BeEmpty())
			}
			res, err := resolve(repo, v)
			Expect(res).To(BeNil())
			Expect(err).To(MatchError(signature.ErrUnverified))
		},
		Entry("a missing signature", "1.1.0"),
		Entry("a tampered signature", "1.2.0"),
		Entry("a signature by another key", "1.3.0"),
		Entry("a signature for another digest", "1.4.0"),
	)
})

// tamper rewrites the payload of every signature at tag (its identity, not
// its digest), keeping cosign's signature annotations as they were.
func tamper(tag name.Tag) {
	img, err := remote.Image(tag, dist.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	m, err := img.Manifest()
	Expect(err).NotTo(HaveOccurred())
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, m.MediaType), m.Config.MediaType)
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		Expect(err).NotTo(HaveOccurred())
		rc, err := l.Compressed()
		Expect(err).NotTo(HaveOccurred())
		var payload map[string]any
		Expect(json.NewDecoder(rc).Decode(&payload)).To(Succeed())
		Expect(rc.Close()).To(Succeed())
		payload["critical"].(map[string]any)["identity"] = map[string]any{"docker-reference": "evil.example/app"}
		b, err := json.Marshal(payload)
		Expect(err).NotTo(HaveOccurred())
		out, err = mutate.Append(out, mutate.Addendum{Layer: static.NewLayer(b, desc.MediaType), Annotations: desc.Annotations})
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(remote.Write(tag, out, dist.RemoteOptions()...)).To(Succeed())
}

// copyManifest puts the manifest at from under the tag to as well.
func copyManifest(from, to name.Tag) {
	img, err := remote.Image(from, dist.RemoteOptions()...)
	Expect(err).NotTo(HaveOccurred())
	Expect(remote.Write(to, img, dist.RemoteOptions()...)).To(Succeed())
}
