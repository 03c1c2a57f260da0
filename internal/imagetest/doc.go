// Package imagetest generates container images in Go for refimage's tests and
// benchmarks, so that no suite downloads anything and every image is
// reproducible.
//
// It provides:
//   - layers built from a declarative list of tar entries ([Entry], [Layer]),
//     in gzip, zstd or uncompressed form, plus raw tar bytes for crafted
//     malicious layers ([RawTarLayer]) and layers whose media type lies about
//     their compression ([Relabel]);
//   - images and multi-arch indexes ([Image], [Index], [MultiArch]) whose
//     digests depend only on their [Spec];
//   - a large, realistic image generated from a seed without holding its
//     layers in memory ([Large]);
//   - push helpers for test registries ([Push], [PushIndex], [PushTags]) and
//     semver tag sets for check tests and benchmarks ([SemverTags],
//     [SemverTagSet], [DistinctImage]).
//
// Everything is deterministic: the same inputs give the same bytes, so tests
// can compare digests across runs and machines.
package imagetest
