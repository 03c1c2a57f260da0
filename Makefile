GO ?= go

.PHONY: demo test e2e bench tools vet

# The main job on an embedded default: an in-process registry, generated
# images, the binaries run as Concourse runs them.
demo:
	$(GO) run ./internal/demo

# Every test that needs only Go (the real registry is built from the Go module proxy).
test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# The CNCF Distribution registry used by the integration suites, built once.
tools:
	$(GO) build -C tools/distribution -o $(CURDIR)/.cache/bin/registry-v3.1.2 github.com/distribution/distribution/v3/cmd/registry

# containerd pulls and runs the pinned images, as kubelet would (needs root, containerd, runc).
e2e:
	$(GO) test -count=1 -timeout 20m -tags e2e ./e2e/...

# Go benchmarks and end-to-end runs of the binaries; figures are printed, never asserted.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./...
