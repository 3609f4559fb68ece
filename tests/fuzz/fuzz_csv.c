/* fuzz_csv.c - libFuzzer harness for the CSV reader and writer.
 *
 * Each input is read as CSV (as TSV when built with -DRL_FUZZ_TSV: that is
 * fuzz_tsv.c, which includes this file). Whatever reads must write back and
 * read again to the same table (names, types, values, level order): a
 * difference or an error aborts, as does any sanitizer report.
 * scripts/fuzz.sh builds and runs it (`make fuzz FUZZ_ONLY=csv`) on a copy of
 * the seeds in tests/fuzz/corpus/csv; replay one input with
 * `build/fuzz/fuzz_csv FILE`.
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
#ifdef RL_FUZZ_TSV
    const rl_format fmts[] = {RL_FMT_TSV};
#else
    const rl_format fmts[] = {RL_FMT_CSV};
#endif
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
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
