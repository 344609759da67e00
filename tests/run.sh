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
#   7. runs the compute pool's unit test under ThreadSanitizer ($BUILD-tsan),
#   8. runs each libFuzzer harness (tests/fuzz/) for a bounded time from its
#      seed corpus, in a clang build ($BUILD-fuzz),
#   9. prints per-suite counts and the closing line "N passed, N failed".
# Exit status is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${PREDICTD_BUILD_DIR:-build}
PY=/usr/bin/python3

# Every stage has a time limit, so that a hang (a test that never returns,
# a thread that keeps the interpreter alive) costs that stage, not the whole
# run: the summary is always printed, and each stage stopped early counts as
# a failure there (its name is kept in $STOPPED). The stages together stay
# within PREDICTD_CI_BUDGET seconds (default 80 minutes, CI allows 90); each
# single end-to-end test also has a limit (pytest-timeout), which names the
# test that hung. The limits are several times what a quiet 2-core machine
# needs.
TEST_TIMEOUT=${PREDICTD_TEST_TIMEOUT:-300}
BUDGET=${PREDICTD_CI_BUDGET:-4800}
PYTEST=("$PY" -m pytest -q -p no:cacheprovider --timeout="$TEST_TIMEOUT" --durations=15)
STOPPED="$BUILD/stopped-stages.txt"
limited() {
    local secs=$1 label=$2; shift 2
    local left=$((BUDGET - SECONDS))
    [ "$secs" -gt "$left" ] && secs=$left
    if [ "$secs" -le 0 ]; then
        echo "tests/run.sh: no time left for $label ($BUDGET s budget)"
        echo "$label: not run, the $BUDGET s budget was spent" >>"$STOPPED"
        return 124
    fi
    timeout --kill-after=30 "$secs" "$@"
    local rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "tests/run.sh: $label stopped after $secs s"
        echo "$label: stopped after $secs s" >>"$STOPPED"
    fi
    return "$rc"
}

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

rm -f "$BUILD"/meson-logs/testlog*.junit.xml "$BUILD"/e2e.junit.xml "$STOPPED"

echo "== unit tests"
limited 600 unit meson test -C "$BUILD" --print-errorlogs >/dev/null
echo "== unit tests under valgrind"
limited 1200 "unit (valgrind)" meson test -C "$BUILD" --setup valgrind --print-errorlogs >/dev/null
echo "== end-to-end tests"
rm -f "$BUILD/matrix-report.jsonl" "$BUILD/readme.junit.xml"
limited 1500 end-to-end env PREDICTD_BIN="$PWD/$BUILD/predictd" \
    PREDICTD_MATRIX_REPORT="$PWD/$BUILD/matrix-report.jsonl" "${PYTEST[@]}" --junitxml="$BUILD/e2e.junit.xml" tests/e2e | tail -n 40

echo "== README support table against the matrix results"
"$PY" tests/matrix_table.py "$BUILD/matrix-report.jsonl" --check README.md \
    --junit "$BUILD/readme.junit.xml"

