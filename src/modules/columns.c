/* columns.c - Studio's column selector: resolving "all", name lists and rules
 * against a table.
 *
 * A rule object starts from "all" or from the columns matching "types", then
 * adds "include" and removes "exclude". Types fall in two groups: data types
 * (numeric, boolean, string, categorical) and kinds (label, feature: a column
 * that is neither the label nor a score). Types within a group are alternatives;
 * when both groups are given a column must match one of each, so
 * ["numeric", "feature"] is "numeric features" as in Studio's rule builder.
 *
 * Also here: the helpers that find fitted column names in a new table.
 * Thread safety: reentrant; nothing is global.
 */
#include "modules/columns.h"
#include "base/mem.h"
#include "modules/transform_impl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
    SEL_NUMERIC = 1u << 0,
    SEL_BOOLEAN = 1u << 1,
    SEL_STRING = 1u << 2,
    SEL_CATEGORICAL = 1u << 3,
    SEL_DATA = SEL_NUMERIC | SEL_BOOLEAN | SEL_STRING | SEL_CATEGORICAL,
    SEL_LABEL = 1u << 4,
    SEL_FEATURE = 1u << 5,
    SEL_KIND = SEL_LABEL | SEL_FEATURE,
};

static const char *const type_names[] = {"numeric", "boolean", "string", "categorical",
                                         "label",   "feature", NULL};
static const char *const object_keys[] = {"all", "types", "include", "exclude", NULL};

static int is_all(const json_t *sel)
{
    return json_is_string(sel) && strcasecmp(json_string_value(sel), "all") == 0;
}

/* Problems of a list of names (the array itself, or a rule's include/exclude). */
static void check_names(const json_t *arr, const char *what, const char *key, rl_problems *p)
{
    size_t i;
    const json_t *v;
    if (!json_is_array(arr)) {
        rl_problems_add(p, RL_EINVAL, "%s: \"%s\" must be a list of column names, like [\"age\"]",
                        what, key);
        return;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0) {
            rl_problems_add(p, RL_EINVAL,
                            "%s: item %zu of \"%s\" must be a non-empty column name (a string)",
                            what, i + 1, key);
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            const json_t *w = json_array_get(arr, k);
            if (json_is_string(w) && strcmp(json_string_value(w), json_string_value(v)) == 0) {
                rl_problems_add(p, RL_EINVAL, "%s: column '%s' is listed twice in \"%s\"", what,
                                json_string_value(v), key);
                break;
            }
        }
    }
}

