# predictd container image: the binary, the shared libraries it loads and
# an unprivileged user, on `scratch` (about 19 MB; no shell, no package
# manager). scripts/image-rootfs.sh lays the files out.
#
# Build (Docker):   docker build -t predictd .
# Build (no engine, as root, no registry):  scripts/build-image.sh
#                   (builds the binary here and the stage below with buildah)
#
# Run: mount one model file read-only at /models/model.pkl
#   docker run --rm -p 8080:8080 \
#       -v "$PWD/models/iris_rf.pkl:/models/model.pkl:ro" predictd
# which runs `predictd --model /models/model.pkl --host 0.0.0.0 --port 8080`,
# set through predictd's environment variables below (flags would win over
# them). Arguments are passed to predictd, e.g.
#   docker run --rm predictd --version
#   docker run --rm -v "$PWD/m:/models:ro" predictd --model-dir /models
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
 && ./build/predictd --version \
 && scripts/image-rootfs.sh build/predictd /rootfs

# ---------------------------------------------------------------- runtime --
# (scripts/build-image.sh builds this stage alone, from a rootfs/ it lays
# out with the same script; keep the stage self-contained.)
FROM scratch

COPY --from=builder /rootfs /

LABEL org.opencontainers.image.title="predictd" \
      org.opencontainers.image.description="Serves pickled scikit-learn models over HTTP without executing pickle code"

# A fixed numeric id, so orchestrators can verify "runs as non-root"
# (runAsNonRoot) without reading /etc/passwd.
USER 10001:10001
ENV PREDICTD_MODEL=/models/model.pkl \
    PREDICTD_HOST=0.0.0.0 \
    PREDICTD_PORT=8080
EXPOSE 8080

# No shell in the image: predictd itself is the health check client. A bare
# path goes to 127.0.0.1 on $PREDICTD_PORT; it answers within 4 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/predictd", "probe", "/v2/health/live"]

ENTRYPOINT ["/usr/local/bin/predictd"]
