#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root) or a
# developer's checkout:
#   1. installs what is missing (scripts/install-deps.sh),
#   2. builds with warnings as errors (also the release build),
#   3. runs the C unit tests, natively and under valgrind,
#   4. runs the end-to-end tests (real binary, real HTTP, scikit-learn as
#      the oracle) with Debian's /usr/bin/python3,
#   5. checks the README's support table against the parity results,
#   6. runs the unit tests and the end-to-end tests again against an
#      AddressSanitizer + UndefinedBehaviorSanitizer build ($BUILD-asan),
#      where any sanitizer report is a failure,
#   7. runs each libFuzzer harness (tests/fuzz/) for a bounded time from its
#      seed corpus, in a clang build ($BUILD-fuzz),
#   8. prints per-suite counts and the closing line "N passed, N failed".
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

# The sanitizers stop at their first report (halt_on_error) and write it to
# a file too (log_path): a report from a server an end-to-end test started
# is otherwise only in its stderr, which the test may not read. ASan
# reserves terabytes of address space, so the address-space limit some
# tests put on `predictd check` is lifted here. The whole end-to-end suite
# under ASan took 540 s (172 s CPU) on the shared 2-core machine, too long
# for CI: by default this stage runs the files that feed predictd hostile,
# truncated and boundary input and exercise reloads and every protocol
# (PREDICTD_SAN_E2E=all runs them all; the parity matrix is left to the
# native run, its builders are also reached by the loader fuzzing).
echo "== unit and end-to-end tests under ASan+UBSan"
SAN="$BUILD-asan"
SANLOG="$PWD/$SAN/sanitizer-logs"
SAN_ENV=(ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$SANLOG/asan"
         UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SANLOG/ubsan"
         PREDICTD_TEST_AS_LIMIT_MB=0)
[ -d "$SAN" ] || meson setup "$SAN" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dwerror=true >/dev/null || exit 1
meson compile -C "$SAN" >/dev/null || { meson compile -C "$SAN"; echo "tests/run.sh: sanitizer build failed"; exit 1; }
rm -rf "$SANLOG" && mkdir -p "$SANLOG"
rm -f "$SAN"/meson-logs/testlog.junit.xml "$BUILD/e2e-asan.junit.xml" "$BUILD/sanitizers.junit.xml"
env "${SAN_ENV[@]}" meson test -C "$SAN" --print-errorlogs >/dev/null
if [ "${PREDICTD_SAN_E2E:-}" = all ]; then
    SAN_E2E=(tests/e2e)
else
    SAN_E2E=(tests/e2e/test_hostile.py tests/e2e/test_regressions.py
             tests/e2e/test_regressions_issue13.py tests/e2e/test_strings_hostile.py
             tests/e2e/test_protocols.py tests/e2e/test_http.py tests/e2e/test_reload.py
             tests/e2e/test_limits.py tests/e2e/test_versions.py)
fi
env "${SAN_ENV[@]}" PREDICTD_BIN="$PWD/$SAN/predictd" "$PY" -m pytest -q -p no:cacheprovider \
    --junitxml="$BUILD/e2e-asan.junit.xml" "${SAN_E2E[@]}" | tail -n 5
"$PY" tests/sanitizer_reports.py "$SANLOG" --junit "$BUILD/sanitizers.junit.xml"

# Each harness runs for PREDICTD_FUZZ_SECONDS (default 40) from the
# committed corpus; an input that stops one is saved and named, and goes
# into tests/fuzz/regressions/NAME/ to become a regression test.
echo "== fuzzing (libFuzzer, ASan+UBSan)"
FUZ="$BUILD-fuzz"
rm -f "$BUILD/fuzz.junit.xml"
[ -d "$FUZ" ] || CC=clang meson setup "$FUZ" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dwerror=true >/dev/null || exit 1
if meson compile -C "$FUZ" >/dev/null; then
    "$PY" tests/fuzz/run.py "$FUZ" --seconds "${PREDICTD_FUZZ_SECONDS:-40}" \
        --junit "$BUILD/fuzz.junit.xml"
else
    meson compile -C "$FUZ"; echo "tests/run.sh: fuzz build failed"
fi

echo "== summary"
"$PY" tests/summarize.py \
    "unit=$BUILD/meson-logs/testlog.junit.xml" \
    "unit (valgrind)=$BUILD/meson-logs/testlog-valgrind.junit.xml" \
    "end-to-end=$BUILD/e2e.junit.xml" \
    "readme table=$BUILD/readme.junit.xml" \
    "unit (asan+ubsan)=$SAN/meson-logs/testlog.junit.xml" \
    "end-to-end (asan+ubsan)=$BUILD/e2e-asan.junit.xml" \
    "sanitizer reports=$BUILD/sanitizers.junit.xml" \
    "fuzzing=$BUILD/fuzz.junit.xml"
