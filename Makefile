GO ?= go

.PHONY: demo test e2e concourse-e2e cosign-e2e k8s-e2e bench tools tools-cosign image base-type

# The main job on an embedded default: an in-process registry, generated
# images, the binaries run as Concourse runs them.
demo:
	$(GO) run ./internal/demo

# Modules nested in this tree that hold test suites only: their heavy
# test-only requirements (client-go's fake clientset) stay out of the root
# go.mod that a runtime importing hook and hook/kube gets.
TEST_MODULES = hook/kube/runtimetest

# Every test that needs only Go (the real registry is built from the Go module proxy).
test: tools
	$(GO) vet ./...
	for m in $(TEST_MODULES); do $(GO) -C $$m vet ./... || exit 1; done
	$(GO) test -count=1 -timeout 20m ./...
	for m in $(TEST_MODULES); do $(GO) -C $$m test -count=1 -timeout 20m ./... || exit 1; done

# The CNCF Distribution registry used by the integration suites, built once.
tools:
	$(GO) build -C tools/distribution -o $(CURDIR)/.cache/bin/registry-v3.1.2 github.com/distribution/distribution/v3/cmd/registry

# The cosign CLI that cross-checks refimage's signatures, built once
# (cold, it takes minutes: it links cloud KMS clients and the Sigstore APIs,
# which is why make test does not need it).
COSIGN_VERSION = v2.6.5
tools-cosign:
	test -x $(CURDIR)/.cache/bin/cosign-$(COSIGN_VERSION) || $(GO) build -C tools/cosign -o $(CURDIR)/.cache/bin/cosign-$(COSIGN_VERSION) github.com/sigstore/cosign/v2/cmd/cosign

# cosign sign/verify against refimage's put/check/in/hook, on the CNCF
# registry with TLS and basic auth (needs only Go).
cosign-e2e: tools tools-cosign
	$(GO) test -count=1 -timeout 30m -tags cosign ./e2e/cosign/...

# containerd pulls and runs the pinned images, as kubelet would (needs root, containerd, runc).
e2e:
	$(GO) test -count=1 -timeout 20m -tags e2e ./e2e/...

# Stock Concourse (Postgres, web, a worker with the containerd runtime) runs
# pipelines with refimage as the worker's registry-image and as a custom type
# (needs root and the Debian packages .ci/run installs; the Concourse binaries
# from REFIMAGE_CONCOURSE_DIR, default ../shared/concourse).
concourse-e2e: base-type tools
	$(GO) test -count=1 -timeout 30m -tags concourse ./e2e/concourse/...

# A real single-node Kubernetes (etcd, kube-apiserver and kubelet built
# from the k8s.io/kubernetes module, a private containerd, the CNI bridge,
# the CNCF registry) runs the hook's skip path and refimage's own image as
# check, get and put pods (needs root and the Debian packages .ci/run
# installs). Its own module: client-go stays out of the root go.mod.
k8s-e2e: image tools
	cd e2e/kubernetes && $(GO) vet -tags kubernetes ./... && $(GO) test -v -count=1 -timeout 60m -tags kubernetes . -ginkgo.v

# Go benchmarks and end-to-end runs of the binaries; figures are printed, never asserted.
# One package at a time (-p 1): packages' benchmarks must not share the cores.
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./...

# The resource image, built with go-containerregistry (no Docker daemon):
# linux/amd64 and linux/arm64 in one index, an OCI layout in .cache/image,
# pushed when REGISTRY=host/repo is given.
image:
	rm -rf $(CURDIR)/.cache/image
	$(GO) run ./ci/imagebuild -layout $(CURDIR)/.cache/image -registry "$(REGISTRY)"

# The bundle that makes refimage a base resource type on classic workers.
BASE_TYPE ?= registry-image
base-type:
	rm -rf $(CURDIR)/.cache/image $(CURDIR)/.cache/base-type
	$(GO) run ./ci/imagebuild -layout $(CURDIR)/.cache/image -base-type $(CURDIR)/.cache/base-type -type $(BASE_TYPE) -registry "$(REGISTRY)"
