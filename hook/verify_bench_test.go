package hook_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/internal/signtest"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature/sign"
)

// BenchmarkGetVerified is BenchmarkGet with source.verify: a get answered
// by the hook once the digest is verified (the steady state: 0 requests),
// the first sight of a digest (HEAD, signature manifest, payload), and the
// in binary in reference mode, which verifies every time.
func BenchmarkGetVerified(b *testing.B) {
	reg := newBenchRegistry(b)
	kp, err := signtest.NewKeyPair("pw")
	if err != nil {
		b.Fatal(err)
	}
	pinned, err := name.NewDigest(reg.host + "/team/app@" + reg.digest)
	if err != nil {
		b.Fatal(err)
	}
	if err := sign.Attach(pinned, kp.Signer); err != nil {
		b.Fatal(err)
	}
	source := map[string]any{"repository": reg.host + "/team/app", "verify": map[string]any{"public_keys": []string{kp.PublicPEM}}}
	version := resource.Version{Tag: "1.0", Digest: reg.digest}
	step := hook.Get{Type: "registry-image", Source: source, Version: map[string]string{"tag": version.Tag, "digest": version.Digest},
		TypeImage: hook.TypeImage{BaseType: "registry-image"}}
	getOnce := func(h *hook.Hook) { getStep(b, h, step) }
	b.Run("hook-cached-verified-digest", func(b *testing.B) {
		h, _ := hook.New(hook.WithLabeler(nil))
		getOnce(h) // verify once
		reg.reset()
		b.ReportAllocs()
		for b.Loop() {
			getOnce(h)
		}
		reg.report(b)
	})
	b.Run("hook-first-sight-verified", firstSight(reg, getOnce))
	b.Run("pod-in-process-verified", func(b *testing.B) {
		benchInProcess(b, reg, map[string]any{"source": source, "version": version})
	})
}

// getStep is one get answered by the hook: its decision and resolution.
func getStep(b *testing.B, h *hook.Hook, step hook.Get) {
	ctx := context.Background()
	d, err := h.Decide(ctx, step)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := h.Resolve(ctx, d); err != nil {
		b.Fatal(err)
	}
}
