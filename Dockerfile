# syntax=docker/dockerfile:1
#
# Tokenward BFF: one static Go binary on distroless (no shell, no package manager, uid 65532).
#
#   docker build -t tokenward/bff .
#   docker build --build-arg VERSION=v1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) -t tokenward/bff:v1.2.0 .
#   docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:9090:9090 --env-file bff.env tokenward/bff
#   docker run --rm tokenward/bff version
#
# Configuration comes from BFF_* environment variables and/or `serve --config FILE`
# (docs/configuration.md); the binary writes nothing to disk, so a read-only root file
# system is fine. The public listener is :8080, the admin listener (/healthz, /readyz,
# /metrics) :9090.
#
# No HEALTHCHECK: a Docker HEALTHCHECK runs a command inside the container, and this image
# has no shell, curl or wget to run one (nor does bff have a probe subcommand). Kubernetes
# probes /healthz and /readyz on the admin port from outside (charts/bff); compose.yaml
# gates the BFF's dependencies on their health instead (docs/deploy/compose.md).
#
# The build context is an allowlist (.dockerignore): the Go sources and the files they
# embed, never .env, .git, charts or docs.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
# What `bff version` prints: .git is not in the build context, so the build has no VCS
# information; a release passes its tag and commit (docs/release.md). Empty, the binary
# says "(devel)" and "commit unknown".
ARG VERSION=""
ARG COMMIT=""
WORKDIR /src
# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static (no cgo, so no libc needed), reproducible paths (-trimpath), no symbol table or
# DWARF (-s -w), stamped with VERSION and COMMIT (-X).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/bff ./cmd/bff

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bff /usr/local/bin/bff
# Numeric, so Kubernetes can verify runAsNonRoot (a user name cannot be checked).
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/bff"]
CMD ["serve"]
