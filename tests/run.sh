#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root) or a
# developer's checkout:
#   1. installs what is missing (scripts/install-deps.sh),
#   2. builds with warnings as errors (also the release build),
#   3. runs the C unit tests, natively and under valgrind,
#   4. runs the end-to-end tests (real binary, real HTTP, scikit-learn as
#      the oracle) with Debian's /usr/bin/python3,
#   5. checks the README's support table against the parity results,
#   6. prints per-suite counts and the closing line "N passed, N failed".
# Exit status is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${PREDICTD_BUILD_DIR:-build}
PY=/usr/bin/python3

bash scripts/install-deps.sh || { echo "tests/run.sh: installing dependencies failed"; exit 1; }

if [ ! -d "$BUILD" ]; then
    meson setup "$BUILD" -Dwerror=true >/dev/null || exit 1
else
    meson configure "$BUILD" -Dwerror=true >/dev/null || exit 1
fi
meson compile -C "$BUILD" >/dev/null || { meson compile -C "$BUILD"; echo "tests/run.sh: build failed"; exit 1; }
# The container builds with --buildtype=release, where -O3 brings warnings
# the default build does not show; it must be warning-free too.
REL="$BUILD-release"
[ -d "$REL" ] || meson setup "$REL" --buildtype=release -Dwerror=true >/dev/null || exit 1
meson compile -C "$REL" predictd >/dev/null || { meson compile -C "$REL" predictd; echo "tests/run.sh: release build failed"; exit 1; }

rm -f "$BUILD"/meson-logs/testlog*.junit.xml "$BUILD"/e2e.junit.xml

echo "== unit tests"
meson test -C "$BUILD" --print-errorlogs >/dev/null
echo "== unit tests under valgrind"
meson test -C "$BUILD" --setup valgrind --print-errorlogs >/dev/null
echo "== end-to-end tests"
rm -f "$BUILD/matrix-report.jsonl" "$BUILD/readme.junit.xml"
PREDICTD_BIN="$PWD/$BUILD/predictd" PREDICTD_MATRIX_REPORT="$PWD/$BUILD/matrix-report.jsonl" \
    "$PY" -m pytest -q -p no:cacheprovider \
    --junitxml="$BUILD/e2e.junit.xml" tests/e2e | tail -n 15

echo "== README support table against the matrix results"
"$PY" tests/matrix_table.py "$BUILD/matrix-report.jsonl" --check README.md \
    --junit "$BUILD/readme.junit.xml"

echo "== summary"
"$PY" tests/summarize.py \
    "unit=$BUILD/meson-logs/testlog.junit.xml" \
    "unit (valgrind)=$BUILD/meson-logs/testlog-valgrind.junit.xml" \
    "end-to-end=$BUILD/e2e.junit.xml" \
    "readme table=$BUILD/readme.junit.xml"
