#!/usr/bin/env bash
# Builds the predictd container image from ./Dockerfile without a Docker
# engine, using buildah with chroot isolation (works inside a VM or container
# where no daemon, user namespaces or overlay mounts are available).
#
# The base image debian:bookworm-slim is not pulled from a registry: it is
# made here with debootstrap from the Debian mirror apt already uses, trimmed
# the way the official slim image is (no docs, man pages or locales), and
# committed to local storage as localhost/debian:bookworm-slim. That is done
# once; later runs reuse it (REBUILD_BASE=1 makes it again).
#
# Usage (as root):  scripts/build-image.sh
# Environment:      IMAGE (default predictd), WORKDIR (scratch space,
#                   default /var/tmp/predictd-image), MIRROR, SECURITY_MIRROR,
#                   REBUILD_BASE=1
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-predictd}
BASE=debian:bookworm-slim
SUITE=bookworm
WORKDIR=${WORKDIR:-/var/tmp/predictd-image}
SOURCES=/etc/apt/sources.list.d/debian.sources
# The first URIs line is the main archive; the one ending in -security, if
# any, is the security archive.
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' "$SOURCES" 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(awk '/^URIs:/ && $2 ~ /-security\/?$/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and buildah mount need it)"

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)          # for the smoke test
command -v python3 >/dev/null || need+=(python3)    # for the smoke test
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

ctr=
mnt_ctr=
cleanup() {
    if [ -n "$mnt_ctr" ]; then buildah umount "$mnt_ctr" >/dev/null 2>&1 || true; fi
    if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

make_base() {
    local rootfs=$WORKDIR/rootfs
    rm -rf "$rootfs"
    mkdir -p "$WORKDIR"
    log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORKDIR/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $WORKDIR/debootstrap.log"

    # Same suites as the official image, in deb822 form.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

    # "slim": packages installed from now on skip docs, man pages and
    # translations (copyright files stay).
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
    # Like the official image, apt leaves no package caches or downloaded
    # .debs behind in a layer, and fetches no translations.
    cat >"$rootfs/etc/apt/apt.conf.d/slim" <<'EOF'
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
    # Like the official image, start from the current point release: bring in
    # bookworm-updates and -security (debootstrap installs the release as cut).
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    chroot "$rootfs" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -y -qq upgrade >/dev/null
    chroot "$rootfs" apt-get clean
    # What was installed before the exclusions loses them too.
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
           "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian/*
    # apt keeps no package lists or .debs in an image; the build re-fetches.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
           "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log \
           "$rootfs"/var/log/apt/* "$rootfs"/dev/* "$rootfs"/run/* "$rootfs"/tmp/*
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"

    log "committing $rootfs as localhost/$BASE"
    ctr=$(buildah from scratch)
    mnt_ctr=$ctr
    local mnt
    mnt=$(buildah mount "$ctr")
    # tar keeps ownership, modes and hard links exactly.
    tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
    buildah umount "$ctr" >/dev/null
    mnt_ctr=
    buildah config --os linux --arch "$(dpkg --print-architecture)" \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd bash "$ctr"
    # Named localhost/... so it is never mistaken for the registry's image.
    buildah commit --quiet --rm "$ctr" "localhost/$BASE" >/dev/null
    ctr=
    rm -rf "$rootfs"
}

if [ "${REBUILD_BASE:-0}" = 1 ] || ! buildah inspect --type image "localhost/$BASE" >/dev/null 2>&1; then
    make_base
else
    log "reusing local base image localhost/$BASE"
fi

# --format docker: the OCI image format has no HEALTHCHECK field; buildah
# would drop ours. --layers caches each step, so re-runs after a source
# change skip the apt steps.
log "buildah bud --isolation chroot --format docker --layers --force-rm --pull=false -t $IMAGE $REPO"
buildah bud --isolation chroot --format docker --layers --force-rm --pull=false \
    -t "$IMAGE" -f "$REPO/Dockerfile" "$REPO"

# The image's binary must at least start and report its version, as the
# image's user.
ctr=$(buildah from --pull=false "$IMAGE")
log "smoke test: predictd --version and id inside the image"
buildah run --isolation chroot "$ctr" -- /usr/local/bin/predictd --version
buildah run --isolation chroot "$ctr" -- id

# Then serve the demo model from /models/model.pkl, configured only by the
# image's environment, and run the image's own HEALTHCHECK command against it.
# chroot isolation shares the host's network, so the port moves to a free
# one on loopback (through PREDICTD_PORT, which the health check reads too).
DEMO=$REPO/models/iris_rf.pkl
if [ -f "$DEMO" ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    buildah config --env PREDICTD_PORT="$port" --env PREDICTD_HOST=127.0.0.1 "$ctr"
    mapfile -t health < <(buildah inspect --type image "$IMAGE" | python3 -c '
import json, sys
for arg in json.load(sys.stdin)["Docker"]["config"]["Healthcheck"]["Test"][1:]:
    print(arg)')
    log "smoke test: serving $DEMO as /models/model.pkl on 127.0.0.1:$port"
    buildah run --isolation chroot -v "$DEMO:/models/model.pkl:ro" "$ctr" -- \
        /usr/local/bin/predictd >"$WORKDIR/smoke.log" 2>&1 &
    server=$!
    ok=0
    for _ in $(seq 50); do
        if buildah run --isolation chroot "$ctr" -- "${health[@]}" 2>/dev/null; then
            ok=1
            break
        fi
        sleep 0.2
    done
    answer=$(curl -s --max-time 5 -H 'Content-Type: application/json' \
                  -d '{"features":[5.1,3.5,1.4,0.2]}' "http://127.0.0.1:$port/predict" || true)
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if [ "$ok" != 1 ]; then
        cat "$WORKDIR/smoke.log" >&2
        die "the image's HEALTHCHECK never passed"
    fi
    # (buildah's own lines there only report that the server was killed)
    grep '^predictd' "$WORKDIR/smoke.log" >&2 || true
    log "HEALTHCHECK passed; POST /predict answered: $answer"
    case $answer in *'"prediction"'*) ;; *) die "no prediction from the image" ;; esac
else
    log "no $DEMO (scripts/make_demo_model.py makes it); skipping the serving smoke test"
fi

log "built image localhost/$IMAGE:latest"
buildah images "localhost/$IMAGE"
