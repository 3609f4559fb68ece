/* split.c - Split Data: rows into two tables.
 *
 * Randomized: the row indices are shuffled (Fisher-Yates with rl_rng_below,
 * seeded by random-seed) and the first round(fraction * n) go to the first
 * output. Stratified: rows are grouped by the key column's value (missing is a
 * group of its own), groups in order of first appearance, and each group is
 * shuffled and cut the same way with the one generator, so every key value
 * keeps its share. Not randomized: the first rows (of each group when
 * stratified) go to the first output. Each output keeps the input's row order.
 *
 * Thread safety: reentrant.
 */
#include "modules/split.h"
#include "base/mem.h"
#include "base/rng.h"
#include "modules/transform_impl.h"

#include <math.h>
#include <string.h>

#define MODULE "Split Data"

static const char *const keys[] = {"fraction",         "randomized-split",          "random-seed",
                                   "stratified-split", "stratification-key-column", NULL};

typedef struct split_opts {
    double fraction;
    int randomized, stratified;
    uint64_t seed;
    const char *key; /* borrowed from params */
} split_opts;

static void split_parse(const json_t *params, split_opts *o, rl_problems *p)
{
    rl_params_check_keys(params, MODULE, keys, p);
    o->fraction = rl_param_number(params, MODULE, "fraction", 0.5, 0, 1, p);
    o->randomized = rl_param_bool(params, MODULE, "randomized-split", 1, p);
    o->seed = rl_param_u64(params, MODULE, "random-seed", 0, p);
    o->stratified = rl_param_bool(params, MODULE, "stratified-split", 0, p);
    o->key = rl_param_string(params, MODULE, "stratification-key-column", NULL, p);
    if (o->stratified && (!o->key || !o->key[0]))
        rl_problems_add(p, RL_EINVAL,
                        MODULE ": \"stratified-split\" needs \"stratification-key-column\", the "
                               "name of the column whose values keep their shares");
}

int rl_split_check(const json_t *params, rl_error *err)
{
    split_opts o;
    rl_problems p;
    rl_problems_init(&p);
    split_parse(json_is_null(params) ? NULL : params, &o, &p);
    return rl_problems_finish(&p, err);
}

/* The stratum of each row into group[] (numbered in order of first
 * appearance, missing values one stratum), their count into *ngroups. */
static int group_rows(const rl_column *c, size_t *group, size_t *ngroups, rl_error *err)
{
    rl_levels *seen = rl_levels_new();
    size_t *map = NULL;
    char buf[32];
    if (!seen) goto oom;
    for (size_t i = 0; i < c->nrows; i++) {
        if (rl_column_is_missing(c, i)) {
            group[i] = SIZE_MAX;
            continue;
        }
        size_t len;
        const char *s = rl_column_text(c, i, buf, &len);
        int32_t code = rl_levels_intern(seen, s, len);
        if (code < 0) goto oom;
        group[i] = (size_t)code;
    }
    size_t nlev = rl_levels_count(seen), next = 0;
    if (!(map = rl_malloc((nlev + 1) * sizeof *map))) goto oom;
    for (size_t k = 0; k <= nlev; k++)
        map[k] = SIZE_MAX;
    for (size_t i = 0; i < c->nrows; i++) {
        size_t k = group[i] == SIZE_MAX ? nlev : group[i];
        if (map[k] == SIZE_MAX) map[k] = next++;
        group[i] = map[k];
    }
    rl_free(map);
    rl_levels_free(seen);
    *ngroups = next;
    return RL_OK;
oom:
    rl_levels_free(seen);
    return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory grouping rows by '%s'", c->name);
}

int rl_split(const rl_table *in, const json_t *params, rl_table **first, rl_table **second,
             rl_error *err)
{
    split_opts o;
    rl_problems p;
    rl_problems_init(&p);
    if (json_is_null(params)) params = NULL;
    split_parse(params, &o, &p);
    int rc = rl_problems_finish(&p, err);
    if (rc) return rc;

    size_t n = rl_table_nrows(in), ngroups = 1;
    size_t *group = rl_calloc(n ? n : 1, sizeof *group);    /* row -> group */
    size_t *order = rl_malloc((n ? n : 1) * sizeof *order); /* rows grouped */
    size_t *start = NULL;
    unsigned char *to_first = rl_calloc(n ? n : 1, 1);
    size_t *rows = rl_malloc((n ? n : 1) * sizeof *rows);
    rl_table *a = NULL, *b = NULL;
    if (!group || !order || !to_first || !rows) goto oom;
    if (o.stratified) {
        long k = rl_table_find(in, o.key);
        if (k < 0) {
            char cols[400];
            rl_columns_describe(in, cols, sizeof cols);
            rc = rl_error_set(err, RL_ESCHEMA,
                              MODULE ": stratification key column '%s' is not in the dataset; "
                                     "its columns are: %s",
                              o.key, cols);
            goto fail;
        }
        rc = group_rows(rl_table_col(in, (size_t)k), group, &ngroups, err);
        if (rc) goto fail;
    }
    /* Counting sort of the rows by group, stable. */
    if (!(start = rl_calloc(ngroups + 1, sizeof *start))) goto oom;
    for (size_t i = 0; i < n; i++)
        start[group[i] + 1]++;
    for (size_t g = 0; g < ngroups; g++)
        start[g + 1] += start[g];
    for (size_t i = 0; i < n; i++)
        order[start[group[i]]++] = i;
    for (size_t g = ngroups; g > 0; g--)
        start[g] = start[g - 1];
    start[0] = 0;

    rl_rng rng;
    rl_rng_seed(&rng, o.seed);
    for (size_t g = 0; g < ngroups; g++) {
        size_t *seg = order + start[g], m = start[g + 1] - start[g];
        if (o.randomized)
            for (size_t i = m; i > 1; i--) {
                size_t j = (size_t)rl_rng_below(&rng, i);
                size_t t = seg[i - 1];
                seg[i - 1] = seg[j];
                seg[j] = t;
            }
        size_t take = (size_t)round(o.fraction * (double)m);
        for (size_t i = 0; i < take; i++)
            to_first[seg[i]] = 1;
    }
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++)
        if (to_first[i]) rows[na++] = i;
    rc = rl_table_take_rows(in, rows, na, &a, err);
    if (rc) goto fail;
    for (size_t i = 0; i < n; i++)
        if (!to_first[i]) rows[nb++] = i;
    rc = rl_table_take_rows(in, rows, nb, &b, err);
    if (rc) goto fail;
    rl_free(group);
    rl_free(order);
    rl_free(start);
    rl_free(to_first);
    rl_free(rows);
    *first = a;
    *second = b;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory splitting %zu rows", n);
fail:
    rl_free(group);
    rl_free(order);
    rl_free(start);
    rl_free(to_first);
    rl_free(rows);
    rl_table_free(a);
    rl_table_free(b);
    return rc;
}
