/* table.c - columns, string dictionaries and tables. */
#include "data/table.h"
#include "base/buf.h"
#include "base/mem.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

/* ---- levels: an open-addressing hash over an array of strings ---- */

struct rl_levels {
    char **str;
    uint32_t *len;
    size_t n, cap;
    int32_t *slots; /* code + 1, 0 = empty */
    size_t nslots;  /* power of two */
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

rl_levels *rl_levels_new(void)
{
    return rl_calloc(1, sizeof(rl_levels));
}

void rl_levels_free(rl_levels *lv)
{
    if (!lv) return;
    for (size_t i = 0; i < lv->n; i++) rl_free(lv->str[i]);
    rl_free(lv->str);
    rl_free(lv->len);
    rl_free(lv->slots);
    rl_free(lv);
}

size_t rl_levels_count(const rl_levels *lv)
{
    return lv->n;
}

const char *rl_levels_get(const rl_levels *lv, int32_t i)
{
    return lv->str[i];
}

size_t rl_levels_len(const rl_levels *lv, int32_t i)
{
    return lv->len[i];
}

int32_t rl_levels_find(const rl_levels *lv, const char *s, size_t n)
{
    if (!lv->nslots) return -1;
    size_t mask = lv->nslots - 1;
    for (size_t h = hash_bytes(s, n) & mask;; h = (h + 1) & mask) {
        int32_t c = lv->slots[h] - 1;
        if (c < 0) return -1;
        if (lv->len[c] == n && memcmp(lv->str[c], s, n) == 0) return c;
    }
}

static int levels_rehash(rl_levels *lv, size_t nslots)
{
    int32_t *slots = rl_calloc(nslots, sizeof *slots);
    if (!slots) return RL_ENOMEM;
    size_t mask = nslots - 1;
    for (size_t c = 0; c < lv->n; c++) {
        size_t h = hash_bytes(lv->str[c], lv->len[c]) & mask;
        while (slots[h]) h = (h + 1) & mask;
        slots[h] = (int32_t)c + 1;
    }
    rl_free(lv->slots);
    lv->slots = slots;
    lv->nslots = nslots;
    return RL_OK;
}

int32_t rl_levels_intern(rl_levels *lv, const char *s, size_t n)
{
    int32_t c = rl_levels_find(lv, s, n);
    if (c >= 0) return c;
    if (lv->n >= INT32_MAX - 1 || n > UINT32_MAX) return RL_ENOMEM;
    if ((lv->n + 1) * 2 > lv->nslots && levels_rehash(lv, lv->nslots ? lv->nslots * 2 : 16))
        return RL_ENOMEM;
    if (lv->n == lv->cap) {
        size_t cap = lv->cap ? lv->cap * 2 : 8;
        char **str = rl_reallocarray(lv->str, cap, sizeof *str);
        if (!str) return RL_ENOMEM;
        lv->str = str;
        uint32_t *len = rl_reallocarray(lv->len, cap, sizeof *len);
        if (!len) return RL_ENOMEM;
        lv->len = len;
        lv->cap = cap;
    }
    char *copy = rl_strndup(s, n);
    if (!copy) return RL_ENOMEM;
    c = (int32_t)lv->n++;
    lv->str[c] = copy;
    lv->len[c] = (uint32_t)n;
    size_t mask = lv->nslots - 1;
    size_t h = hash_bytes(s, n) & mask;
    while (lv->slots[h]) h = (h + 1) & mask;
    lv->slots[h] = c + 1;
    return c;
}

/* ---- columns ---- */

rl_column *rl_column_new(const char *name, rl_type type, size_t nrows)
{
    rl_column *c = rl_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->name = rl_strdup(name);
    c->type = type;
    c->nrows = nrows;
    c->refs = 1;
    if (!c->name) goto fail;
    if (type == RL_TYPE_STRING) {
        c->codes = rl_malloc(nrows * sizeof *c->codes);
        c->levels = rl_levels_new();
        if (!c->codes || !c->levels) goto fail;
        memset(c->codes, 0xff, nrows * sizeof *c->codes); /* -1 */
    } else {
        if (nrows > SIZE_MAX / sizeof(double)) goto fail;
        c->num = rl_malloc(nrows * sizeof *c->num);
        if (!c->num) goto fail;
        for (size_t i = 0; i < nrows; i++) c->num[i] = NAN;
    }
    return c;
fail:
    rl_column_unref(c);
    return NULL;
}

rl_column *rl_column_dup(const rl_column *src, const char *name)
{
    rl_column *c = rl_column_new(name ? name : src->name, src->type, src->nrows);
    if (!c) return NULL;
    c->flags = src->flags;
    if (src->type == RL_TYPE_STRING) {
        for (size_t i = 0; i < rl_levels_count(src->levels); i++) {
            if (rl_levels_intern(c->levels, src->levels->str[i], src->levels->len[i]) < 0) {
                rl_column_unref(c);
                return NULL;
            }
        }
        memcpy(c->codes, src->codes, src->nrows * sizeof *c->codes);
    } else {
        memcpy(c->num, src->num, src->nrows * sizeof *c->num);
    }
    return c;
}

rl_column *rl_column_ref(rl_column *c)
{
    atomic_fetch_add((_Atomic long *)&c->refs, 1);
    return c;
}

void rl_column_unref(rl_column *c)
{
    if (!c) return;
    if (atomic_fetch_sub((_Atomic long *)&c->refs, 1) != 1) return;
    rl_free(c->name);
    rl_free(c->num);
    rl_free(c->codes);
    rl_levels_free(c->levels);
    rl_free(c);
}

int rl_column_is_missing(const rl_column *c, size_t i)
{
    return c->type == RL_TYPE_STRING ? c->codes[i] < 0 : isnan(c->num[i]);
}

const char *rl_column_text(const rl_column *c, size_t i, char *out, size_t *len)
{
    if (c->type == RL_TYPE_STRING) {
        int32_t code = c->codes[i];
        if (code < 0) {
            *len = 0;
            return "";
        }
        *len = c->levels->len[code];
        return c->levels->str[code];
    }
    double v = c->num[i];
    if (isnan(v)) {
        *len = 0;
        return "";
    }
    if (c->type == RL_TYPE_BOOLEAN) {
        *len = v != 0 ? 4 : 5;
        return v != 0 ? "true" : "false";
    }
    *len = rl_format_double(out, v);
    return out;
}

const char *rl_type_name(rl_type t)
{
    switch (t) {
    case RL_TYPE_NUMERIC: return "numeric";
    case RL_TYPE_BOOLEAN: return "boolean";
    case RL_TYPE_STRING: return "string";
    }
    return "unknown";
}

int rl_type_parse(const char *s, rl_type *type, unsigned *flags)
{
    if (!strcasecmp(s, "numeric") || !strcasecmp(s, "double") || !strcasecmp(s, "integer")) {
        *type = RL_TYPE_NUMERIC;
        *flags = 0;
    } else if (!strcasecmp(s, "boolean")) {
        *type = RL_TYPE_BOOLEAN;
        *flags = 0;
    } else if (!strcasecmp(s, "string")) {
        *type = RL_TYPE_STRING;
        *flags = 0;
    } else if (!strcasecmp(s, "categorical")) {
        *type = RL_TYPE_STRING;
        *flags = RL_COL_CATEGORICAL;
    } else {
        return RL_EINVAL;
    }
    return RL_OK;
}

/* ---- tables ---- */

struct rl_table {
    size_t nrows, ncols, cap;
    rl_column **cols;
};

rl_table *rl_table_new(size_t nrows)
{
    rl_table *t = rl_calloc(1, sizeof *t);
    if (t) t->nrows = nrows;
    return t;
}

void rl_table_free(rl_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->ncols; i++) rl_column_unref(t->cols[i]);
    rl_free(t->cols);
    rl_free(t);
}

