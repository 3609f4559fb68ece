/* test_features.c - fitting a feature layout, building matrices from tables
 * (one-hot, unseen levels, missing values, type conversion), the JSON form and
 * its damage, and out-of-memory paths. Tables are built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/mem.h"
#include "base/rng.h"
#include "learners/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- table builders ---- */

static rl_column *num_col(const char *name, const double *v, size_t n, unsigned flags)
{
    rl_column *c = rl_column_new(name, RL_TYPE_NUMERIC, n);
    assert_non_null(c);
    memcpy(c->num, v, n * sizeof *v);
    c->flags = flags;
    return c;
}

static rl_column *bool_col(const char *name, const double *v, size_t n)
{
    rl_column *c = rl_column_new(name, RL_TYPE_BOOLEAN, n);
    assert_non_null(c);
    memcpy(c->num, v, n * sizeof *v);
    return c;
}

/* A string column; levels are interned first in the order given by dict
 * (NULL-terminated, may be NULL), then as the values come. NULL values are
 * missing. */
static rl_column *str_col(const char *name, const char *const *dict, const char *const *v, size_t n)
{
    rl_column *c = rl_column_new(name, RL_TYPE_STRING, n);
    assert_non_null(c);
    for (size_t i = 0; dict && dict[i]; i++)
        assert_true(rl_levels_intern(c->levels, dict[i], strlen(dict[i])) >= 0);
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) continue;
        int32_t code = rl_levels_intern(c->levels, v[i], strlen(v[i]));
        assert_true(code >= 0);
        c->codes[i] = code;
    }
    return c;
}

static rl_table *table_of(size_t nrows, rl_column **cols, size_t ncols)
{
    rl_table *t = rl_table_new(nrows);
    assert_non_null(t);
    for (size_t i = 0; i < ncols; i++)
        assert_int_equal(rl_table_add(t, cols[i], NULL), RL_OK);
    return t;
}

/* The training table: age (numeric), flag (boolean), color (string with a
 * dictionary-only level), y (label), Scored Labels (score). */
static rl_table *training_table(void)
{
    const double age[5] = {30, NAN, 45.5, 20, 61};
    const double flag[5] = {1, 0, NAN, 1, 0};
    const char *const dict[] = {"red", "unused", NULL};
    const char *const color[5] = {"red", "green", NULL, "blue", "green"};
    const double y[5] = {1, 0, 1, 0, 1};
    rl_column *cols[5] = {num_col("age", age, 5, 0), bool_col("flag", flag, 5),
                          str_col("color", dict, color, 5), num_col("y", y, 5, RL_COL_LABEL),
                          num_col("Scored Labels", y, 5, RL_COL_SCORE)};
    return table_of(5, cols, 5);
}

#define NaN NAN
/* Rows of the training table: age, flag, red, green, blue. */
static const double TRAIN_M[5][5] = {
    {30, 1, 1, 0, 0}, {NaN, 0, 0, 1, 0}, {45.5, NaN, 0, 0, 0}, {20, 1, 0, 0, 1}, {61, 0, 0, 1, 0},
};

static void assert_cells(const rl_matrix *m, const double *want, size_t rows, size_t cols)
{
    assert_int_equal(m->rows, rows);
    assert_int_equal(m->cols, cols);
    for (size_t i = 0; i < rows * cols; i++) {
        double a = m->data[i], b = want[i];
        if (isnan(b) ? !isnan(a) : a != b)
            fail_msg("cell %zu,%zu: %g, expected %g", i / cols, i % cols, a, b);
    }
}

static rl_features *fit_ok(const rl_table *t, const char *label)
{
    rl_features *f = NULL;
    rl_error err;
    if (rl_features_fit(t, label, &f, &err)) fail_msg("%s", err.msg);
    return f;
}

static void matrix_ok(const rl_features *f, const rl_table *t, rl_matrix *m)
{
    rl_error err;
    if (rl_features_matrix(f, t, m, &err)) fail_msg("%s", err.msg);
}

/* ---- tests ---- */

