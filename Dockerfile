# syntax=docker/dockerfile:1
#
# essensys-backend and essensys-mcp in one image (compose/docker-compose.yml runs both, each with
# its own command). Multi-arch, for the Raspberry Pi and a PC:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t essensys-gateway .
#
# Each platform is compiled natively in its own builder stage: on an amd64 machine the arm64
# stage runs under QEMU emulation (binfmt; slow, budget tens of minutes for a release build,
# but no cross toolchain to maintain). On the Pi itself `docker compose ... up --build` builds
# only arm64, natively.

ARG RUST_VERSION=1.95.0
ARG DEBIAN_SUITE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_SUITE} AS builder
# paho-mqtt builds its bundled Paho C library with cmake (no OpenSSL: the `bundled` feature only)
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace (.dockerignore leaves out target/, .git, node_modules, secrets): cargo
# needs every member's manifest even to build two packages.
COPY . .
ARG TARGETPLATFORM
# Cache mounts keep the registry and the build directory between builds (per platform, so that
# amd64 and arm64 builds never share a target directory); the binaries are copied out of it.
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=cargo-target-${TARGETPLATFORM},target=/src/target,sharing=locked \
    cargo build --release --locked -p essensys-backend -p essensys-mcp-server \
 && mkdir -p /out \
 && cp target/release/essensys-backend target/release/essensys-mcp /out/

FROM debian:${DEBIAN_SUITE}-slim
# ca-certificates for rediss:// and mqtts:// brokers; curl for the compose health checks
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 essensys \
 && useradd --system --uid 10001 --gid essensys --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin essensys
COPY --from=builder /out/essensys-backend /out/essensys-mcp /usr/local/bin/
USER essensys:essensys
# Without compose: listen on every interface of the container, on unprivileged ports (the
# backend's own default is port 80, which this non-root user cannot bind). The compose stack
# (host network) sets 127.0.0.1:7070 and 127.0.0.1:8083 instead.
ENV ESSENSYS_LISTEN=0.0.0.0:7070 \
    ESSENSYS_MCP_LISTEN=0.0.0.0:8083
EXPOSE 7070 8083
CMD ["essensys-backend"]