rl_table *rl_table_dup(const rl_table *src)
{
    rl_table *t = rl_table_new(src->nrows);
    if (!t) return NULL;
    t->cols = rl_calloc(src->ncols ? src->ncols : 1, sizeof *t->cols);
    if (!t->cols) {
        rl_free(t);
        return NULL;
    }
    t->cap = src->ncols ? src->ncols : 1;
    for (size_t i = 0; i < src->ncols; i++) t->cols[i] = rl_column_ref(src->cols[i]);
    t->ncols = src->ncols;
    return t;
}

size_t rl_table_nrows(const rl_table *t)
{
    return t->nrows;
}

size_t rl_table_ncols(const rl_table *t)
{
    return t->ncols;
}

rl_column *rl_table_col(const rl_table *t, size_t i)
{
    return t->cols[i];
}

long rl_table_find(const rl_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i]->name, name) == 0) return (long)i;
    return -1;
}

int rl_table_add(rl_table *t, rl_column *col, rl_error *err)
{
    if (col->nrows != t->nrows) {
        int rc = rl_error_set(err, RL_ESCHEMA, "column '%s' has %zu rows, the table %zu",
                              col->name, col->nrows, t->nrows);
        rl_column_unref(col);
        return rc;
    }
    if (rl_table_find(t, col->name) >= 0) {
        int rc = rl_error_set(err, RL_ESCHEMA,
                              "column name '%s' appears twice; column names must be unique",
                              col->name);
        rl_column_unref(col);
        return rc;
    }
    if (t->ncols == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        rl_column **cols = rl_reallocarray(t->cols, cap, sizeof *cols);
        if (!cols) {
            int rc = rl_error_set(err, RL_ENOMEM, "out of memory adding column '%s'", col->name);
            rl_column_unref(col);
            return rc;
        }
        t->cols = cols;
        t->cap = cap;
    }
    t->cols[t->ncols++] = col;
    return RL_OK;
}

