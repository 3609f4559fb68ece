/* modules_fixtures.h - small table builders shared by the modules' unit tests
 * (test_columns, test_transforms, test_split, test_evaluate). Tables are built
 * in memory so that these tests depend on no reader. Every helper fails the
 * running cmocka test when out of memory.
 */
#ifndef RL_TESTS_MODULES_FIXTURES_H
#define RL_TESTS_MODULES_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/mem.h"
#include "data/table.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

/* A numeric column (NAN: missing). */
static inline rl_column *fx_num(const char *name, const double *v, size_t n, unsigned flags)
{
    rl_column *c = rl_column_new(name, RL_TYPE_NUMERIC, n);
    assert_non_null(c);
    memcpy(c->num, v, n * sizeof *v);
    c->flags = flags;
    return c;
}

/* A boolean column: 0, 1, or -1 for missing. */
static inline rl_column *fx_bool(const char *name, const int *v, size_t n, unsigned flags)
{
    rl_column *c = rl_column_new(name, RL_TYPE_BOOLEAN, n);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++)
        c->num[i] = v[i] < 0 ? NAN : v[i];
    c->flags = flags;
    return c;
}

/* A string column (NULL: missing). */
static inline rl_column *fx_str(const char *name, const char *const *v, size_t n, unsigned flags)
{
    rl_column *c = rl_column_new(name, RL_TYPE_STRING, n);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) continue;
        int32_t code = rl_levels_intern(c->levels, v[i], strlen(v[i]));
        assert_true(code >= 0);
        c->codes[i] = code;
    }
    c->flags = flags;
    return c;
}

/* A table of nrows rows from columns, NULL-terminated (takes them). */
static inline rl_table *fx_table(size_t nrows, ...)
{
    rl_table *t = rl_table_new(nrows);
    assert_non_null(t);
    va_list ap;
    va_start(ap, nrows);
    rl_column *c;
    while ((c = va_arg(ap, rl_column *)))
        assert_int_equal(rl_table_add(t, c, NULL), RL_OK);
    va_end(ap);
    return t;
}

static inline json_t *fx_json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j) fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static inline const rl_column *fx_col(const rl_table *t, const char *name)
{
    long i = rl_table_find(t, name);
    if (i < 0) fail_msg("no column '%s'", name);
    return rl_table_col(t, (size_t)i);
}

static inline double fx_num_at(const rl_table *t, const char *name, size_t row)
{
    const rl_column *c = fx_col(t, name);
    assert_true(c->type != RL_TYPE_STRING);
    return c->num[row];
}

/* Row's text (NULL when missing); valid while t lives or until the next call. */
static inline const char *fx_text_at(const rl_table *t, const char *name, size_t row)
{
    static char buf[64];
    const rl_column *c = fx_col(t, name);
    if (rl_column_is_missing(c, row)) return NULL;
    size_t len;
    const char *s = rl_column_text(c, row, buf, &len);
    if (s != buf) return s;
    buf[len] = '\0';
    return buf;
}

/* Whether two tables hold bit-identical values, names, types and flags. */
static inline void fx_assert_same_table(const rl_table *a, const rl_table *b)
{
    assert_int_equal(rl_table_nrows(a), rl_table_nrows(b));
    assert_int_equal(rl_table_ncols(a), rl_table_ncols(b));
    for (size_t j = 0; j < rl_table_ncols(a); j++) {
        const rl_column *x = rl_table_col(a, j), *y = rl_table_col(b, j);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->flags, y->flags);
        for (size_t i = 0; i < x->nrows; i++) {
            if (x->type == RL_TYPE_STRING) {
                size_t lx, ly;
                char bx[32], by[32];
                const char *sx = rl_column_text(x, i, bx, &lx), *sy = rl_column_text(y, i, by, &ly);
                assert_int_equal(lx, ly);
                assert_memory_equal(sx, sy, lx);
                assert_int_equal(rl_column_is_missing(x, i), rl_column_is_missing(y, i));
            } else {
                assert_memory_equal(&x->num[i], &y->num[i], sizeof(double));
            }
        }
    }
}

/* Number of lines of a message. */
static inline size_t fx_lines(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#endif
