# predictd container image.
#
# Two stages on Debian bookworm: the builder compiles predictd with meson, the
# runtime stage holds only the binary and the shared libraries it links.
#
# Build (Docker):   docker build -t predictd .
# Build (no engine, as root):  scripts/build-image.sh
#                   (buildah bud --isolation chroot --format docker -t predictd .)
#
# Run: mount one model file read-only at /models/model.pkl
#   docker run --rm -p 8080:8080 \
#       -v "$PWD/models/iris_rf.pkl:/models/model.pkl:ro" predictd
# which runs `predictd --model /models/model.pkl --host 0.0.0.0 --port 8080`,
# set through predictd's environment variables below (flags would win over
# them). Arguments are passed to predictd, e.g.
#   docker run --rm predictd --version
#   docker run --rm ... predictd --threads 4
#   docker run --rm -v "$PWD/m.pkl:/m.pkl:ro" predictd check /m.pkl
# Change the port with -e PREDICTD_PORT=9000 (not --port), so that the
# HEALTHCHECK, which reads the same variable, follows.

# ---------------------------------------------------------------- builder --
FROM debian:bookworm-slim AS builder

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential meson ninja-build pkg-config \
        libmicrohttpd-dev libcjson-dev libjansson-dev libssl-dev zlib1g-dev liblzma-dev libbz2-dev liblz4-dev libgsl-dev libsystemd-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN meson setup build --buildtype=release \
 && meson compile -C build \
 && ./build/predictd --version

# ---------------------------------------------------------------- runtime --
FROM debian:bookworm-slim

# Runtime libraries only: the shared objects build/predictd links against.
# No ca-certificates: predictd makes no outbound TLS connections.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libcjson1 libjansson4 libssl3 zlib1g liblzma5 libbz2-1.0 liblz4-1 libgsl27 libsystemd0 \
 && rm -rf /var/lib/apt/lists/*

# An unprivileged user with a fixed numeric id, so orchestrators can verify
# "runs as non-root" (runAsNonRoot) without reading /etc/passwd.
RUN useradd --uid 10001 --user-group --no-log-init \
        --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \
        predictd \
 && mkdir -p /models

COPY --from=builder /src/build/predictd /usr/local/bin/predictd

LABEL org.opencontainers.image.title="predictd" \
      org.opencontainers.image.description="Serves pickled scikit-learn models over HTTP without executing pickle code"

USER 10001:10001
ENV PREDICTD_MODEL=/models/model.pkl \
    PREDICTD_HOST=0.0.0.0 \
    PREDICTD_PORT=8080
EXPOSE 8080

# predictd has no client mode and the image has no curl, so the check uses
# bash's /dev/tcp (bash is already in the base image; nothing to install,
# where curl would bring 14 more libraries, about 5 MB): send one HTTP/1.0
# GET /healthz to $PREDICTD_PORT and require a "200" status line. `timeout`
# (coreutils) bounds a server that accepts but never answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["timeout", "4", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PREDICTD_PORT:-8080} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && IFS=' ' read -r proto status _ <&3 && [ \"${status%$'\\r'}\" = 200 ]"]

ENTRYPOINT ["/usr/local/bin/predictd"]
