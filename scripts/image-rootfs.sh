#!/usr/bin/env bash
# Lays out the root file system of predictd's minimal image: the binary,
# the shared libraries ldd says it loads (and the dynamic loader), an
# /etc/passwd and /etc/group naming the unprivileged user 10001, and an
# empty /models. Nothing else: no shell, no package manager, no CA
# certificates (predictd makes no outbound TLS connections) and no tzdata
# (its logs carry no local times).
#
# Usage: scripts/image-rootfs.sh BINARY ROOTFS
# Used by the Dockerfile's builder stage and by scripts/build-image.sh.
set -euo pipefail

bin=$1
root=$2
[ -x "$bin" ] || { echo "image-rootfs: $bin is not an executable" >&2; exit 1; }
rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/models"

# The binary without its symbols (a debug build carries megabytes of them).
strip --strip-unneeded -o "$root/usr/local/bin/predictd" "$bin"

# Each library at the path the loader finds it on this system; the loader
# searches /lib/x86_64-linux-gnu (or the arch's) by default, so no
# ld.so.cache is needed. "=> not found" stops the build.
ldd "$bin" | awk '
    / => not found/ { print "image-rootfs: missing library " $1 > "/dev/stderr"; bad = 1 }
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }
    END { exit bad }' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

printf 'predictd:x:10001:10001:predictd:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
printf 'predictd:x:10001:\n' >"$root/etc/group"
chmod 0755 "$root/models"
