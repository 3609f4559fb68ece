/* fuzz_csv.c - libFuzzer harness for the CSV and TSV readers and writers.
 *
 * Each input is read as CSV and as TSV. Whatever reads must write back and
 * read again to the same table (names, types, values, level order): a
 * difference or an error aborts, as does any sanitizer report.
 * Build and run (seed corpus in tests/fuzz/corpus/csv):
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_csv.c $(ls src/base/[a-z]*.c src/data/[a-z]*.c) -lm -o build/fuzz_csv
 *   build/fuzz_csv -max_total_time=60 tests/fuzz/corpus/csv
 */
#include "base/buf.h"
#include "data/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const rl_table *a, const rl_table *b)
{
    int same = rl_table_ncols(a) == rl_table_ncols(b) && rl_table_nrows(a) == rl_table_nrows(b);
    for (size_t j = 0; same && j < rl_table_ncols(a); j++) {
        const rl_column *x = rl_table_col(a, j), *y = rl_table_col(b, j);
        same = strcmp(x->name, y->name) == 0 && x->type == y->type;
        if (same && x->type == RL_TYPE_STRING)
            same = rl_levels_count(x->levels) == rl_levels_count(y->levels);
        for (size_t i = 0; same && i < x->nrows; i++) {
            if (x->type == RL_TYPE_STRING) {
                int32_t cx = x->codes[i], cy = y->codes[i];
                same = cx == cy; /* first-seen order: equal tables give equal codes */
                if (same && cx >= 0)
                    same = rl_levels_len(x->levels, cx) == rl_levels_len(y->levels, cy) &&
                           memcmp(rl_levels_get(x->levels, cx), rl_levels_get(y->levels, cy),
                                  rl_levels_len(x->levels, cx)) == 0;
            } else {
                same = isnan(x->num[i]) ? isnan(y->num[i]) : x->num[i] == y->num[i];
            }
        }
    }
    if (!same) {
        fprintf(stderr, "round trip changed the table\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const rl_format fmts[] = {RL_FMT_CSV, RL_FMT_TSV};
    for (int f = 0; f < 2; f++) {
        rl_read_opts o = {.format = fmts[f], .source = "fuzz"};
        rl_table *t = NULL, *u = NULL;
        rl_error err;
        if (rl_table_read_mem((const char *)data, size, &o, &t, &err) != RL_OK) continue;
        rl_buf b = RL_BUF_INIT;
        if (rl_table_write_buf(&b, fmts[f], t, NULL, &err) != RL_OK) {
            fprintf(stderr, "write failed: %s\n", err.msg);
            abort();
        }
        if (rl_table_read_mem(b.data, b.len, &o, &u, &err) != RL_OK) {
            fprintf(stderr, "re-read failed: %s\n", err.msg);
            abort();
        }
        same_or_abort(t, u);
        rl_table_free(u);
        rl_table_free(t);
        rl_buf_fini(&b);
    }
    return 0;
}
