package check

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/refimage/refimage/registry"
)

// lookup resolves tags to digests against one repository.
type lookup struct {
	client      *registry.Client
	concurrency int
}

// tagDigest is one tag's lookup result; found is false for a tag that
// vanished between the listing and the lookup.
type tagDigest struct {
	tag    string
	digest string
	found  bool
}

func (l *lookup) listTags() ([]string, error) {
	tags, err := remote.List(l.client.Repository, l.client.Remote...)
	if err != nil {
		return nil, registry.Explain(fmt.Sprintf("list tags of %s", l.client.Repository), l.client.Repository, err)
	}
	return tags, nil
}

// digests looks up every tag and returns the results in the order of tags,
// so concurrency never shows in the output.
func (l *lookup) digests(ctx context.Context, tags []string) ([]tagDigest, error) {
	results := make([]tagDigest, len(tags))
	err := forEach(ctx, l.concurrency, len(tags), func(i int) error {
		ref := l.client.Repository.Tag(tags[i])
		digest, found, err := l.client.Digest(ref)
		if err != nil {
			return registry.Explain(fmt.Sprintf("look up %s", ref), l.client.Repository, err)
		}
		results[i] = tagDigest{tag: tags[i], digest: digest.String(), found: found}
		return nil
	})
	return results, err
}

// forEach calls fn for 0..count-1 with at most n calls in flight. After the
// first error, or once ctx is done, it starts no new call; it waits for
// those in flight and returns the first error (ctx's, when that came first).
func forEach(ctx context.Context, n, count int, fn func(i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(n, 1))
	for i := range count {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(i)
		})
	}
	return g.Wait()
}
