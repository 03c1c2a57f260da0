package resource_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

var _ = Describe("Decode", func() {
	decodeCheck := func(body string) (resource.CheckRequest, error) {
		var req resource.CheckRequest
		err := resource.Decode(strings.NewReader(body), &req)
		return req, err
	}

	It("decodes a registry-image source with every field", func() {
		req, err := decodeCheck(`{"source":{"repository":"example.com/app","tag":"1.2","username":"u","password":"p",
			"insecure":true,"registry_mirror":{"host":"mirror.example.com","username":"mu","password":"mp"},
			"platform":{"os":"linux","architecture":"arm64"},"debug":true,"variant":"alpine","pre_releases":true,
			"pre_release_prefixes":["dev"],"semver_constraint":">=1","label_regex":"^org","annotation_regex":"^io",
			"tag_regex":"^v","created_at_sort":true,"fetch_artifact":false},"version":{"tag":"1.2","digest":"sha256:abc"}}`)
		Expect(err).NotTo(HaveOccurred())
		Expect(req.Source.Repository).To(Equal("example.com/app"))
		Expect(req.Source.RegistryMirror.Password).To(Equal("mp"))
		Expect(req.Source.Platform.Architecture).To(Equal("arm64"))
		Expect(*req.Source.FetchArtifact).To(BeFalse())
		Expect(req.Version).To(Equal(&resource.Version{Tag: "1.2", Digest: "sha256:abc"}))
	})

	It("keeps a numeric tag's text", func() {
		req, err := decodeCheck(`{"source":{"repository":"app","tag":1.10}}`)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(req.Source.Tag)).To(Equal("1.10"))
	})

	DescribeTable("rejects bad requests with one line that says what to fix",
		func(body string, want string) {
			_, err := decodeCheck(body)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
			Expect(err.Error()).NotTo(ContainSubstring("\n"))
		},
		Entry("empty stdin", ``, "stdin is empty"),
		Entry("malformed JSON", `{"source":`, "truncated JSON"),
		Entry("syntax error", `{"source":}`, "malformed JSON"),
		Entry("unknown source field", `{"source":{"repository":"app","tgs":"x"}}`, `unknown field "tgs"`),
		Entry("unknown top-level field", `{"source":{"repository":"app"},"extra":1}`, `unknown field "extra"`),
		Entry("two values", `{"source":{"repository":"app"}} {}`, "more than one JSON value"),
		Entry("missing repository", `{"source":{}}`, "source.repository: it is required"),
		Entry("bad repository", `{"source":{"repository":"UPPER/case"}}`, "is not a repository name"),
		Entry("bad tag", `{"source":{"repository":"app","tag":"a b"}}`, "source.tag"),
		Entry("bad tag_regex", `{"source":{"repository":"app","tag_regex":"("}}`, "source.tag_regex"),
		Entry("bad label_regex", `{"source":{"repository":"app","label_regex":"["}}`, "source.label_regex"),
		Entry("bad annotation_regex", `{"source":{"repository":"app","annotation_regex":"(?P<"}}`, "source.annotation_regex"),
		Entry("bad constraint", `{"source":{"repository":"app","semver_constraint":"not a constraint"}}`, "source.semver_constraint"),
		Entry("mirror without host", `{"source":{"repository":"app","registry_mirror":{}}}`, "source.registry_mirror.host"),
		Entry("bad CA", `{"source":{"repository":"app","ca_certs":["nope"]}}`, "source.ca_certs[0]"),
		Entry("fetch_artifact not a bool", `{"source":{"repository":"app","fetch_artifact":"yes"}}`, `"source.fetch_artifact" must be true or false`),
		Entry("a password that is not a string: the path the user wrote, not Go's embedded struct names", `{"source":{"repository":"app","password":5}}`,
			`field "source.password" must be a string`),
		Entry("a mirror password that is not a string", `{"source":{"repository":"app","registry_mirror":{"host":"m","password":5}}}`,
			`field "source.registry_mirror.password" must be a string`),
		Entry("an ECR region that is not a string", `{"source":{"repository":"app","aws_region":5}}`, `field "source.aws_region" must be a string`),
		Entry("debug not a bool", `{"source":{"repository":"app","debug":1}}`, `"source.debug" must be true or false`),
	)

	Describe("in and out requests", func() {
		var checkReq resource.CheckRequest
		var inReq resource.InRequest
		DescribeTable("rejects what in or out cannot use",
			func(req any, body, want string) {
				err := resource.Decode(strings.NewReader(body), req)
				Expect(err).To(MatchError(ContainSubstring(want)))
			},
			Entry("in without digest", &resource.InRequest{}, `{"source":{"repository":"app"},"version":{"tag":"1"}}`, "version.digest: it is required"),
			Entry("in with unknown format", &resource.InRequest{}, `{"source":{"repository":"app"},"params":{"format":"zip"},"version":{"digest":"sha256:a"}}`, `params.format: "zip" is not a format`),
			Entry("in with fetch_artifact string", &resource.InRequest{}, `{"source":{"repository":"app"},"params":{"fetch_artifact":"true"},"version":{"digest":"sha256:a"}}`, `"params.fetch_artifact" must be true or false`),
			Entry("out without image", &resource.OutRequest{}, `{"source":{"repository":"app"},"params":{}}`, "params.image: it is required"),
			Entry("out with tag_prefix alone", &resource.OutRequest{}, `{"source":{"repository":"app"},"params":{"image":"i.tar","tag_prefix":"v"}}`, "params.tag_prefix"),
			Entry("out with content_trust", &resource.OutRequest{}, `{"source":{"repository":"app","content_trust":{"server":"x"}},"params":{"image":"i.tar"}}`, "source.content_trust: Notary v1 signing is not supported"),
		)

		DescribeTable("accepts content_trust where registry-image ignores it, with a notice",
			func(req interface{ Secrets() []string }, body string, source func() resource.Source) {
				Expect(resource.Decode(strings.NewReader(body), req)).To(Succeed())
				Expect(source().ContentTrustNotice()).To(HavePrefix("source.content_trust is ignored"))
			},
			Entry("check", &checkReq, `{"source":{"repository":"app","content_trust":{"server":"x","repository_passphrase":"p"}}}`, func() resource.Source { return checkReq.Source }),
			Entry("in", &inReq, `{"source":{"repository":"app","content_trust":{"server":"x"}},"version":{"digest":"sha256:a"}}`, func() resource.Source { return inReq.Source }),
		)

		It("gives no notice without content_trust, or with null", func() {
			Expect(resource.Decode(strings.NewReader(`{"source":{"repository":"app","content_trust":null}}`), &checkReq)).To(Succeed())
			Expect(checkReq.Source.ContentTrustNotice()).To(BeEmpty())
			Expect(resource.Source{Repository: "r"}.ContentTrustNotice()).To(BeEmpty())
		})
	})
})
