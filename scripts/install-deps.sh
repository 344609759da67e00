#!/usr/bin/env bash
# Installs, from Debian's packages, everything predictd needs to build, to run
# its tests (scikit-learn is the oracle) and to run its benchmark.
# Idempotent: packages already present are left alone. Needs root.
set -euo pipefail

BUILD_PKGS=(build-essential meson ninja-build pkg-config
            libmicrohttpd-dev libcjson-dev libjansson-dev libssl-dev zlib1g-dev liblzma-dev libbz2-dev liblz4-dev libgsl-dev
            libsystemd-dev)
TEST_PKGS=(python3 python3-sklearn python3-joblib python3-numpy python3-pytest python3-pytest-timeout python3-pandas python3-imblearn python3-jsonschema python3-lz4 python3-yaml nginx openssl curl valgrind time
           prometheus clang libclang-rt-14-dev systemd qemu-user)
# qemu-user's qemu-x86_64 runs predictd and scikit-learn on an emulated CPU
# without AVX2 (tests/e2e/test_cpu_features.py), the code such CPUs take.
# libclang-rt-14-dev holds clang's sanitizer and libFuzzer runtimes
# (-fsanitize=address,undefined,fuzzer); it is only a Recommends of clang,
# which --no-install-recommends below leaves out.
# The Kubernetes manifests are rendered offline by `kubectl kustomize`:
# Debian's kubectl is the kubernetes-client package, taken only when no
# kubectl is on PATH (another one, such as Google's kubectl package, owns
# the same file).
if ! command -v kubectl >/dev/null 2>&1; then
    TEST_PKGS+=(kubernetes-client)
fi
BENCH_PKGS=(wrk python3-flask gunicorn)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
if [ "${1:-}" = "--bench" ]; then
    want+=("${BENCH_PKGS[@]}")
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
