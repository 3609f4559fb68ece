#!/bin/sh
# ThreadSanitizer over relearn: the unit tests and the end-to-end tests of the
# daemon against the TSan tree (build/tsan: -O1 -g -fsanitize=thread).
#
#   scripts/tsan.sh [--quick]      (make tsan-test)
#
# Without --quick: every unit test and every end-to-end test file. With
# --quick (what scripts/test.sh runs): every unit test, and the end-to-end
# tests of the daemon's concurrent parts: RRS and the management API
# (test_daemon_api), BES (test_daemon_bes), endpoints, Update Resource and
# definitions (test_endpoints), restarts (test_daemon_restart) and the
# one-minute mixed-load soak (test_soak).
#
# A report fails the run: a unit test exits 66 (TSan's exit code), and the
# e2e fixtures read "ThreadSanitizer" in relearnd's log (RELEARN_SANITIZED=1).
# OMP_NUM_THREADS=1: Debian's libgomp is not TSan-instrumented, so XGBoost's
# OpenMP regions give false reports; scripts/tsan.supp says why this rather
# than suppressions, and holds any third-party race that must be suppressed.
set -u
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
export OMP_NUM_THREADS=1
export TSAN_OPTIONS="suppressions=$PWD/scripts/tsan.supp:halt_on_error=0:exitcode=66:second_deadlock_stack=1:history_size=4"
fail=0

make -j"$(nproc 2>/dev/null || echo 2)" MODE=tsan all || exit 1
echo "== unit tests: ThreadSanitizer"
scripts/unit.sh build/tsan || fail=$((fail + 1))
echo "== end-to-end tests: ThreadSanitizer"
if [ "$quick" = 1 ]; then
    set -- tests/e2e/test_daemon_api.py tests/e2e/test_daemon_bes.py \
        tests/e2e/test_endpoints.py tests/e2e/test_daemon_restart.py tests/e2e/test_soak.py
else
    set -- tests/e2e
fi
RELEARN_BUILD=build/tsan RELEARN_SANITIZED=1 /usr/bin/python3 -m pytest -q "$@" \
    || fail=$((fail + 1))
echo "tsan: $((2 - fail)) passed, $fail failed"
[ "$fail" = 0 ]