static void test_fit_and_matrix(void **unused)
{
    (void)unused;
    rl_table *t = training_table();
    rl_features *f = fit_ok(t, "y");
    assert_int_equal(rl_features_ncols(f), 3);
    assert_int_equal(rl_features_dim(f), 5);
    assert_string_equal(rl_features_col_name(f, 0), "age");
    assert_int_equal(rl_features_col_type(f, 1), RL_TYPE_BOOLEAN);
    assert_string_equal(rl_features_col_name(f, 2), "color");
    assert_int_equal(rl_features_col_type(f, 2), RL_TYPE_STRING);
    rl_matrix m;
    matrix_ok(f, t, &m);
    assert_cells(&m, &TRAIN_M[0][0], 5, 5);
    rl_free(m.data);
    rl_features_free(f);

    /* Without a label name every non-score column is a feature. */
    f = fit_ok(t, NULL);
    assert_int_equal(rl_features_ncols(f), 4);
    assert_int_equal(rl_features_dim(f), 6);
    rl_features_free(f);
    rl_table_free(t);
}

static void test_scoring_table(void **unused)
{
    (void)unused;
    rl_table *t = training_table();
    rl_features *f = fit_ok(t, "y");
    /* Other column order, an extra column, no label, another dictionary order
     * with a level never seen in training. */
    const double age[4] = {1, 2, NaN, 4};
    const double flag[4] = {0, 1, 1, NaN};
    const double extra[4] = {9, 9, 9, 9};
    const char *const dict[] = {"blue", "purple", "red", NULL};
    const char *const color[4] = {"purple", "red", NULL, "blue"};
    rl_column *cols[4] = {str_col("color", dict, color, 4), num_col("extra", extra, 4, 0),
                          bool_col("flag", flag, 4), num_col("age", age, 4, 0)};
    rl_table *s = table_of(4, cols, 4);
    rl_matrix m;
    matrix_ok(f, s, &m);
    const double want[4][5] = {
        {1, 0, 0, 0, 0}, {2, 1, 1, 0, 0}, {NaN, 1, 0, 0, 0}, {4, NaN, 0, 0, 1}};
    assert_cells(&m, &want[0][0], 4, 5);
    rl_free(m.data);

    /* Zero rows. */
    rl_table *empty = rl_table_new(0);
    rl_column *e[3] = {num_col("age", age, 0, 0), bool_col("flag", flag, 0),
                       str_col("color", NULL, color, 0)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(rl_table_add(empty, e[i], NULL), RL_OK);
    matrix_ok(f, empty, &m);
    assert_int_equal(m.rows, 0);
    assert_int_equal(m.cols, 5);
    rl_free(m.data);
    rl_table_free(empty);

    /* A feature column missing. */
    rl_table_remove(s, (size_t)rl_table_find(s, "flag"));
    rl_error err;
    assert_int_equal(rl_features_matrix(f, s, &m, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "'flag'"));
    rl_table_free(s);
    rl_features_free(f);
    rl_table_free(t);
}

static void test_type_conversion(void **unused)
{
    (void)unused;
    /* Training: code is text "1"/"2", amount numeric, ok boolean. */
    const char *const code[3] = {"1", "2", "1"};
    const double amount[3] = {1.5, 2, 3};
    const double ok[3] = {1, 0, 1};
    rl_column *tc[3] = {str_col("code", NULL, code, 3), num_col("amount", amount, 3, 0),
                        bool_col("ok", ok, 3)};
    rl_table *t = table_of(3, tc, 3);
    rl_features *f = fit_ok(t, NULL);
    assert_int_equal(rl_features_dim(f), 4);

    /* Scoring: code numeric, amount text, ok numeric 0/1. */
    const double code2[3] = {2, NaN, 7};
    const char *const amount2[3] = {" 42", NULL, "-1e3"};
    const double ok2[3] = {0, 1, NaN};
    rl_column *sc[3] = {num_col("code", code2, 3, 0), str_col("amount", NULL, amount2, 3),
                        num_col("ok", ok2, 3, 0)};
    rl_table *s = table_of(3, sc, 3);
    rl_matrix m;
    matrix_ok(f, s, &m);
    const double want[3][4] = {{0, 1, 42, 0}, {0, 0, NaN, 1}, {0, 0, -1000, NaN}};
    assert_cells(&m, &want[0][0], 3, 4);
    rl_free(m.data);

    /* Values that do not convert name the column and the row. */
    rl_error err;
    const char *const bad[3] = {"1", "2", "three"};
    assert_int_equal(rl_table_set(s, 1, str_col("amount", NULL, bad, 3), NULL), RL_OK);
    assert_int_equal(rl_features_matrix(f, s, &m, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "amount"));
    assert_non_null(strstr(err.msg, "three"));
    assert_non_null(strstr(err.msg, "row 3"));
    const double two[3] = {0, 2, 1};
    assert_int_equal(rl_table_set(s, 1, num_col("amount", amount, 3, 0), NULL), RL_OK);
    assert_int_equal(rl_table_set(s, 2, num_col("ok", two, 3, 0), NULL), RL_OK);
    assert_int_equal(rl_features_matrix(f, s, &m, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "'ok'"));
    rl_table_free(s);
    rl_table_free(t);
    rl_features_free(f);
}

static void test_no_features(void **unused)
{
    (void)unused;
    const double y[2] = {0, 1};
    const char *const none[2] = {NULL, NULL};
    rl_column *c[3] = {num_col("y", y, 2, RL_COL_LABEL), str_col("empty", NULL, none, 2),
                       num_col("Scored Probabilities", y, 2, RL_COL_SCORE)};
    rl_table *t = table_of(2, c, 3);
    rl_features *f = NULL;
    rl_error err;
    assert_int_equal(rl_features_fit(t, "y", &f, &err), RL_ESCHEMA);
    assert_null(f);
    assert_non_null(strstr(err.msg, "no feature columns"));
    rl_table_free(t);

    /* Text that is not UTF-8 cannot be saved in the model, so fit refuses it. */
    const char *const latin1[2] = {"caf\xe9", "ok"};
    rl_column *d[1] = {str_col("word", NULL, latin1, 2)};
    t = table_of(2, d, 1);
    assert_int_equal(rl_features_fit(t, NULL, &f, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "UTF-8"));
    rl_table_free(t);
}

static char *dump(const rl_features *f)
{
    json_t *j = rl_features_to_json(f);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void test_json_round_trip(void **unused)
{
    (void)unused;
    const double v[3] = {1, 2, 3};
    const char *const words[3] = {"na\xc3\xafve \"quoted\"", "", "tab\there"};
    rl_column *c[2] = {str_col("w\xc3\xb6rd", NULL, words, 3), num_col("x", v, 3, 0)};
    rl_table *t = table_of(3, c, 2);
    rl_features *f = fit_ok(t, NULL);
    char *a = dump(f);
    json_t *j = json_loads(a, 0, NULL);
    assert_non_null(j);
    rl_features *g = NULL;
    rl_error err;
    if (rl_features_from_json(j, &g, &err)) fail_msg("%s", err.msg);
    json_decref(j);
    char *b = dump(g);
    assert_string_equal(a, b);
    rl_matrix m1, m2;
    matrix_ok(f, t, &m1);
    matrix_ok(g, t, &m2);
    assert_int_equal(m1.cols, 4);
    assert_memory_equal(m1.data, m2.data, m1.rows * m1.cols * sizeof(double));
    rl_free(m1.data);
    rl_free(m2.data);
    free(a);
    free(b);
    rl_features_free(f);
    rl_features_free(g);
    rl_table_free(t);
}

static void test_json_damage(void **unused)
{
    (void)unused;
    static const char *const bad[] = {
        "[]",
        "{\"version\": 2, \"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\"}]}",
        "{\"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\"}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": []}",
        "{\"version\": 1, \"dim\": 2, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\"}]}",
        "{\"version\": 1, \"dim\": -1, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\"}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"double\"}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"type\": \"numeric\"}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [\"x\"]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\", "
        "\"levels\": []}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"string\"}]}",
        "{\"version\": 1, \"dim\": 2, \"columns\": [{\"name\": \"x\", \"type\": \"string\", "
        "\"levels\": [\"a\", \"a\"]}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"string\", "
        "\"levels\": [1]}]}",
        "{\"version\": 1, \"dim\": 0, \"columns\": [{\"name\": \"x\", \"type\": \"string\", "
        "\"levels\": []}]}",
        "{\"version\": 1, \"dim\": 2, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\"}, "
        "{\"name\": \"x\", \"type\": \"boolean\"}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"name\": \"x\", \"type\": \"numeric\", "
        "\"extra\": 1}]}",
        "{\"version\": 1, \"dim\": 1, \"extra\": 0, \"columns\": [{\"name\": \"x\", \"type\": "
        "\"numeric\"}]}",
        "{\"version\": 1, \"dim\": 1, \"columns\": [{\"name\": \"a\\u0000b\", \"type\": "
        "\"numeric\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_error_t je;
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!j) fail_msg("test JSON %zu: %s", i, je.text);
        rl_features *f = NULL;
        rl_error err;
        int rc = rl_features_from_json(j, &f, &err);
        json_decref(j);
        if (rc != RL_EFORMAT) fail_msg("case %zu gives %d", i, rc);
        assert_null(f);
    }
    /* A good one, for contrast. */
    json_t *j = json_loads("{\"version\": 1, \"dim\": 3, \"columns\": [{\"name\": \"x\", "
                           "\"type\": \"boolean\"}, {\"name\": \"s\", \"type\": \"string\", "
                           "\"levels\": [\"a\", \"b\"]}]}",
                           0, NULL);
    rl_features *f = NULL;
    assert_int_equal(rl_features_from_json(j, &f, NULL), RL_OK);
    assert_int_equal(rl_features_dim(f), 3);
    json_decref(j);
    rl_features_free(f);
}