int rl_table_set(rl_table *t, size_t i, rl_column *col, rl_error *err)
{
    if (col->nrows != t->nrows) {
        int rc = rl_error_set(err, RL_ESCHEMA, "column '%s' has %zu rows, the table %zu",
                              col->name, col->nrows, t->nrows);
        rl_column_unref(col);
        return rc;
    }
    long other = rl_table_find(t, col->name);
    if (other >= 0 && (size_t)other != i) {
        int rc = rl_error_set(err, RL_ESCHEMA, "column name '%s' exists already", col->name);
        rl_column_unref(col);
        return rc;
    }
    rl_column_unref(t->cols[i]);
    t->cols[i] = col;
    return RL_OK;
}

void rl_table_remove(rl_table *t, size_t i)
{
    rl_column_unref(t->cols[i]);
    memmove(t->cols + i, t->cols + i + 1, (t->ncols - i - 1) * sizeof *t->cols);
    t->ncols--;
}

long rl_table_label(const rl_table *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i]->flags & RL_COL_LABEL) return (long)i;
    return -1;
}

int rl_table_take_rows(const rl_table *t, const size_t *rows, size_t n, rl_table **out,
                       rl_error *err)
{
    rl_table *r = rl_table_new(n);
    if (!r) return rl_error_set(err, RL_ENOMEM, "out of memory");
    for (size_t j = 0; j < t->ncols; j++) {
        const rl_column *src = t->cols[j];
        rl_column *c = rl_column_new(src->name, src->type, n);
        if (!c) goto oom;
        c->flags = src->flags;
        if (src->type == RL_TYPE_STRING) {
            /* Keep the dictionary whole so codes stay comparable across splits. */
            for (size_t k = 0; k < rl_levels_count(src->levels); k++)
                if (rl_levels_intern(c->levels, src->levels->str[k], src->levels->len[k]) < 0) {
                    rl_column_unref(c);
                    goto oom;
                }
            for (size_t i = 0; i < n; i++) c->codes[i] = src->codes[rows[i]];
        } else {
            for (size_t i = 0; i < n; i++) c->num[i] = src->num[rows[i]];
        }
        if (rl_table_add(r, c, err)) {
            rl_table_free(r);
            return err ? err->code : RL_ENOMEM;
        }
    }
    *out = r;
    return RL_OK;
oom:
    rl_table_free(r);
    return rl_error_set(err, RL_ENOMEM, "out of memory selecting %zu rows", n);
}
