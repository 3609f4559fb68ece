#!/bin/sh
# Builds and runs relearn's libFuzzer harnesses: scripts/fuzz.sh [SECONDS].
#
# `make fuzz` runs this (`make fuzz FUZZ_SECONDS=600` for longer runs).
# Each tests/fuzz/fuzz_NAME.c is linked with the project's sources compiled by
# clang under -fsanitize=fuzzer-no-link,address,undefined (build/fuzz/obj,
# build/fuzz/librelearn-fuzz.a) into build/fuzz/fuzz_NAME, then run for
# SECONDS (default 60) on build/fuzz/corpus-NAME, a working copy of the seeds
# in tests/fuzz/corpus/NAME: what the fuzzer finds stays there and never goes
# into the repo by itself. tests/fuzz/NAME.dict, when present, is its
# dictionary. Harnesses run one after another, or FUZZ_JOBS at a time (each
# harness is one process on one core).
#
# Environment: FUZZ_SECONDS (when no argument), FUZZ_ONLY=name1,name2 (a
# subset), FUZZ_JOBS (harnesses run at once, default 1), FUZZ_BUILD_ONLY=1
# (build, run nothing), FUZZ_ARGS (extra libFuzzer flags).
# Prints one line per harness (executions, exec/s, coverage, findings) and
# exits non-zero when any harness crashed, leaked or timed out, naming the
# input that did it (build/fuzz/artifacts/NAME/...). Replay one with
# `build/fuzz/fuzz_NAME FILE`.
set -u
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-${FUZZ_SECONDS:-60}}
only=${FUZZ_ONLY:-}
out=build/fuzz

jobs=${FUZZ_JOBS:-1}

case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
case $jobs in
'' | 0 | *[!0-9]*) echo "fuzz.sh: FUZZ_JOBS must be a whole number of at least 1, not '$jobs'" >&2; exit 2 ;;
esac
command -v clang >/dev/null 2>&1 || { echo "fuzz.sh: clang is missing (scripts/deps.sh)" >&2; exit 1; }

names=""
for f in tests/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    n=${n#fuzz_}
    if [ -n "$only" ]; then
        case ",$only," in *",$n,"*) ;; *) continue ;; esac
    fi
    names="$names $n"
done
if [ -n "$only" ]; then
    for n in $(echo "$only" | tr ',' ' '); do
        [ -f "tests/fuzz/fuzz_$n.c" ] || { echo "fuzz.sh: no harness tests/fuzz/fuzz_$n.c" >&2; exit 2; }
    done
fi
[ -n "$names" ] || { echo "fuzz.sh: no harness to run" >&2; exit 2; }

# ---- build: a generated makefile gives incremental, header-aware rebuilds ----
mkdir -p "$out"
cat >"$out/fuzz.mk" <<'EOF'
OUT     := build/fuzz
LAYERS  := base data modules learners model experiment store jobs http cli
BASE    := -std=c11 -D_GNU_SOURCE -Isrc -isystem /usr/include/xgboost -g -O1 \
           -fno-omit-frame-pointer -fno-sanitize-recover=undefined -pthread
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
LIBS    := -lxgboost -llinear -llapacke -llapack -lblas -lmicrohttpd -ljansson -lsqlite3 \
           -lcurl -lssl -lcrypto -lm
