#!/bin/sh
# Every test of relearn: builds the optimised tree (gcc), the ASan+UBSan tree
# and a clang tree, then runs the unit tests in the first two and the
# end-to-end tests against both, then short ThreadSanitizer and valgrind runs
# (scripts/tsan.sh --quick, scripts/valgrind.sh --quick) and every libFuzzer
# harness for FUZZ_SECONDS (default 10) each, two at a time (scripts/fuzz.sh;
# the seeds, the findings replayed, then new inputs). `make test` runs this;
# so does CI.
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh --check-or-install || exit 1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
jobs=$(nproc 2>/dev/null || echo 2)

fail=0
step() { echo; echo "== $*"; }

step "build: gcc optimised"
make -j"$jobs" MODE=release all || exit 1
step "build: gcc ASan+UBSan"
make -j"$jobs" MODE=asan all || exit 1
step "build: clang (warnings as errors)"
make -j"$jobs" MODE=clang CC=clang all || exit 1

step "unit tests: optimised"
scripts/unit.sh build/release || fail=$((fail + 1))
step "unit tests: ASan+UBSan"
scripts/unit.sh build/asan || fail=$((fail + 1))

step "end-to-end tests: optimised"
RELEARN_BUILD=build/release /usr/bin/python3 -m pytest -q tests/e2e || fail=$((fail + 1))
step "end-to-end tests: ASan+UBSan"
RELEARN_BUILD=build/asan RELEARN_SANITIZED=1 /usr/bin/python3 -m pytest -q tests/e2e \
    || fail=$((fail + 1))

# The short versions of `make tsan-test` and `make valgrind` (each builds what
# it needs): unit tests and the daemon's e2e tests under ThreadSanitizer, unit
# tests (less the two slowest), the CLI and a relearnd session under valgrind.
step "ThreadSanitizer (short)"
scripts/tsan.sh --quick || fail=$((fail + 1))
step "valgrind memcheck (short)"
scripts/valgrind.sh --quick || fail=$((fail + 1))
step "fuzzing (short: ${FUZZ_SECONDS:-10} s a harness)"
FUZZ_JOBS=2 scripts/fuzz.sh "${FUZZ_SECONDS:-10}" || fail=$((fail + 1))

echo
if [ "$fail" = 0 ]; then
    echo "relearn: all test suites passed"
else
    echo "relearn: $fail test suite(s) failed"
fi
[ "$fail" = 0 ]
