#!/usr/bin/env bash
# Creates minimal Debian chroots that hold other scikit-learn versions, to use
# as oracles beside the host's own (bookworm: sklearn 1.2.1, numpy 1.24, py3.11):
#
#   trixie    sklearn 1.4.x, numpy 2.2, Python 3.13
#   sid       sklearn 1.9.x, numpy 2.4, Python 3.14
#   bullseye  sklearn 0.23.2, numpy 1.19, Python 3.9 (files older than 1.0;
#             only on request)
#
#   scripts/make-sklearn-chroots.sh [SUITE...]     (default: trixie sid)
#
# Each chroot is $CHROOT_DIR/SUITE (default /var/tmp/predictd-chroots), made with
# `debootstrap --variant=minbase` from the mirror apt already uses, then given
# python3-sklearn, python3-joblib, python3-pandas (the matrix fits some
# models on DataFrames) and python3-imblearn (imbalanced-learn's Pipeline
# cases), all --no-install-recommends. About 700 MB and a few
# minutes each. Run suites in parallel by starting one per suite.
#
# Idempotent: a chroot in which sklearn and pandas already import is left
# alone; one that lacks a package gets only the apt step; a base system that
# debootstrap finished is reused; an unfinished one is redone.
# Needs root; reads no stdin. Use a chroot afterwards with e.g.
#   chroot /var/tmp/predictd-chroots/sid python3 -c 'import sklearn'
set -euo pipefail

CHROOT_DIR=${CHROOT_DIR:-/var/tmp/predictd-chroots}
SUITES=("$@")
[ "${#SUITES[@]}" -gt 0 ] || SUITES=(trixie sid)

log() { echo "make-sklearn-chroots: $*"; }
die() { echo "make-sklearn-chroots: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
exec </dev/null

for s in "${SUITES[@]}"; do
    case "$s" in
        trixie|sid|bullseye|bookworm|testing|unstable|stable) ;;
        *) die "unknown suite '$s' (expected trixie, sid or bullseye)" ;;
    esac
done

MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || die "no URIs: line in /etc/apt/sources.list.d/debian.sources"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false)
PACKAGES=(python3-sklearn python3-joblib python3-pandas python3-imblearn)

if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    apt-get "${APT_OPTS[@]}" update -qq
    apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends debootstrap
fi

mkdir -p "$CHROOT_DIR"

# Runs a command inside chroot $1 with a clean environment (the host's PYTHON*
# variables must not leak in; OPENBLAS_* are kept, they work around CPU bugs).
in_chroot() {
    local dir=$1; shift
    local envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
    [ -z "${OPENBLAS_CORETYPE:-}" ] || envs+=("OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE")
    [ -z "${OPENBLAS_L2_SIZE:-}" ] || envs+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE")
    chroot "$dir" /usr/bin/env -i "${envs[@]}" "$@"
}

# Prints the chroot's scikit-learn version; fails unless sklearn, joblib,
# pandas and imblearn all import there.
sklearn_version() {
    [ -x "$1/usr/bin/python3" ] || return 1
    in_chroot "$1" python3 -c 'import sklearn, joblib, pandas, imblearn, sys; sys.stdout.write(sklearn.__version__)' 2>/dev/null
}

has_mounts_under() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 {found=1} END {exit !found}' /proc/mounts
}

PROC_MOUNTED=()
cleanup() {
    local m
    for m in "${PROC_MOUNTED[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

make_one() {
    local suite=$1 dir="$CHROOT_DIR/$1" t0 v
    t0=$(date +%s)

    if v=$(sklearn_version "$dir"); then
        log "$suite: skipped, $dir already has scikit-learn $v, pandas and imblearn"
        return 0
    fi

    if [ ! -f "$dir/.predictd-base-done" ]; then
        if [ -e "$dir" ]; then
            has_mounts_under "$dir" && die "$dir is unfinished but has mounts under it; unmount them first"
            log "$suite: removing unfinished $dir"
            rm -rf --one-file-system "$dir"
        fi
        local part="$dir.partial"
        if [ -e "$part" ]; then
            has_mounts_under "$part" && die "$part has mounts under it; unmount them first"
            rm -rf --one-file-system "$part"
        fi
        log "$suite: debootstrap --variant=minbase $suite $part $MIRROR"
        debootstrap --variant=minbase "$suite" "$part" "$MIRROR" > "$CHROOT_DIR/$suite.debootstrap.log" 2>&1 \
            || { tail -n 20 "$CHROOT_DIR/$suite.debootstrap.log" >&2; die "$suite: debootstrap failed (log: $CHROOT_DIR/$suite.debootstrap.log)"; }
        touch "$part/.predictd-base-done"
        mv "$part" "$dir"
        log "$suite: base system done in $(( $(date +%s) - t0 )) s"
    else
        log "$suite: reusing base system in $dir"
    fi

    # apt inside the chroot: sid's Release can be past Valid-Until.
    cat > "$dir/etc/apt/apt.conf.d/99predictd-oracle" <<'EOF'
// written by predictd scripts/make-sklearn-chroots.sh
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
Acquire::Languages "none";
EOF
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true

    if ! mountpoint -q "$dir/proc"; then
        mount -t proc proc "$dir/proc"
        PROC_MOUNTED+=("$dir/proc")
    fi

    log "$suite: apt-get install ${PACKAGES[*]}"
    {
        in_chroot "$dir" apt-get "${APT_OPTS[@]}" update
        in_chroot "$dir" apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${PACKAGES[@]}"
        in_chroot "$dir" apt-get clean
    } > "$CHROOT_DIR/$suite.apt.log" 2>&1 \
        || { tail -n 20 "$CHROOT_DIR/$suite.apt.log" >&2; die "$suite: apt-get failed (log: $CHROOT_DIR/$suite.apt.log)"; }

    if mountpoint -q "$dir/proc"; then umount "$dir/proc"; fi
    PROC_MOUNTED=()

    local versions
    versions=$(in_chroot "$dir" python3 -c 'import sys, sklearn, numpy, joblib, pandas, imblearn; print("python %d.%d.%d, scikit-learn %s, numpy %s, joblib %s, pandas %s, imblearn %s" % (sys.version_info[:3] + (sklearn.__version__, numpy.__version__, joblib.__version__, pandas.__version__, imblearn.__version__)))') \
        || die "$suite: scikit-learn, pandas or imblearn does not import after install"
    log "$suite: done in $(( $(date +%s) - t0 )) s: $dir: $versions ($(du -sh --one-file-system "$dir" | cut -f1))"
}

for s in "${SUITES[@]}"; do
    make_one "$s"
done