void rl_columns_check_into(const json_t *sel, const char *what, rl_problems *p)
{
    if (is_all(sel)) return;
    if (json_is_string(sel)) {
        rl_problems_add(p, RL_EINVAL,
                        "%s: \"%s\" is not a selector; write \"all\", a list of names like "
                        "[\"%s\"], or a rule like {\"types\": [\"numeric\"]}",
                        what, json_string_value(sel), json_string_value(sel));
        return;
    }
    if (json_is_array(sel)) {
        if (json_array_size(sel) == 0)
            rl_problems_add(p, RL_EINVAL,
                            "%s: the list of columns is empty; name at least one column", what);
        check_names(sel, what, "columns", p);
        return;
    }
    if (!json_is_object(sel)) {
        rl_problems_add(p, RL_EINVAL,
                        "%s: a selector is \"all\", a list of names or an object with \"all\", "
                        "\"types\", \"include\", \"exclude\"",
                        what);
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)sel, key, v)
    {
        int known = 0;
        for (size_t i = 0; object_keys[i]; i++)
            known |= strcmp(key, object_keys[i]) == 0;
        if (!known)
            rl_problems_add(p, RL_EINVAL,
                            "%s: unknown key \"%s\"; a rule has \"all\", \"types\", \"include\", "
                            "\"exclude\"",
                            what, key);
    }
    const json_t *all = json_object_get(sel, "all");
    const json_t *types = json_object_get(sel, "types");
    const json_t *inc = json_object_get(sel, "include");
    const json_t *exc = json_object_get(sel, "exclude");
    if (all && !json_is_boolean(all))
        rl_problems_add(p, RL_EINVAL, "%s: \"all\" must be true or false", what);
    if (types) {
        size_t i;
        if (!json_is_array(types) || json_array_size(types) == 0) {
            rl_problems_add(p, RL_EINVAL,
                            "%s: \"types\" must be a non-empty list of numeric, boolean, string, "
                            "categorical, label, feature",
                            what);
        } else {
            json_array_foreach(types, i, v)
            {
                int ok = 0;
                if (json_is_string(v))
                    for (size_t k = 0; type_names[k]; k++)
                        ok |= strcasecmp(json_string_value(v), type_names[k]) == 0;
                if (!ok)
                    rl_problems_add(
                        p, RL_EINVAL,
                        "%s: type %s%s%s in \"types\" is unknown; use numeric, boolean, "
                        "string, categorical, label or feature",
                        what, json_is_string(v) ? "'" : "#",
                        json_is_string(v) ? json_string_value(v) : "",
                        json_is_string(v) ? "'" : "");
            }
        }
    }
    if (inc) check_names(inc, what, "include", p);
    if (exc) check_names(exc, what, "exclude", p);
    if (!json_is_true(all) && !types && !(json_is_array(inc) && json_array_size(inc) > 0))
        rl_problems_add(p, RL_EINVAL,
                        "%s: the rule selects nothing; add \"all\": true, \"types\" or \"include\"",
                        what);
}

int rl_columns_check(const json_t *sel, rl_error *err)
{
    rl_problems p;
    rl_problems_init(&p);
    rl_columns_check_into(sel, "column selector", &p);
    return rl_problems_finish(&p, err);
}

void rl_columns_describe(const rl_table *t, char *out, size_t size)
{
    size_t len = 0, n = rl_table_ncols(t);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = rl_table_col(t, i)->name;
        size_t need = strlen(name) + (i ? 2 : 0);
        if (len + need + 5 >= size) {
            if (len + 5 < size) memcpy(out + len, ", ...", 6);
            return;
        }
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "", name);
    }
    if (n == 0) snprintf(out, size, "(none)");
}

static unsigned parse_types(const json_t *types)
{
    unsigned mask = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(types, i, v)
    {
        for (size_t k = 0; type_names[k]; k++)
            if (strcasecmp(json_string_value(v), type_names[k]) == 0) mask |= 1u << k;
    }
    return mask;
}

static int type_matches(const rl_column *c, unsigned mask)
{
    int data = !(mask & SEL_DATA) || ((mask & SEL_NUMERIC) && c->type == RL_TYPE_NUMERIC) ||
               ((mask & SEL_BOOLEAN) && c->type == RL_TYPE_BOOLEAN) ||
               ((mask & SEL_STRING) && c->type == RL_TYPE_STRING) ||
               ((mask & SEL_CATEGORICAL) && (c->flags & RL_COL_CATEGORICAL));
    int kind = !(mask & SEL_KIND) || ((mask & SEL_LABEL) && (c->flags & RL_COL_LABEL)) ||
               ((mask & SEL_FEATURE) && !(c->flags & (RL_COL_LABEL | RL_COL_SCORE)));
    return data && kind;
}

/* Adds a line for a name that is not in t, with a hint when only case differs. */
static void missing_name(const rl_table *t, const char *name, rl_problems *p)
{
    for (size_t i = 0; i < rl_table_ncols(t); i++) {
        const char *have = rl_table_col(t, i)->name;
        if (strcasecmp(have, name) == 0) {
            rl_problems_add(p, RL_ESCHEMA,
                            "column '%s' is not in the dataset (did you mean '%s'? names are "
                            "case-sensitive)",
                            name, have);
            return;
        }
    }
    rl_problems_add(p, RL_ESCHEMA, "column '%s' is not in the dataset", name);
}

