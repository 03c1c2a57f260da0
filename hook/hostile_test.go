package hook_test

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
)

// pinned is a well-formed digest version, so that only the case's own
// oddity decides.
var pinned = map[string]string{"tag": "1", "digest": "sha256:" + strings.Repeat("cd", 32)}

var _ = Describe("Decide on hostile input", func() {
	DescribeTable("a get it would not skip never fails, whatever its shape",
		func(g hook.Get, opts ...hook.Option) {
			d, err := mustNew(append([]hook.Option{hook.WithLabeler(nil)}, opts...)...).Decide(context.Background(), g)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeFalse())
			Expect(d.Reason).To(HavePrefix("run a pod: "))
		},
		Entry("an empty plan", hook.Get{}),
		Entry("an s3 get with nil maps and no version", hook.Get{Type: "s3", TypeImage: hook.TypeImage{BaseType: "s3"}}),
		Entry("a git get with odd JSON types everywhere", hook.Get{Type: "git", TypeImage: hook.TypeImage{BaseType: "git"},
			Source: map[string]any{"uri": float64(3), "fetch_artifact": "yes", "password": "((p))"},
			Params: map[string]any{"skip_download": "true", "format": []any{1}, "fetch_artifact": map[string]any{}}, Version: map[string]string{"ref": "x"}}),
		Entry("the implicit get after a put of a custom type, with get_params", hook.Get{Type: "mine",
			TypeImage: hook.TypeImage{GetPlan: &hook.Get{Type: "registry-image", Source: src(), TypeImage: base}},
			Params:    map[string]any{"skip_download": true, "fetch_artifact": "sometimes"}}),
		Entry("an unknown source field that holds a ((var))", hook.Get{Type: "registry-image", TypeImage: base,
			Source: src("foo", "((bar))"), Version: pinned}),
		Entry("an unknown param that holds a ((var))", hook.Get{Type: "registry-image", TypeImage: base,
			Source: src(), Params: map[string]any{"foo": "((bar))"}, Version: pinned}),
		Entry("a value of the wrong JSON type before an unknown field that holds a ((var))", hook.Get{Type: "registry-image", TypeImage: base,
			Source: src("insecure", "yes", "zzz", []any{"((bar))"}), Version: pinned}),
		Entry("an unknown param, and a ((var)) in the source", hook.Get{Type: "registry-image", TypeImage: base,
			Source: src("username", "((user))"), Params: map[string]any{"foo": float64(1)}, Version: pinned}),
		Entry("a version of another type, and a ((var)) in the source", hook.Get{Type: "registry-image", TypeImage: base,
			Source: src("username", "((user))"), Version: map[string]string{"ref": "abc"}}),
		Entry("no source at all", hook.Get{Type: "registry-image", TypeImage: base, Version: pinned}),
		Entry("a repository that is a number", hook.Get{Type: "registry-image", TypeImage: base, Source: map[string]any{"repository": float64(7)}, Version: pinned}),
		Entry("a password that is an object", hook.Get{Type: "registry-image", TypeImage: base, Source: src("password", map[string]any{"x": "y"}), Version: pinned}),
		Entry("format that is a number", hook.Get{Type: "registry-image", TypeImage: base, Source: src(), Params: map[string]any{"format": float64(1)}, Version: pinned}),
		Entry("a format that is not one, with skip_download", hook.Get{Type: "registry-image", TypeImage: base, Source: src(),
			Params: map[string]any{"format": "tarball", "skip_download": true}, Version: pinned}),
		Entry("a version of another type", hook.Get{Type: "registry-image", TypeImage: base, Source: src(), Version: map[string]string{"ref": "abc"}}),
		Entry("a bad digest under the policy that skips only on request", hook.Get{Type: "registry-image", TypeImage: base, Source: src(),
			Version: map[string]string{"digest": "latest"}}, hook.WithPolicy(hook.SkipOnRequest)),
		Entry("a custom type whose image get is empty", hook.Get{Type: "x", TypeImage: hook.TypeImage{GetPlan: &hook.Get{}}}),
		Entry("a custom type whose image has a bad digest", hook.Get{Type: "x", TypeImage: hook.TypeImage{GetPlan: &hook.Get{
			Type: "registry-image", TypeImage: base, Source: src(), Version: map[string]string{"digest": "nope"}}}}),
		Entry("a type given as an image that is not a reference", hook.Get{Type: "x", TypeImage: hook.TypeImage{ImageRef: "Not A Ref!!"}}),
	)

	DescribeTable("odd but valid values of a get it would skip: no error, and no part of a credential in the reason",
		func(source map[string]any) {
			d, err := mustNew(hook.WithLabeler(nil)).Decide(context.Background(), hook.Get{Type: "registry-image", TypeImage: base, Source: source, Version: pinned})
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Skip).To(BeTrue(), d.Reason)
			Expect(d.Reason).NotTo(ContainSubstring("s3cr"))
			Expect(d.Reason).NotTo(ContainSubstring("((et))"))
		},
		Entry("a tag_regex with doubled parentheses, which Concourse does not interpolate", src("tag_regex", "^((dev|prod))-[0-9]+$")),
		Entry("a content_trust passphrase with ((", src("content_trust", map[string]any{"server": "https://notary.example.test",
			"repository_key_id": "k", "repository_key": "s3cr((et))key", "repository_passphrase": "s3cr((et))x"})),
		Entry("a password under a key spelt Password (encoding/json ignores case)", src("username", "robot", "Password", "s3cr((et))x")),
		Entry("put's signing key and password with ((, which a get ignores", src("sign", map[string]any{
			"private_key": "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\ns3cr((et))\n", "password": "s3cr((et))x"})),
		Entry("a mirror password spelt PASSWORD", map[string]any{"repository": "team/app",
			"registry_mirror": map[string]any{"host": "mirror.example.test", "username": "robot", "PASSWORD": "s3cr((et))x"}}),
	)

	It("prints no credential when a runtime logs the Decision with fmt", func() {
		d, err := mustNew(hook.WithLabeler(nil)).Decide(context.Background(), hook.Get{Type: "registry-image", TypeImage: base,
			Source:  src("username", "robot", "password", "hunter2-secret", "registry_mirror", map[string]any{"host": "m.example.test", "password": "mirror-secret"}),
			Version: pinned})
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Source.Password).To(Equal("hunter2-secret"))
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			printed := fmt.Sprintf(verb, d) + fmt.Sprintf(verb, &d)
			Expect(printed).To(ContainSubstring("Skip:true"), verb)
			Expect(printed).NotTo(ContainSubstring("secret"), verb)
		}
	})
})
