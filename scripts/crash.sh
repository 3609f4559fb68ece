#!/bin/sh
# The long crash test: SIGKILLs relearnd KILLS times (default 200) at random
# moments while clients write to it, restarting it after each kill, and checks
# that nothing acknowledged was lost (tests/e2e/crash_harness.py). `make crash`
# runs it; the short version runs in the e2e suite (tests/e2e/test_crash.py).
#
# usage: scripts/crash.sh [BUILD_DIR] [extra crash_harness.py options]
#   KILLS=N    kills (200)
#   SEED=S     the harness's random seed (random; printed in the summary)
#   KEEP=1     keep the work directory (data, relearnd's log) after a clean run
# The binaries and library are copied first, so a rebuild of BUILD_DIR during
# the run does not change what is tested. Exit status 0 when no violation.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ $# -gt 0 ] && shift
for f in relearn relearnd librelearn.a; do
    [ -f "$build/$f" ] || { echo "crash.sh: $build/$f is missing: build it first" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/relearn-crash.XXXXXX")
mkdir "$work/build"
cp "$build/relearn" "$build/relearnd" "$build/librelearn.a" "$work/build/"
case "$build" in
*asan*)
    export RELEARN_SANITIZED=1
    export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    ;;
esac
export RELEARN_BUILD="$work/build"
set -- --kills "${KILLS:-200}" --workdir "$work/run" "$@"
[ -n "${SEED:-}" ] && set -- --seed "$SEED" "$@"
echo "crash.sh: $build copied to $work/build; work directory $work/run"
rc=0
/usr/bin/python3 tests/e2e/crash_harness.py "$@" || rc=$?
if [ "$rc" = 0 ] && [ -z "${KEEP:-}" ]; then
    rm -rf "$work"  # kept when a violation is found (or KEEP=1), for the logs
    echo "crash.sh: no violation; $work removed (KEEP=1 keeps it)"
fi
exit "$rc"
