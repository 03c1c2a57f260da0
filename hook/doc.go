// Package hook lets a Concourse runtime answer a get step of an image
// resource with no pod and no process: it decides whether the step may skip
// its pod (and says why, in words), and resolves the version to exactly what
// in would have written in reference mode — the same files, version and
// metadata, computed by the same function (registry.ResolveReference) — plus
// the pinned, fully qualified reference a pod pulls. A Go runtime calls
// DecidePlan with its get plan as it is (and what it resolved: the
// evaluated source, the chosen version, the type image's version), Resolve
// for a get that skips its pod, and ResolveFetched for one that ran it.
//
// It holds no Kubernetes types (those are in hook/kube) and does no file
// I/O. It touches the network only to prove a digest once (cached per
// digest), to resolve a version that has no digest (one HEAD), and to read
// a custom type's image labels (once per image digest), and for
// fetch_metadata a manifest and config (once per digest).
package hook