SRC     := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
OBJ     := $(SRC:%.c=$(OUT)/obj/%.o)
LIB     := $(OUT)/librelearn-fuzz.a
HARN    := $(patsubst tests/fuzz/fuzz_%.c,$(OUT)/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@clang $(BASE) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
$(LIB): $(OBJ)
	@rm -f $@
	@ar rcs $@ $^
$(OUT)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@clang $(BASE) $(WARN) -fsanitize=fuzzer,address,undefined -MMD -MP -c $< -o $@
$(OUT)/fuzz_%: $(OUT)/obj/tests/fuzz/fuzz_%.o $(LIB)
	@echo "  LD  $@"
	@clang -fsanitize=fuzzer,address,undefined -pthread $^ $(LIBS) -o $@
.SECONDARY:
-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
EOF
targets=""
for n in $names; do targets="$targets $out/fuzz_$n"; done
# shellcheck disable=SC2086
make -s --no-print-directory -j2 -f "$out/fuzz.mk" $targets || { echo "fuzz.sh: build failed" >&2; exit 1; }
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# ---- run ----
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1 # XGBoost: one thread per harness on a shared 2-core machine

table="$out/summary.txt"

# Runs harness $1 and writes its table row to $out/row-$1 and, when it found
# something, the report to $out/found-$1.
run_one() {
    n=$1
    corpus="$out/corpus-$n"
    art="$out/artifacts/$n"
    log="$out/fuzz-$n.log"
    rm -f "$out/row-$n" "$out/found-$n"
    mkdir -p "$corpus" "$art"
    [ -d "tests/fuzz/corpus/$n" ] && cp -n tests/fuzz/corpus/"$n"/* "$corpus"/ 2>/dev/null
    dict=""
    [ -f "tests/fuzz/$n.dict" ] && dict="-dict=tests/fuzz/$n.dict"
    echo "== fuzz_$n: ${seconds}s on $corpus (log $log)"
    # shellcheck disable=SC2086
    "$out/fuzz_$n" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
        -print_final_stats=1 -artifact_prefix="$art/" $dict ${FUZZ_ARGS:-} \
        "$corpus" >"$log" 2>&1
    rc=$?
    # The last status line ("#N DONE cov: C ft: F ... exec/s: E ...") or, when it
    # stopped early, the last one printed.
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -n 1 | awk '{print $2}')
    [ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    eps=$(grep -E '^stat::average_exec_per_sec:' "$log" | tail -n 1 | awk '{print $2}')
    [ -n "$eps" ] || eps=$(echo "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    crashes=0 leaks=0 timeouts=0
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ "$rc" != 0 ]; then
        case $(basename "${artifact:-none}") in
        leak-*) leaks=1 ;;
        timeout-*) timeouts=1 ;;
        *) crashes=1 ;;
        esac
        # Replay the input with full stacks (slow unwinding sees through
        # uninstrumented libraries such as jansson) for the report.
        if [ -n "$artifact" ] && [ -f "$artifact" ]; then
            ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" "$out/fuzz_$n" -timeout=10 \
                -rss_limit_mb=2048 "$artifact" >"$log.replay" 2>&1
        fi
        printf '  fuzz_%s: %s\n    input: %s\n    log:   %s (the input replayed with full stacks: %s)\n' \
            "$n" "$(grep -m 1 -E 'ERROR: |runtime error:|SUMMARY:' "$log" | cut -c 1-160)" \
            "${artifact:-(none written; see $log)}" "$log" "$log.replay" >"$out/found-$n"
    fi
    printf '%-11s %12s %9s %7s %8s %8s %6s %9s\n' "$n" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
        "${ft:-?}" "$crashes" "$leaks" "$timeouts" >"$out/row-$n"
}

# FUZZ_JOBS groups, dealt round-robin, each running its harnesses in turn.
g=0
while [ "$g" -lt "$jobs" ]; do
    (
        i=0
        for n in $names; do
            [ $((i % jobs)) = "$g" ] && run_one "$n"
            i=$((i + 1))
        done
    ) &
    g=$((g + 1))
done
wait

printf '%-11s %12s %9s %7s %8s %8s %6s %9s\n' harness executions "exec/s" cov ft crashes leaks timeouts \
    >"$table"
failed=0
found=""
for n in $names; do
    cat "$out/row-$n" >>"$table"
    if [ -f "$out/found-$n" ]; then
        failed=$((failed + 1))
        found="$found
$(cat "$out/found-$n")"
    fi
done

echo
cat "$table"
if [ "$failed" != 0 ]; then
    echo
    echo "fuzz: $failed harness(es) found a problem:$found"
    exit 1
fi
echo "fuzz: no crash, leak or timeout"
