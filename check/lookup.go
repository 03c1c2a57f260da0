package check

import (
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/resource"
)

// lookup resolves tags to digests against one repository.
type lookup struct {
	client      *resource.Client
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
		return nil, resource.Explain(fmt.Sprintf("list tags of %s", l.client.Repository), l.client.Repository, err)
	}
	return tags, nil
}

// digests looks up every tag and returns the results in the order of tags,
// so concurrency never shows in the output.
func (l *lookup) digests(tags []string) ([]tagDigest, error) {
	results := make([]tagDigest, len(tags))
	err := forEach(l.concurrency, len(tags), func(i int) error {
		ref := l.client.Repository.Tag(tags[i])
		digest, found, err := l.client.Digest(ref)
		if err != nil {
			return resource.Explain(fmt.Sprintf("look up %s", ref), l.client.Repository, err)
		}
		results[i] = tagDigest{tag: tags[i], digest: digest.String(), found: found}
		return nil
	})
	return results, err
}

// forEach calls fn for 0..count-1 with at most n calls in flight. After the
// first error it starts no new call, waits for those in flight and returns
// that error.
func forEach(n, count int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, max(n, 1))
	for i := range count {
		sem <- struct{}{}
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}
