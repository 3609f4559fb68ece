/* select.c - Select Columns in Dataset: keep some columns, in a fixed order.
 *
 * Fitting resolves the selector to column names (a list of names keeps its
 * order, "all" and rules keep the table's order); applying keeps those names,
 * sharing the columns (nothing is copied). A replayed table that lacks the
 * label column of the fit gets no label column; lacking any other selected
 * column is RL_ESCHEMA.
 *
 * Ownership: the state belongs to its transform. Thread safety: apply() only
 * reads the state.
 */
#include "base/mem.h"
#include "modules/columns.h"
#include "modules/transform_impl.h"

#include <string.h>

#define MODULE "Select Columns in Dataset"

typedef struct select_state {
    char **names;
    size_t n;
    char *label; /* the label column at fit time, or NULL */
} select_state;

static const char *const keys[] = {"columns", NULL};

static void select_free(void *p)
{
    select_state *s = p;
    if (!s) return;
    rl_strings_free(s->names, s->n);
    rl_free(s->label);
    rl_free(s);
}

static void select_check(const json_t *params, rl_problems *p)
{
    rl_params_check_keys(params, MODULE, keys, p);
    rl_param_selector(params, MODULE, "columns", 1, p);
}

static int select_fit(const json_t *params, const rl_table *in, void **out, rl_error *err)
{
    size_t *idx = NULL, n = 0;
    int rc = rl_columns_select_ordered(rl_param_get(params, "columns"), in, &idx, &n, err);
    if (rc) {
        rl_error_wrap(err, MODULE ": param \"columns\"");
        return rc;
    }
    select_state *s = NULL;
    if (n == 0) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": the selector matched no column of the dataset; check the "
                                 "types or names in \"columns\"");
        goto fail;
    }
    s = rl_calloc(1, sizeof *s);
    if (!s || !(s->names = rl_calloc(n, sizeof *s->names))) goto oom;
    s->n = n;
    for (size_t i = 0; i < n; i++)
        if (!(s->names[i] = rl_strdup(rl_table_col(in, idx[i])->name))) goto oom;
    if (rl_strdup_opt(rl_table_label_name(in), &s->label)) goto oom;
    rl_free(idx);
    *out = s;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(idx);
    select_free(s);
    return rc;
}

static int select_apply(const void *state, const rl_table *in, rl_table **out, rl_error *err)
{
    const select_state *s = state;
    long *idx = rl_malloc(s->n * sizeof *idx);
    rl_table *t = NULL;
    int rc;
    if (!idx) goto oom;
    rc = rl_columns_find_fitted(MODULE, s->names, s->n, s->label, in, idx, err);
    if (rc) goto fail;
    if (!(t = rl_table_new(rl_table_nrows(in)))) goto oom;
    for (size_t i = 0; i < s->n; i++) {
        if (idx[i] < 0) continue;
        rc = rl_table_add(t, rl_column_ref(rl_table_col(in, (size_t)idx[i])), err);
        if (rc) goto fail;
    }
    rl_free(idx);
    *out = t;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(idx);
    rl_table_free(t);
    return rc;
}

static json_t *select_save(const void *state)
{
    const select_state *s = state;
    return rl_state_save(rl_json_strings(s->names, s->n), s->label);
}

static int select_load(const json_t *params, const json_t *j, void **out, rl_error *err)
{
    (void)params;
    select_state *s = rl_calloc(1, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    int rc = rl_json_get_strings(json_object_get(j, "columns"), MODULE " state \"columns\"",
                                 &s->names, &s->n, err);
    if (rc) goto fail;
    rc = rl_state_get_label(j, MODULE, &s->label, err);
    if (rc) goto fail;
    *out = s;
    return RL_OK;
fail:
    select_free(s);
    return rc;
}

const rl_transform_kind rl_select_kind = {
    .module = MODULE,
    .check = select_check,
    .fit = select_fit,
    .apply = select_apply,
    .save = select_save,
    .load = select_load,
    .free = select_free,
};
