// Package kube turns a hook.Resolution into the Kubernetes objects a
// runtime puts in a task's pod: the container image and pull policy for a
// task that uses the get as its image, a kubernetes.io/dockerconfigjson
// Secret for the registry the reference is pulled from, and a ConfigMap
// with the volume and mount that give a task the get's files (repository,
// tag, digest, and with fetch_metadata labels.json and metadata.json) as an
// input with no artifact volume. ForTask builds all of them in one call;
// UseAsImage and UseAsInput also apply them and put them in a pod.
//
// It uses k8s.io/api's core/v1 types and links no client: ApplySecret,
// ApplyConfigMap and Collector take small interfaces that client-go's typed
// clients satisfy as they are, so a runtime passes its own.
package kube