static void test_out_of_memory(void **unused)
{
    (void)unused;
    rl_table *t = training_table();
    json_t *j = NULL;
    int done = 0;
    for (long n = 0; n < 500 && !done; n++) {
        rl_features *f = NULL, *g = NULL;
        rl_matrix m = {0, 0, NULL};
        rl_error err;
        rl_mem_fail_after(n);
        int rc = rl_features_fit(t, "y", &f, &err);
        if (!rc) rc = rl_features_matrix(f, t, &m, &err);
        if (!rc && !j) j = rl_features_to_json(f);
        if (!rc && j) rc = rl_features_from_json(j, &g, &err);
        rl_mem_fail_reset();
        if (rc != RL_OK && rc != RL_ENOMEM) fail_msg("%d %s", rc, err.msg);
        if (rc == RL_OK) {
            assert_cells(&m, &TRAIN_M[0][0], 5, 5);
            done = 1;
        }
        rl_free(m.data);
        rl_features_free(f);
        rl_features_free(g);
    }
    assert_true(done);
    json_decref(j);
    rl_table_free(t);
}

/* A large one-hot matrix: checks the values of sampled cells and prints the
 * time (the hot loop must touch each cell once, no per-cell lookups). */
static void test_large(void **unused)
{
    (void)unused;
    const size_t n = 200000, nlev = 100;
    rl_rng r;
    rl_rng_seed(&r, 1);
    rl_column *s = rl_column_new("s", RL_TYPE_STRING, n),
              *x = rl_column_new("x", RL_TYPE_NUMERIC, n);
    assert_non_null(s);
    assert_non_null(x);
    char name[16];
    for (size_t i = 0; i < nlev; i++) {
        snprintf(name, sizeof name, "L%zu", i);
        assert_true(rl_levels_intern(s->levels, name, strlen(name)) == (int32_t)i);
    }
    for (size_t i = 0; i < n; i++) {
        s->codes[i] = (int32_t)rl_rng_below(&r, nlev);
        x->num[i] = (double)i;
    }
    rl_column *cols[2] = {s, x};
    rl_table *t = table_of(n, cols, 2);
    rl_features *f = fit_ok(t, NULL);
    clock_t c0 = clock();
    rl_matrix m;
    matrix_ok(f, t, &m);
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    print_message("    %zu x %zu matrix in %.3f s\n", m.rows, m.cols, secs);
    assert_int_equal(m.cols, nlev + 1);
    for (size_t i = 0; i < n; i += 997) {
        const double *row = m.data + i * m.cols;
        double ones = 0;
        for (size_t k = 0; k < nlev; k++)
            ones += row[k];
        assert_true(ones == 1);
        assert_true(row[s->codes[i]] == 1);
        assert_true(row[nlev] == (double)i);
    }
    rl_free(m.data);
    rl_features_free(f);
    rl_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_and_matrix),  cmocka_unit_test(test_scoring_table),
        cmocka_unit_test(test_type_conversion), cmocka_unit_test(test_no_features),
        cmocka_unit_test(test_json_round_trip), cmocka_unit_test(test_json_damage),
        cmocka_unit_test(test_out_of_memory),   cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
