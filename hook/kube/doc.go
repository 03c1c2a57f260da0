// Package kube turns a hook.Resolution into the Kubernetes objects a
// runtime puts in a task's pod: the container image and pull policy for a
// task that uses the get as its image, a kubernetes.io/dockerconfigjson
// Secret for the registry the reference is pulled from, and a ConfigMap
// with the volume and mount that give a task the get's files (repository,
// tag, digest) as an input with no artifact volume.
//
// It uses k8s.io/api's core/v1 types only, never a client: creating the
// objects is the runtime's business.
package kube
