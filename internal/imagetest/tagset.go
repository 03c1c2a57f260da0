package imagetest

import (
	"fmt"
	"hash/fnv"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DistinctImage is a small image unique to name: one gzip layer holding the
// file "imagetest/name" with name as content. The same name always gives
// the same digest, different names different digests.
func DistinctImage(name string) v1.Image {
	l, err := Layer(Gzip, File("imagetest/name", name))
	if err != nil {
		// An in-memory file layer cannot fail to build; if it does, the
		// package is broken and every test should stop.
		panic(fmt.Sprintf("build distinct image %q: %v", name, err))
	}
	return MustImage(Spec{Layers: []v1.Layer{l}, Labels: map[string]string{"imagetest.name": name}})
}

// TagSet maps tags to image keys: tags sharing a key point at the same
// image, as aliases like "1.2" and "1.2.3" do in real repositories.
type TagSet map[string]string

// TagImages resolves each key to DistinctImage(key), sorted by tag, ready
// for PushTags. Each key's image is built once.
func (s TagSet) TagImages() []TagImage {
	tags := make([]string, 0, len(s))
	for tag := range s {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	images := map[string]v1.Image{}
	out := make([]TagImage, 0, len(tags))
	for _, tag := range tags {
		key := s[tag]
		if images[key] == nil {
			images[key] = DistinctImage(key)
		}
		out = append(out, TagImage{Tag: tag, Image: images[key]})
	}
	return out
}

// SemverTags returns the first n tags of SemverTagSet's release history, in
// the order they were first pushed.
func SemverTags(n int) []string {
	tags, _ := semverHistory(n)
	return tags
}

// SemverTagSet is a realistic repository of n tags, as check has to sort
// through: releases ("1.2.3"), variants ("1.2.3-alpine"), moving aliases
// ("1.2", "1", "1.2-alpine", "latest") that point at the newest matching
// release, prereleases ("1.3.0-rc.1", "2.0.0-beta.1") and tags that are
// not semver at all ("sha-1a2b3c4d"). Each release and each non-alias tag
// has its own image key.
func SemverTagSet(n int) TagSet {
	_, set := semverHistory(n)
	return set
}

// semverHistory walks releases 1.0.0, 1.0.1, … in order, recording every
// tag pushed, until n distinct tags exist. Aliases keep their first
// position but point at the last release they were moved to.
func semverHistory(n int) ([]string, TagSet) {
	tags := make([]string, 0, n)
	set := make(TagSet, n)
	// push records tag → key and reports whether tag is in the set. Once n
	// tags exist, new tags are dropped but existing ones still move, so that
	// aliases stay consistent with the releases that made it in.
	push := func(tag, key string) bool {
		if _, ok := set[tag]; !ok {
			if len(tags) >= n {
				return false
			}
			tags = append(tags, tag)
		}
		set[tag] = key
		return true
	}

	for major := 1; len(tags) < n; major++ {
		for minor := 0; minor < 6 && len(tags) < n; minor++ {
			if minor == 0 {
				push(fmt.Sprintf("%d.0.0-beta.1", major), fmt.Sprintf("%d.0.0-beta.1", major))
			}
			for rc := 1; rc <= 2; rc++ {
				pre := fmt.Sprintf("%d.%d.0-rc.%d", major, minor, rc)
				push(pre, pre)
			}
			for patch := 0; patch < 4 && len(tags) < n; patch++ {
				release := fmt.Sprintf("%d.%d.%d", major, minor, patch)
				if !push(release, release) {
					break
				}
				push(fmt.Sprintf("%d.%d", major, minor), release)
				push(fmt.Sprintf("%d", major), release)
				push("latest", release)
				if variant := release + "-alpine"; push(variant, variant) {
					push(fmt.Sprintf("%d.%d-alpine", major, minor), variant)
				}
			}
			noise := fmt.Sprintf("sha-%08x", fnvHash(fmt.Sprintf("%d.%d", major, minor)))
			push(noise, noise)
		}
	}
	return tags, set
}

func fnvHash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s)) // hash writes never fail
	return h.Sum32()
}
