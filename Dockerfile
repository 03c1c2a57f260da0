# The resource image, for those who build with Docker (BuildKit):
#
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(git describe --tags --always) .
#
# `make image` (ci/imagebuild) builds the same file tree without a daemon,
# reproducibly; ci/resourceimage/dockerfile_test.go fails when the two differ
# in binaries, paths, build flags, environment or labels.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# go.ship.mod is the shipped dependency set (the newest releases, `make
# bump`); go.mod is the older set a runtime importing the hook reads.
COPY go.mod go.sum go.ship.mod go.ship.sum ./
RUN go mod download -modfile=go.ship.mod
COPY . .
# Cross-compiled on the build machine's platform: Go needs no emulator.
RUN CGO_ENABLED=0 GOAMD64=v1 GOARM64=v8.0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOFLAGS= \
    go build -modfile=go.ship.mod -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/refimage/refimage/internal/cli.Version=${VERSION}" \
      -o /out/ ./cmd/check ./cmd/in ./cmd/out ./cmd/refimage
# Directories, users and the CA bundle of go.ship.mod's x509roots/fallback,
# written by the same code as `make image` writes them.
RUN go run -modfile=go.ship.mod ./ci/imagebuild -static-files /rootfs

FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build /out/check /opt/resource/check
COPY --from=build /out/in /opt/resource/in
COPY --from=build /out/out /opt/resource/out
COPY --from=build /out/refimage /usr/local/bin/refimage
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.github.refimage.produces=registry-image
