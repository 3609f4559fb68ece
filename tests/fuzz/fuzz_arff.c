/* fuzz_arff.c - libFuzzer harness for the ARFF reader and writer.
 *
 * Whatever reads must write back and read again to the same table (names,
 * types, flags, values, and for nominal columns the declared levels in
 * order): a difference or an error aborts, as does any sanitizer report.
 * scripts/fuzz.sh builds and runs it (`make fuzz FUZZ_ONLY=arff`) on a copy
 * of the seeds in tests/fuzz/corpus/arff; replay one input with
 * `build/fuzz/fuzz_arff FILE`.
 */
#include "base/buf.h"
#include "data/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_text(const rl_levels *a, int32_t i, const rl_levels *b, int32_t k)
{
    return rl_levels_len(a, i) == rl_levels_len(b, k) &&
           memcmp(rl_levels_get(a, i), rl_levels_get(b, k), rl_levels_len(a, i)) == 0;
}

static void same_or_abort(const rl_table *a, const rl_table *b)
{
    int same = rl_table_ncols(a) == rl_table_ncols(b) && rl_table_nrows(a) == rl_table_nrows(b);
    for (size_t j = 0; same && j < rl_table_ncols(a); j++) {
        const rl_column *x = rl_table_col(a, j), *y = rl_table_col(b, j);
        same = strcmp(x->name, y->name) == 0 && x->type == y->type && x->flags == y->flags;
        if (same && x->type == RL_TYPE_STRING) {
            same = rl_levels_count(x->levels) == rl_levels_count(y->levels);
            for (size_t k = 0; same && k < rl_levels_count(x->levels); k++)
                same = same_text(x->levels, (int32_t)k, y->levels, (int32_t)k);
        }
        for (size_t i = 0; same && i < x->nrows; i++) {
            if (x->type == RL_TYPE_STRING)
                same = x->codes[i] == y->codes[i];
            else
                same = isnan(x->num[i]) ? isnan(y->num[i]) : x->num[i] == y->num[i];
        }
    }
    if (!same) {
        fprintf(stderr, "round trip changed the table\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rl_read_opts o = {.format = RL_FMT_ARFF, .source = "fuzz"};
    rl_table *t = NULL, *u = NULL;
    rl_error err;
    if (rl_table_read_mem((const char *)data, size, &o, &t, &err) != RL_OK) return 0;
    rl_buf b = RL_BUF_INIT;
    if (rl_table_write_buf(&b, RL_FMT_ARFF, t, "fuzz", &err) != RL_OK) {
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
    return 0;
}
