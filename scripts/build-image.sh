#!/usr/bin/env bash
# Builds the predictd container image with buildah, from no registry at
# all: the image is `scratch` plus what scripts/image-rootfs.sh lays out
# (the binary, the shared libraries ldd names, a passwd entry for uid
# 10001), with the metadata of ./Dockerfile's runtime stage (USER, ENV,
# EXPOSE, HEALTHCHECK, ENTRYPOINT), which is built as it is written except
# that its COPY --from=builder takes the rootfs made here.
#
# The binary is built on this machine (release build in $WORKDIR/build);
# its libraries come from this machine too, so the image runs on any
# kernel but carries this system's libraries (Debian 12 here).
#
# Usage (as root):  scripts/build-image.sh
# Environment:      IMAGE (default localhost/predictd:latest),
#                   WORKDIR (scratch space, default /var/tmp/predictd-image),
#                   PREDICTD_BINARY (use this binary instead of building one)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-localhost/predictd:latest}
WORKDIR=${WORKDIR:-/var/tmp/predictd-image}

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (buildah's chroot isolation needs it)"
command -v buildah >/dev/null || die "no buildah (apt-get install buildah)"

mkdir -p "$WORKDIR"
bin=${PREDICTD_BINARY:-}
if [ -z "$bin" ]; then
    log "meson release build in $WORKDIR/build"
    if [ ! -f "$WORKDIR/build/build.ninja" ]; then
        meson setup "$WORKDIR/build" "$REPO" --buildtype=release >/dev/null
    fi
    meson compile -C "$WORKDIR/build" predictd >/dev/null
    bin=$WORKDIR/build/predictd
fi

ctx=$WORKDIR/context
rm -rf "$ctx"
mkdir -p "$ctx"
"$REPO/scripts/image-rootfs.sh" "$bin" "$ctx/rootfs"

# The Dockerfile's last stage, its rootfs from the context.
awk '/^FROM scratch/ { on = 1 } on' "$REPO/Dockerfile" \
    | sed 's|^COPY --from=builder /rootfs /$|COPY rootfs /|' >"$ctx/Containerfile"
grep -q '^COPY rootfs /$' "$ctx/Containerfile" \
    || die "the Dockerfile's runtime stage has no 'COPY --from=builder /rootfs /'"

# --format docker: the OCI format has no HEALTHCHECK; buildah would drop it.
log "buildah bud --isolation chroot --format docker -t $IMAGE ($ctx)"
buildah bud --isolation chroot --format docker --pull=false --quiet \
    -t "$IMAGE" -f "$ctx/Containerfile" "$ctx" >/dev/null

ctr=$(buildah from --pull=false "$IMAGE")
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah run --isolation chroot "$ctr" -- /usr/local/bin/predictd --version
log "built $IMAGE"
buildah images "$IMAGE"
