GO ?= go

.PHONY: demo test test-library lint concourse-validate e2e concourse-e2e cosign-e2e k8s-e2e bench tools tools-cosign bin image base-type bump bump-check

# Two dependency sets (README, "Two dependency sets"). go.mod is what a
# runtime importing hook and hook/kube reads: the oldest versions that work,
# at most JetBridge's (internal/depcheck guards it). go.ship.mod is what the
# executables that ship are built and tested with: the newest releases the
# module proxy serves (make bump). $(SHIP) in front of a go command of this
# module selects the shipped set, for that command and every go command its
# tests run (gexec builds of cmd/*). Nested modules (TEST_MODULES,
# tools/distribution) have their own go.mod and never take it.
SHIP = GOFLAGS="-modfile=$(CURDIR)/go.ship.mod $(GO_FLAGS)"
# The caller's GOFLAGS, from the environment or `go env -w`.
GO_FLAGS := $(shell $(GO) env GOFLAGS)

# The root module's packages a runtime links when it imports hook and
# hook/kube: their specs also run on the library set.
LIBRARY_PKGS = $(shell $(GO) list -deps -f '{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}' ./hook ./hook/kube)

# The main job on an embedded default: an in-process registry, generated
# images, the binaries run as Concourse runs them.
demo:
	$(SHIP) $(GO) run ./internal/demo

# Modules nested in this tree that hold test suites only: their heavy
# test-only requirements (client-go's fake clientset) stay out of the root
# go.mod that a runtime importing hook and hook/kube gets.
TEST_MODULES = hook/kube/runtimetest

# Every test that needs only Go (the real registry is built from the Go
# module proxy): everything on the shipped set, then the library's specs
# on the library set. The checks that need stock Concourse's parser from
# ../shared are in make concourse-validate.
test: tools
	$(SHIP) $(GO) vet ./...
	for m in $(TEST_MODULES); do $(GO) -C $$m vet ./... || exit 1; done
	$(SHIP) $(GO) test -count=1 -timeout 20m ./...
	for m in $(TEST_MODULES); do $(GO) -C $$m test -count=1 -timeout 20m ./... || exit 1; done
	$(MAKE) --no-print-directory test-library
	@echo "make test left out the pipelines read by stock Concourse's parser: make concourse-validate runs them (needs ../shared/tools/concourse-validate)"

# The library set (go.mod): the whole module compiles on it, and what a
# runtime links passes its specs on it.
test-library:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m $(LIBRARY_PKGS) ./internal/depcheck

# staticcheck over every package, under every build tag, and the nested
# modules (and go vet under the tags make test leaves out); built once per version tools/staticcheck/go.mod pins (needs only Go).
lint: STATICCHECK = $(CURDIR)/.cache/bin/staticcheck-$(shell $(GO) -C tools/staticcheck list -m -f '{{.Version}}' honnef.co/go/tools)
lint:
	test -x $(STATICCHECK) || $(GO) build -C tools/staticcheck -o $(STATICCHECK) honnef.co/go/tools/cmd/staticcheck
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags "e2e concourse cosign concoursevalidate" ./...
	$(GO) vet -tags "e2e concourse cosign concoursevalidate" ./...
	cd e2e/kubernetes && $(STATICCHECK) -tags kubernetes ./...
	for m in $(TEST_MODULES); do (cd $$m && $(STATICCHECK) ./...) || exit 1; done

# Every pipeline file and README/docs block, and refimage explain, checked
# against stock Concourse's parser: ../shared/tools/concourse-validate beside
# the clone (or beside the main worktree), as in CI. Fails when it is missing.
concourse-validate:
	$(SHIP) $(GO) test -count=1 -tags concoursevalidate ./ci ./cmd/refimage ./internal/readme -ginkgo.label-filter=concourse-validate

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
	$(SHIP) $(GO) test -count=1 -timeout 30m -tags cosign ./e2e/cosign/...

# containerd pulls and runs the pinned images, as kubelet would (needs root, containerd, runc).
e2e:
	$(SHIP) $(GO) test -count=1 -timeout 20m -tags e2e ./e2e/...

# Stock Concourse (Postgres, web, a worker with the containerd runtime) runs
# pipelines with refimage as the worker's registry-image and as a custom type
# (needs root and the Debian packages .ci/run installs; the Concourse binaries
# from REFIMAGE_CONCOURSE_DIR, default ../shared/concourse).
concourse-e2e: base-type tools
	$(SHIP) $(GO) test -count=1 -timeout 30m -tags concourse ./e2e/concourse/...

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
	$(SHIP) $(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./...

# check, in, out and refimage for this machine, built as the image builds
# them (shipped set, flags, version stamp), into BIN.
BIN ?= $(CURDIR)/bin
bin:
	$(SHIP) $(GO) run ./ci/imagebuild -binaries $(abspath $(BIN))

# The resource image, built with go-containerregistry (no Docker daemon):
# linux/amd64 and linux/arm64 in one index, an OCI layout in .cache/image,
# pushed when REGISTRY=host/repo is given.
image:
	rm -rf $(CURDIR)/.cache/image
	$(SHIP) $(GO) run ./ci/imagebuild -layout $(CURDIR)/.cache/image -registry "$(REGISTRY)"

# The bundle that makes refimage a base resource type on classic workers.
BASE_TYPE ?= registry-image
base-type:
	rm -rf $(CURDIR)/.cache/image $(CURDIR)/.cache/base-type
	$(SHIP) $(GO) run ./ci/imagebuild -layout $(CURDIR)/.cache/image -base-type $(CURDIR)/.cache/base-type -type $(BASE_TYPE) -registry "$(REGISTRY)"

# Move go.ship.mod/go.ship.sum to the newest releases the module proxy
# serves (go.mod is left alone); bump-check fails when a bump would move one.
bump:
	$(GO) run ./ci/bump
bump-check:
	$(GO) run ./ci/bump -check
