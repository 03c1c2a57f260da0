package imagetest

import (
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads img (blobs, then manifest) to ref, a tag or digest reference
// such as "127.0.0.1:5000/repo:tag", and returns the manifest digest
// ("sha256:…"). Loopback registries are reached over plain HTTP unless the
// caller's transport speaks TLS (ggcr tries HTTPS first).
func Push(ref string, img v1.Image, opts ...remote.Option) (string, error) {
	return push(ref, img, opts)
}

// PushIndex uploads idx, every image it lists, and their blobs to ref.
func PushIndex(ref string, idx v1.ImageIndex, opts ...remote.Option) (string, error) {
	return push(ref, idx, opts)
}

type taggableWithDigest interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

func push(ref string, t taggableWithDigest, opts []remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parse reference %q: %w", ref, err)
	}
	if err := remote.Push(r, t, opts...); err != nil {
		return "", fmt.Errorf("push %s: %w", r, err)
	}
	digest, err := t.Digest()
	if err != nil {
		return "", fmt.Errorf("compute digest of %s: %w", r, err)
	}
	return digest.String(), nil
}

// TagImage is one tag and the image it should point at.
type TagImage struct {
	Tag   string
	Image v1.Image
}

// PushTags pushes every distinct image of tags once, by digest, to repo
// ("127.0.0.1:5000/repo"), then points each tag at its image with a manifest
// PUT. Work runs concurrently, sharing one pusher so connections and tokens
// are reused; the result does not depend on scheduling: it maps each tag to
// its digest, and the error returned is the first failure in input order.
func PushTags(repo string, tags []TagImage, opts ...remote.Option) (map[string]string, error) {
	repository, err := name.NewRepository(repo)
	if err != nil {
		return nil, fmt.Errorf("parse repository %q: %w", repo, err)
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, fmt.Errorf("create pusher: %w", err)
	}
	opts = append(opts[:len(opts):len(opts)], remote.Reuse(pusher))

	digests := make([]string, len(tags))
	var distinct []int // index in tags of the first use of each digest
	seen := map[string]bool{}
	for i, t := range tags {
		d, err := t.Image.Digest()
		if err != nil {
			return nil, fmt.Errorf("compute digest for tag %q: %w", t.Tag, err)
		}
		digests[i] = d.String()
		if !seen[digests[i]] {
			seen[digests[i]] = true
			distinct = append(distinct, i)
		}
	}

	// Images first, so that no tag PUT refers to a manifest whose blobs are
	// still on the way.
	err = forEach(len(distinct), func(n int) error {
		i := distinct[n]
		_, err := Push(repository.Name()+"@"+digests[i], tags[i].Image, opts...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push tagged images to %s: %w", repository, err)
	}
	err = forEach(len(tags), func(i int) error {
		tag := repository.Tag(tags[i].Tag)
		if err := remote.Tag(tag, tags[i].Image, opts...); err != nil {
			return fmt.Errorf("tag %s: %w", tag, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	result := make(map[string]string, len(tags))
	for i, t := range tags {
		result[t.Tag] = digests[i]
	}
	return result, nil
}

// pushWorkers bounds concurrent requests: pushes are network-bound, so more
// workers than cores help, but not so many that a test registry is flooded.
const pushWorkers = 8

// forEach runs do(0..n-1) on a few workers and returns the error of the
// lowest failing index, so that failures are reported deterministically.
func forEach(n int, do func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, pushWorkers) {
		wg.Go(func() {
			for i := range next {
				errs[i] = do(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
