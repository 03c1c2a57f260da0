// Package runtimetest holds the simulated runtime suite: a Kubernetes
// Concourse runtime, with client-go's fake clientset standing in for the API
// server, drives a two-job pipeline through hook and hook/kube.
//
// It is a module of its own (replace => ../../..) so that client-go is
// required only here: a runtime that imports hook and hook/kube gets
// refimage's root go.mod, which names no Kubernetes client, and its own
// client-go version stays where it is.
package runtimetest
