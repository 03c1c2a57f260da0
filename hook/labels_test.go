package hook_test

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("CachedLabeler", func() {
	digest := func(hex string) name.Digest {
		d, err := name.NewDigest("registry.example.test/types/t@sha256:" + strings.Repeat(hex, 64))
		Expect(err).NotTo(HaveOccurred())
		return d
	}

	It("lets other digests through while one lookup hangs, and lets its waiters give up", func() {
		hung, release := digest("a"), make(chan struct{})
		started := make(chan struct{})
		inner := hook.LabelerFunc(func(ctx context.Context, _ resource.Source, image name.Digest) (map[string]string, error) {
			if image == hung {
				close(started)
				<-release
			}
			return map[string]string{"image": image.DigestStr()}, nil
		})
		labeler := hook.CachedLabeler(inner, 16)
		go func() { _, _ = labeler.Labels(context.Background(), resource.Source{}, hung) }()
		<-started

		other, err := labeler.Labels(context.Background(), resource.Source{}, digest("b"))
		Expect(err).NotTo(HaveOccurred())
		Expect(other).To(HaveKeyWithValue("image", digest("b").DigestStr()))

		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = labeler.Labels(cancelled, resource.Source{}, hung)
		Expect(err).To(MatchError(context.Canceled))

		close(release)
		Eventually(func() (map[string]string, error) {
			return labeler.Labels(context.Background(), resource.Source{}, hung)
		}).Should(HaveKeyWithValue("image", hung.DigestStr()))
	})

	It("finishes a shared lookup for the others when the caller that started it gives up", func() {
		release, started := make(chan struct{}), make(chan struct{})
		inner := hook.LabelerFunc(func(ctx context.Context, _ resource.Source, image name.Digest) (map[string]string, error) {
			close(started)
			<-release
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return map[string]string{"image": image.DigestStr()}, nil
		})
		labeler := hook.CachedLabeler(inner, 16)
		first, cancel := context.WithCancel(context.Background())
		firstErr := make(chan error, 1)
		go func() {
			_, err := labeler.Labels(first, resource.Source{}, digest("c"))
			firstErr <- err
		}()
		<-started
		second := make(chan map[string]string, 1)
		go func() {
			got, _ := labeler.Labels(context.Background(), resource.Source{}, digest("c"))
			second <- got
		}()
		cancel()
		Expect(<-firstErr).To(MatchError(context.Canceled))
		close(release)
		Expect(<-second).To(HaveKeyWithValue("image", digest("c").DigestStr()))
	})
})
