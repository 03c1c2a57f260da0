// Package in implements the resource's in action: it writes a version of an
// image into a directory, either as its reference alone (repository, tag,
// digest) or as the whole image in one of registry-image's formats (rootfs,
// oci, oci-layout). Which one is decided by resource.ChooseMode.
//
// Layer extraction is confined to the destination: every path is resolved
// with the destination as its root, as a container runtime applies layers,
// and every file operation goes through an os.Root, so that the kernel
// refuses what path resolution might have missed.
package in
