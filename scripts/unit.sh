#!/bin/sh
# Runs the unit-test binaries of one build tree: scripts/unit.sh BUILD [NAME].
# Each binary is a cmocka suite; a failing one fails the run.
set -u
build=$1
only=${2:-}
fail=0
ran=0
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [ -n "$only" ] && [ "$name" != "test_$only" ] && [ "$name" != "$only" ] && continue
    ran=$((ran + 1))
    if ! (cd "$(dirname "$0")/.." && "$t"); then
        echo "FAILED: $t" >&2
        fail=$((fail + 1))
    fi
done
echo "unit ($build): $((ran - fail)) passed, $fail failed"
[ "$fail" = 0 ]
