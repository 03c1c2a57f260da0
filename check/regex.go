package check

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// checkRegex returns every tag matching source.tag_regex, in the registry's
// order, or oldest image first with created_at_sort (ties keep the
// registry's order).
func checkRegex(ctx context.Context, l *lookup, src resource.Source) (resource.CheckResponse, error) {
	re, err := regexp.Compile(src.TagRegex)
	if err != nil {
		return nil, fmt.Errorf("compile tag_regex: %w", err)
	}
	tags, err := l.listTags()
	if err != nil {
		return nil, err
	}
	var matching []string
	for _, tag := range tags {
		if re.MatchString(tag) {
			matching = append(matching, tag)
		}
	}
	found, err := l.digests(ctx, matching)
	if err != nil {
		return nil, err
	}
	var versions resource.CheckResponse
	for _, r := range found {
		if r.found {
			versions = append(versions, resource.Version{Tag: r.tag, Digest: r.digest})
		}
	}
	if !src.CreatedAtSort {
		return versions, nil
	}
	created, err := l.creationTimes(ctx, versions)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(versions))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return created[order[a]].Before(created[order[b]]) })
	sorted := make(resource.CheckResponse, len(versions))
	for i, j := range order {
		sorted[i] = versions[j]
	}
	return sorted, nil
}

// creationTimes reads each version's image config, in order.
func (l *lookup) creationTimes(ctx context.Context, versions resource.CheckResponse) ([]time.Time, error) {
	times := make([]time.Time, len(versions))
	err := forEach(ctx, l.concurrency, len(versions), func(i int) error {
		ref := l.client.Repository.Digest(versions[i].Digest)
		img, err := remote.Image(ref, l.client.Remote...)
		if err != nil {
			return registry.Explain(fmt.Sprintf("read the image of %s", ref), l.client.Repository, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return registry.Explain(fmt.Sprintf("read the config of %s", ref), l.client.Repository, err)
		}
		times[i] = cfg.Created.Time
		return nil
	})
	return times, err
}