/* Marks (value 1) or unmarks (0) the listed names; order[] gets the marked
 * indices in list order when not NULL. */
static void mark_names(const json_t *arr, const rl_table *t, unsigned char *mask,
                       unsigned char value, size_t *order, size_t *norder, rl_problems *p)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        long k = rl_table_find(t, json_string_value(v));
        if (k < 0) {
            missing_name(t, json_string_value(v), p);
            continue;
        }
        if (order && !mask[k]) order[(*norder)++] = (size_t)k;
        mask[k] = value;
    }
}

static int select_impl(const json_t *sel, const rl_table *t, int keep_order, size_t **idx,
                       size_t *n, rl_error *err)
{
    rl_problems p;
    rl_problems_init(&p);
    rl_columns_check_into(sel, "column selector", &p);
    if (p.n) return rl_problems_finish(&p, err);

    size_t ncols = rl_table_ncols(t), count = 0;
    unsigned char *mask = rl_calloc(ncols ? ncols : 1, 1);
    size_t *out = rl_malloc((ncols ? ncols : 1) * sizeof *out);
    int rc = RL_OK;
    if (!mask || !out) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory selecting columns");
        goto done;
    }
    if (is_all(sel)) {
        memset(mask, 1, ncols);
    } else if (json_is_array(sel)) {
        mark_names(sel, t, mask, 1, keep_order ? out : NULL, &count, &p);
    } else {
        const json_t *types = json_object_get(sel, "types");
        unsigned tmask = types ? parse_types(types) : 0;
        int all = json_is_true(json_object_get(sel, "all"));
        for (size_t i = 0; i < ncols; i++)
            if (all || (types && type_matches(rl_table_col(t, i), tmask))) mask[i] = 1;
        const json_t *inc = json_object_get(sel, "include");
        const json_t *exc = json_object_get(sel, "exclude");
        if (inc) mark_names(inc, t, mask, 1, NULL, NULL, &p);
        if (exc) mark_names(exc, t, mask, 0, NULL, NULL, &p);
    }
    if (p.n) {
        char cols[400];
        rl_columns_describe(t, cols, sizeof cols);
        rl_problems_add(&p, RL_ESCHEMA, "the dataset's columns are: %s", cols);
        rc = rl_problems_finish(&p, err);
        goto done;
    }
    if (!(keep_order && json_is_array(sel))) {
        count = 0;
        for (size_t i = 0; i < ncols; i++)
            if (mask[i]) out[count++] = i;
    }
    *idx = out;
    *n = count;
    out = NULL;
done:
    rl_free(mask);
    rl_free(out);
    return rc;
}

int rl_columns_select(const json_t *sel, const rl_table *t, size_t **idx, size_t *n, rl_error *err)
{
    return select_impl(sel, t, 0, idx, n, err);
}

int rl_columns_select_ordered(const json_t *sel, const rl_table *t, size_t **idx, size_t *n,
                              rl_error *err)
{
    return select_impl(sel, t, 1, idx, n, err);
}

int rl_columns_find_fitted(const char *module, char *const *names, size_t n, const char *skippable,
                           const rl_table *t, long *idx, rl_error *err)
{
    rl_problems p;
    rl_problems_init(&p);
    for (size_t i = 0; i < n; i++) {
        idx[i] = rl_table_find(t, names[i]);
        if (idx[i] >= 0 || (skippable && strcmp(names[i], skippable) == 0)) continue;
        rl_problems_add(&p, RL_ESCHEMA,
                        "%s: column '%s' is not in the dataset, but the module was fitted "
                        "with it; add the column (same name) or retrain without it",
                        module, names[i]);
    }
    if (p.n) {
        char cols[400];
        rl_columns_describe(t, cols, sizeof cols);
        rl_problems_add(&p, RL_ESCHEMA, "the dataset's columns are: %s", cols);
    }
    return rl_problems_finish(&p, err);
}