# The sanitizers stop at their first report (halt_on_error) and write it to
# a file too (log_path): a report from a server an end-to-end test started
# is otherwise only in its stderr, which the test may not read. ASan
# reserves terabytes of address space, so the address-space limit some
# tests put on `predictd check` is lifted here. The whole end-to-end suite
# runs under the sanitizers (PREDICTD_SAN_E2E=short runs only the files that
# feed predictd hostile, truncated and boundary input and exercise reloads
# and every protocol, for a quicker local run).
echo "== unit and end-to-end tests under ASan+UBSan"
SAN="$BUILD-asan"
SANLOG="$PWD/$SAN/sanitizer-logs"
# (The limit's variable goes to pytest alone, which takes it out of the
# servers' environment: predictd refuses PREDICTD_* names it does not know.)
SAN_ENV=(ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$SANLOG/asan"
         UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SANLOG/ubsan")
[ -d "$SAN" ] || meson setup "$SAN" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dwerror=true >/dev/null || exit 1
meson compile -C "$SAN" >/dev/null || { meson compile -C "$SAN"; echo "tests/run.sh: sanitizer build failed"; exit 1; }
rm -rf "$SANLOG" && mkdir -p "$SANLOG"
rm -f "$SAN"/meson-logs/testlog.junit.xml "$BUILD/e2e-asan.junit.xml" "$BUILD/sanitizers.junit.xml"
limited 600 "unit (asan+ubsan)" env "${SAN_ENV[@]}" meson test -C "$SAN" --print-errorlogs >/dev/null
if [ "${PREDICTD_SAN_E2E:-all}" = all ]; then
    SAN_E2E=(tests/e2e)
else
    SAN_E2E=(tests/e2e/test_hostile.py tests/e2e/test_regressions.py
             tests/e2e/test_regressions_issue13.py tests/e2e/test_strings_hostile.py
             tests/e2e/test_protocols.py tests/e2e/test_http.py tests/e2e/test_reload.py
             tests/e2e/test_limits.py tests/e2e/test_versions.py)
fi
limited 2100 "end-to-end (asan+ubsan)" env "${SAN_ENV[@]}" PREDICTD_TEST_AS_LIMIT_MB=0 \
    PREDICTD_BIN="$PWD/$SAN/predictd" "${PYTEST[@]}" --junitxml="$BUILD/e2e-asan.junit.xml" "${SAN_E2E[@]}" | tail -n 30
"$PY" tests/sanitizer_reports.py "$SANLOG" --junit "$BUILD/sanitizers.junit.xml"

# The compute pool's threads (server/pool.c: workers, the small-job
# thread, shared batches, the watchdog) under ThreadSanitizer: any data
# race it sees fails the test.
echo "== compute pool under ThreadSanitizer"
TSAN="$BUILD-tsan"
rm -f "$TSAN"/meson-logs/testlog.junit.xml
[ -d "$TSAN" ] || meson setup "$TSAN" -Db_sanitize=thread -Dwerror=true >/dev/null || exit 1
if meson compile -C "$TSAN" tests/test_pool >/dev/null; then
    limited 300 "pool (tsan)" env TSAN_OPTIONS="halt_on_error=1" \
        meson test -C "$TSAN" --no-rebuild --print-errorlogs test_pool >/dev/null
else
    meson compile -C "$TSAN" tests/test_pool; echo "tests/run.sh: tsan build failed"
fi

# Each harness runs for PREDICTD_FUZZ_SECONDS (default 40) from the
# committed corpus; an input that stops one is saved and named, and goes
# into tests/fuzz/regressions/NAME/ to become a regression test.
echo "== fuzzing (libFuzzer, ASan+UBSan)"
FUZ="$BUILD-fuzz"
rm -f "$BUILD/fuzz.junit.xml"
[ -d "$FUZ" ] || CC=clang meson setup "$FUZ" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dwerror=true >/dev/null || exit 1
if meson compile -C "$FUZ" >/dev/null; then
    limited 900 fuzzing "$PY" tests/fuzz/run.py "$FUZ" --seconds "${PREDICTD_FUZZ_SECONDS:-40}" \
        --junit "$BUILD/fuzz.junit.xml"
else
    meson compile -C "$FUZ"; echo "tests/run.sh: fuzz build failed"
fi

echo "== summary"
"$PY" tests/summarize.py --stopped "$STOPPED" \
    "unit=$BUILD/meson-logs/testlog.junit.xml" \
    "unit (valgrind)=$BUILD/meson-logs/testlog-valgrind.junit.xml" \
    "end-to-end=$BUILD/e2e.junit.xml" \
    "readme table=$BUILD/readme.junit.xml" \
    "unit (asan+ubsan)=$SAN/meson-logs/testlog.junit.xml" \
    "end-to-end (asan+ubsan)=$BUILD/e2e-asan.junit.xml" \
    "sanitizer reports=$BUILD/sanitizers.junit.xml" \
    "pool (tsan)=$TSAN/meson-logs/testlog.junit.xml" \
    "fuzzing=$BUILD/fuzz.junit.xml"
