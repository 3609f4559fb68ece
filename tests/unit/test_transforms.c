/* test_transforms.c - the fitted transforms (modules/transform.h): Clean
 * Missing Data, Normalize Data, Select Columns in Dataset, Edit Metadata.
 * Fitting, replay on new data (unseen categories, missing label, type drift),
 * JSON round trips that must be bit-identical, malformed params and state,
 * out-of-memory on every path, and concurrent apply. */
#include "modules_fixtures.h"

#include "modules/transform.h"

#include <pthread.h>

#define CLEAN "Clean Missing Data"
#define NORM "Normalize Data"
#define SELECT "Select Columns in Dataset"
#define META "Edit Metadata"

/* x numeric with gaps, s string with a tie between "b" and "a", y the label,
 * full numeric without gaps. */
static rl_table *train_table(void)
{
    static const double x[] = {1, NAN, 3, 10, 4, NAN};
    static const char *const s[] = {"b", NULL, "a", "b", "a", NULL};
    static const double y[] = {0, 1, NAN, 1, 0, 0};
    static const double full[] = {5, 6, 7, 8, 9, 10};
    return fx_table(6, fx_num("x", x, 6, 0), fx_str("s", s, 6, 0), fx_num("y", y, 6, RL_COL_LABEL),
                    fx_num("full", full, 6, 0), NULL);
}

static rl_transform *fit_ok(const char *module, const char *params, const rl_table *in,
                            rl_table **out)
{
    json_t *p = params ? fx_json(params) : NULL;
    rl_transform *tr = NULL;
    rl_table *o = NULL;
    rl_error err;
    if (rl_transform_fit_apply(module, p, in, &tr, &o, &err))
        fail_msg("%s %s: %s", module, params ? params : "(defaults)", err.msg);
    json_decref(p);
    assert_string_equal(rl_transform_module(tr), module);
    if (out)
        *out = o;
    else
        rl_table_free(o);
    return tr;
}

/* Fit (and apply) must fail with code and a message holding each of the
 * NULL-terminated strings. */
static void fit_fails(const char *module, const char *params, const rl_table *in, int code, ...)
{
    json_t *p = params ? fx_json(params) : NULL;
    rl_transform *tr = (rl_transform *)&tr;
    rl_table *o = (rl_table *)&o;
    rl_error err;
    int rc = rl_transform_fit_apply(module, p, in, &tr, &o, &err);
    json_decref(p);
    if (rc != code)
        fail_msg("%s %s: got %d (%s), expected %d", module, params, rc, rc ? err.msg : "ok", code);
    assert_ptr_equal(tr, (rl_transform *)&tr); /* out-parameters untouched */
    assert_ptr_equal(o, (rl_table *)&o);
    va_list ap;
    va_start(ap, code);
    const char *want;
    while ((want = va_arg(ap, const char *)))
        if (!strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
    va_end(ap);
}

static rl_table *apply_ok(const rl_transform *tr, const rl_table *in)
{
    rl_table *o = NULL;
    rl_error err;
    if (rl_transform_apply(tr, in, &o, &err)) fail_msg("apply: %s", err.msg);
    return o;
}

static void apply_fails(const rl_transform *tr, const rl_table *in, int code, const char *want)
{
    rl_table *o = NULL;
    rl_error err;
    int rc = rl_transform_apply(tr, in, &o, &err);
    if (rc != code) fail_msg("apply: got %d (%s), expected %d", rc, rc ? err.msg : "ok", code);
    assert_null(o);
    if (want && !strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
}

/* ---- Clean Missing Data ---- */

static void test_clean_mean_median_mode(void **state)
{
    (void)state;
    rl_table *t = train_table(), *o;
    rl_transform *tr = fit_ok(CLEAN,
                              "{\"columns\": [\"x\"], \"cleaning-mode\": "
                              "\"replace-with-mean\"}",
                              t, &o);
    assert_true(fx_num_at(o, "x", 1) == 18.0 / 4);
    assert_true(fx_num_at(o, "x", 5) == 18.0 / 4);
    assert_true(fx_num_at(o, "x", 3) == 10);
    assert_true(isnan(fx_num_at(o, "y", 2))); /* not selected */
    /* Unchanged columns are shared, not copied. */
    assert_ptr_equal(fx_col(o, "s"), fx_col(t, "s"));
    rl_table_free(o);
    rl_transform_unref(tr);

    tr = fit_ok(CLEAN,
                "{\"columns\": {\"types\": [\"numeric\"]}, \"cleaning-mode\": "
                "\"replace-with-median\"}",
                t, &o);
    assert_true(fx_num_at(o, "x", 1) == 3.5); /* (3 + 4) / 2 */
    assert_true(fx_num_at(o, "y", 2) == 0);   /* median of 0 1 1 0 0 */
    assert_null(fx_text_at(o, "s", 1));
    rl_table_free(o);
    rl_transform_unref(tr);

    /* Mode works on every type; ties go to the smallest value. */
    tr = fit_ok(CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}", t, &o);
    assert_string_equal(fx_text_at(o, "s", 1), "a"); /* a and b twice each */
    assert_true(fx_num_at(o, "x", 1) == 1);          /* all distinct */
    assert_true(fx_num_at(o, "y", 2) == 0);
    rl_table_free(o);
    rl_transform_unref(tr);

    /* Mean or median of a string column is an error naming it, even with "all". */
    fit_fails(CLEAN, "{\"cleaning-mode\": \"replace-with-mean\"}", t, RL_ESCHEMA, "'s'",
              "replace-with-mode", "numeric", NULL);
    fit_fails(CLEAN, "{\"columns\": [\"s\", \"x\"], \"cleaning-mode\": \"replace-with-median\"}", t,
              RL_ESCHEMA, "Clean Missing Data", "'s'", NULL);
    rl_table_free(t);

    /* Booleans: mode with a tie picks false; mean is refused. */
    static const int b[] = {1, 0, -1, 1, 0};
    t = fx_table(5, fx_bool("b", b, 5, 0), NULL);
    tr = fit_ok(CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}", t, &o);
    assert_true(fx_num_at(o, "b", 2) == 0);
    assert_int_equal(fx_col(o, "b")->type, RL_TYPE_BOOLEAN);
    rl_table_free(o);
    rl_transform_unref(tr);
    fit_fails(CLEAN, "{\"cleaning-mode\": \"replace-with-mean\"}", t, RL_ESCHEMA, "'b'", "boolean",
              NULL);
    rl_table_free(t);
}

static void test_clean_custom(void **state)
{
    (void)state;
    static const int b[] = {1, -1, 0, 1, 0, -1};
    rl_table *t = train_table(), *o;
    rl_transform *tr = fit_ok(CLEAN, "{\"columns\": [\"x\", \"s\"], \"replacement-value\": \"7\"}",
                              t, &o); /* the default mode is custom-substitution-value */
    assert_true(fx_num_at(o, "x", 1) == 7);
    assert_string_equal(fx_text_at(o, "s", 1), "7");
    rl_table_free(o);
    rl_transform_unref(tr);

    tr = fit_ok(CLEAN,
                "{\"columns\": [\"x\"], \"cleaning-mode\": \"custom-substitution-value\", "
                "\"replacement-value\": -2.5}",
                t, &o);
    assert_true(fx_num_at(o, "x", 5) == -2.5);
    rl_table_free(o);
    rl_transform_unref(tr);

    tr = fit_ok(CLEAN, NULL, t, &o); /* Studio's default: replace with 0 */
    assert_true(fx_num_at(o, "x", 1) == 0);
    assert_string_equal(fx_text_at(o, "s", 1), "0");
    rl_table_free(o);
    rl_transform_unref(tr);

    fit_fails(CLEAN, "{\"replacement-value\": \"abc\"}", t, RL_ESCHEMA, "'abc'", "'x'", "a number",
              NULL);
    fit_fails(CLEAN, "{\"replacement-value\": \"\"}", t, RL_EINVAL, "empty", NULL);
    rl_table_free(t);

    t = fx_table(6, fx_bool("b", b, 6, 0), NULL);
    tr = fit_ok(CLEAN, "{\"replacement-value\": \"TRUE\"}", t, &o);
    assert_true(fx_num_at(o, "b", 1) == 1);
    rl_table_free(o);
    rl_transform_unref(tr);
    fit_fails(CLEAN, "{\"replacement-value\": \"maybe\"}", t, RL_ESCHEMA, "'b'", "true or false",
              NULL);
    rl_table_free(t);
}

static void test_clean_replay(void **state)
{
    (void)state;
    rl_table *t = train_table(), *o;
    rl_transform *tr = fit_ok(CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}", t, NULL);

    /* New data: an unseen category, no label column, gaps where training had none. */
    static const double x[] = {NAN, 2};
    static const char *const s[] = {"z", NULL};
    static const double full[] = {NAN, 1};
    rl_table *n =
        fx_table(2, fx_num("full", full, 2, 0), fx_str("s", s, 2, 0), fx_num("x", x, 2, 0), NULL);
    o = apply_ok(tr, n);
    assert_int_equal(rl_table_ncols(o), 3);
    assert_true(rl_table_find(o, "y") < 0);
    assert_string_equal(fx_text_at(o, "s", 0), "z");
    assert_string_equal(fx_text_at(o, "s", 1), "a"); /* interned into the new levels */
    assert_true(fx_num_at(o, "x", 0) == 1);
    assert_true(fx_num_at(o, "full", 0) == 5); /* ratio 0 at fit: still cleaned later */
    rl_table_free(o);
    rl_table_free(n);

    /* A missing column that was not the label is an error naming it. */
    n = fx_table(2, fx_num("x", x, 2, 0), fx_num("full", full, 2, 0), NULL);
    apply_fails(tr, n, RL_ESCHEMA, "'s'");
    rl_table_free(n);

    /* Type drift: numbers read as text are converted back; text that is not a
     * number is an error naming the column and the row. */
    static const char *const xs[] = {NULL, "2.5"};
    n = fx_table(2, fx_str("x", xs, 2, 0), fx_str("s", s, 2, 0), fx_num("full", full, 2, 0), NULL);
    o = apply_ok(tr, n);
    assert_int_equal(fx_col(o, "x")->type, RL_TYPE_NUMERIC);
    assert_true(fx_num_at(o, "x", 0) == 1 && fx_num_at(o, "x", 1) == 2.5);
    rl_table_free(o);
    rl_table_free(n);
    static const char *const bad[] = {"oops", NULL};
    n = fx_table(2, fx_str("x", bad, 2, 0), fx_str("s", s, 2, 0), fx_num("full", full, 2, 0), NULL);
    apply_fails(tr, n, RL_ESCHEMA, "'x'");
    rl_table_free(n);
    rl_transform_unref(tr);
    rl_table_free(t);
}

static void test_clean_remove(void **state)
{
    (void)state;
    rl_table *t = train_table(), *o;
    /* Rows 1 and 5 miss x or s; row 2 misses the label y. */
    rl_transform *tr = fit_ok(CLEAN,
                              "{\"columns\": [\"x\", \"s\", \"y\"], \"cleaning-mode\": "
                              "\"remove-entire-row\"}",
                              t, &o);
    assert_int_equal(rl_table_nrows(o), 3);
    assert_true(fx_num_at(o, "full", 0) == 5 && fx_num_at(o, "full", 1) == 8 &&
                fx_num_at(o, "full", 2) == 9);
    rl_table_free(o);
    /* Replay without the label: rows go by x and s only. */
    static const double x[] = {NAN, 2, 3};
    static const char *const s[] = {"a", "b", NULL};
    rl_table *n = fx_table(3, fx_num("x", x, 3, 0), fx_str("s", s, 3, 0), NULL);
    o = apply_ok(tr, n);
    assert_int_equal(rl_table_nrows(o), 1);
    assert_true(fx_num_at(o, "x", 0) == 2);
    rl_table_free(o);
    rl_transform_unref(tr);

    /* Columns: x and s miss 2 of 6 (0.33), y 1 of 6, full none. */
    tr = fit_ok(CLEAN,
                "{\"cleaning-mode\": \"remove-entire-column\", "
                "\"minimum-missing-value-ratio\": 0.3}",
                t, &o);
    assert_int_equal(rl_table_ncols(o), 2);
    assert_true(rl_table_find(o, "y") >= 0 && rl_table_find(o, "full") >= 0);
    rl_table_free(o);
    o = apply_ok(tr, n); /* drops by name, even without gaps; absent ones are fine */
    assert_int_equal(rl_table_ncols(o), 0);
    rl_table_free(o);
    rl_table_free(n);
    rl_transform_unref(tr);
    rl_table_free(t);
}

static void test_clean_ratio_bounds(void **state)
{
    (void)state;
    rl_table *t = train_table(), *o;
    /* Only y (1/6 missing) lies within [0.1, 0.2]. */
    rl_transform *tr = fit_ok(CLEAN,
                              "{\"cleaning-mode\": \"replace-with-mode\", "
                              "\"minimum-missing-value-ratio\": 0.1, "
                              "\"maximum-missing-value-ratio\": \"0.2\"}",
                              t, &o);
    assert_true(fx_num_at(o, "y", 2) == 0);
    assert_true(isnan(fx_num_at(o, "x", 1)));
    assert_null(fx_text_at(o, "s", 1));
    rl_table_free(o);
    /* Replay: only y is cleaned, and only y is needed. */
    static const double y[] = {NAN};
    rl_table *n = fx_table(1, fx_num("y", y, 1, RL_COL_LABEL), NULL);
    o = apply_ok(tr, n);
    assert_true(fx_num_at(o, "y", 0) == 0);
    rl_table_free(o);
    rl_table_free(n);
    rl_transform_unref(tr);

    /* A mean needs values: a column without any is an error naming it. */
    static const double none[] = {NAN, NAN};
    n = fx_table(2, fx_num("empty", none, 2, 0), NULL);
    fit_fails(CLEAN, "{\"cleaning-mode\": \"replace-with-mean\"}", n, RL_ESCHEMA, "'empty'",
              "no values", NULL);
    fit_fails(CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}", n, RL_ESCHEMA, "'empty'", NULL);
    /* ...unless the ratio bounds leave it out. */
    tr = fit_ok(CLEAN,
                "{\"cleaning-mode\": \"replace-with-mean\", "
                "\"maximum-missing-value-ratio\": 0.99}",
                n, &o);
    assert_true(isnan(fx_num_at(o, "empty", 0)));
    rl_table_free(o);
    rl_transform_unref(tr);
    rl_table_free(n);
    rl_table_free(t);
}

/* ---- Normalize Data ---- */

static void assert_close(double got, double want)
{
    if (!(fabs(got - want) <= 1e-15 * fmax(1, fabs(want))))
        fail_msg("got %.17g, expected %.17g", got, want);
}

static void test_normalize(void **state)
{
    (void)state;
    static const double x[] = {1.5, NAN, 2.25, -3.0, 10.0, 0.125};
    static const double c[] = {0.1, 0.1, 0.1, NAN, 0.1, 0.1};
    static const double y[] = {1, 2, 3, 4, 5, 6};
    static const char *const s[] = {"a", "b", "a", "b", "a", "b"};
    rl_table *t = fx_table(6, fx_num("x", x, 6, 0), fx_num("c", c, 6, 0), fx_str("s", s, 6, 0),
                           fx_num("y", y, 6, RL_COL_LABEL), NULL),
             *o;
    /* Expected values from scikit-learn 1.2 (Debian's /usr/bin/python3):
     *   StandardScaler().fit_transform([[1.5],[nan],[2.25],[-3],[10],[0.125]])
     *   MinMaxScaler().fit_transform(same) */
    static const double z[] = {-0.15678607123657667, NAN,
                               0.0174206745818419,   -1.2020265461470883,
                               1.817557048038834,    -0.4761651052370108};
    static const double mm[] = {0.34615384615384615, NAN, 0.40384615384615385, 0.0, 1.0,
                                0.2403846153846154};
    rl_transform *tr = fit_ok(NORM, NULL, t, &o);
    for (size_t i = 0; i < 6; i++) {
        if (isnan(z[i]))
            assert_true(isnan(fx_num_at(o, "x", i)));
        else
            assert_close(fx_num_at(o, "x", i), z[i]);
        /* A constant column maps to 0, missing stays missing. */
        if (i == 3)
            assert_true(isnan(fx_num_at(o, "c", i)));
        else
            assert_true(fx_num_at(o, "c", i) == 0);
    }
    /* The label and strings are left alone by default. */
    assert_ptr_equal(fx_col(o, "y"), fx_col(t, "y"));
    assert_ptr_equal(fx_col(o, "s"), fx_col(t, "s"));
    rl_table_free(o);
    /* Replay: the fitted mean maps to 0, one std above to 1. */
    static const double nx[] = {2.175, 2.175 + 4.3052293783258522, NAN};
    static const double nc[] = {5, NAN, 0.1};
    rl_table *n = fx_table(3, fx_num("c", nc, 3, 0), fx_num("x", nx, 3, 0), NULL);
    o = apply_ok(tr, n);
    assert_close(fx_num_at(o, "x", 0), 0);
    assert_close(fx_num_at(o, "x", 1), 1);
    assert_true(isnan(fx_num_at(o, "x", 2)));
    assert_true(fx_num_at(o, "c", 0) == 0 && fx_num_at(o, "c", 2) == 0);
    rl_table_free(o);
    rl_table_free(n);
    rl_transform_unref(tr);

    tr =
        fit_ok(NORM, "{\"columns\": [\"x\", \"y\"], \"transformation-method\": \"MinMax\"}", t, &o);
    for (size_t i = 0; i < 6; i++) {
        if (isnan(mm[i]))
            assert_true(isnan(fx_num_at(o, "x", i)));
        else
            assert_close(fx_num_at(o, "x", i), mm[i]);
        assert_close(fx_num_at(o, "y", i), (double)i / 5);
    }
    assert_ptr_equal(fx_col(o, "c"), fx_col(t, "c"));
    rl_table_free(o);
    /* Replay without the label: skipped; without x: an error naming it. */
    n = fx_table(1, fx_num("x", nx, 1, 0), NULL);
    o = apply_ok(tr, n);
    assert_int_equal(rl_table_ncols(o), 1);
    rl_table_free(o);
    rl_table_free(n);
    n = fx_table(1, fx_num("y", nx, 1, RL_COL_LABEL), NULL);
    apply_fails(tr, n, RL_ESCHEMA, "'x'");
    rl_table_free(n);
    rl_transform_unref(tr);

    fit_fails(NORM, "{\"columns\": {\"all\": true}}", t, RL_ESCHEMA, "Normalize Data", "'s'",
              "only numeric", NULL);
    fit_fails(NORM, "{\"transformation-method\": \"logistic\"}", t, RL_EINVAL, "zscore", "minmax",
              NULL);
    rl_table_free(t);
    static const double none[] = {NAN, NAN};
    t = fx_table(2, fx_num("e", none, 2, 0), NULL);
    fit_fails(NORM, NULL, t, RL_ESCHEMA, "'e'", "no values", NULL);
    rl_table_free(t);
}

/* ---- Select Columns in Dataset ---- */

static void test_select(void **state)
{
    (void)state;
    rl_table *t = train_table(), *o;
    rl_transform *tr = fit_ok(SELECT, "{\"columns\": [\"y\", \"x\"]}", t, &o);
    assert_int_equal(rl_table_ncols(o), 2);
    assert_string_equal(rl_table_col(o, 0)->name, "y"); /* the list's order */
    assert_string_equal(rl_table_col(o, 1)->name, "x");
    assert_ptr_equal(rl_table_col(o, 1), fx_col(t, "x")); /* shared */
    rl_table_free(o);
    /* Replay: columns found by name in any order; the label may be absent. */
    static const double v[] = {1, 2};
    rl_table *n = fx_table(2, fx_num("other", v, 2, 0), fx_num("x", v, 2, 0), NULL);
    o = apply_ok(tr, n);
    assert_int_equal(rl_table_ncols(o), 1);
    assert_string_equal(rl_table_col(o, 0)->name, "x");
    rl_table_free(o);
    rl_table_free(n);
    n = fx_table(2, fx_num("y", v, 2, RL_COL_LABEL), NULL);
    apply_fails(tr, n, RL_ESCHEMA, "'x'");
    rl_table_free(n);
    rl_transform_unref(tr);

    /* Types resolve at fit time and replay the same names. */
    tr = fit_ok(SELECT, "{\"columns\": {\"types\": [\"numeric\"], \"exclude\": [\"y\"]}}", t, &o);
    assert_int_equal(rl_table_ncols(o), 2);
    assert_string_equal(rl_table_col(o, 0)->name, "x");
    assert_string_equal(rl_table_col(o, 1)->name, "full");
    rl_table_free(o);
    static const char *const s[] = {"p", "q"};
    n = fx_table(2, fx_num("full", v, 2, 0), fx_str("x", s, 2, 0), NULL);
    o = apply_ok(tr, n); /* x is text now, but it is the same name */
    assert_string_equal(rl_table_col(o, 0)->name, "x");
    rl_table_free(o);
    rl_table_free(n);
    rl_transform_unref(tr);

    fit_fails(SELECT, "{\"columns\": {\"types\": [\"boolean\"]}}", t, RL_ESCHEMA, "no column",
              NULL);
    fit_fails(SELECT, "{\"columns\": [\"nope\"]}", t, RL_ESCHEMA, "'nope'", "columns are", NULL);
    fit_fails(SELECT, NULL, t, RL_EINVAL, "\"columns\" is required", NULL);
    rl_table_free(t);
}

/* ---- Edit Metadata ---- */

static void test_edit_metadata(void **state)
{
    (void)state;
    rl_table *t = train_table(), *o;
    /* Renames follow the list's order. */
    rl_transform *tr = fit_ok(META,
                              "{\"columns\": [\"s\", \"x\"], \"new-column-names\": "
                              "\" S2 , X2\"}",
                              t, &o);
    assert_string_equal(rl_table_col(o, 0)->name, "X2");
    assert_string_equal(rl_table_col(o, 1)->name, "S2");
    assert_string_equal(fx_text_at(o, "S2", 0), "b");
    assert_string_equal(fx_col(t, "s")->name, "s"); /* the input is untouched */
    rl_table_free(o);
    rl_transform_unref(tr);
    /* Swapping two names works. */
    tr = fit_ok(META, "{\"columns\": [\"x\", \"full\"], \"new-column-names\": \"full,x\"}", t, &o);
    assert_true(fx_num_at(o, "x", 0) == 5 && fx_num_at(o, "full", 0) == 1);
    rl_table_free(o);
    rl_transform_unref(tr);

    /* A new label clears the old one. */
    tr = fit_ok(META, "{\"columns\": [\"full\"], \"fields\": \"label\"}", t, &o);
    assert_true(fx_col(o, "full")->flags & RL_COL_LABEL);
    assert_false(fx_col(o, "y")->flags & RL_COL_LABEL);
    assert_true(fx_col(t, "y")->flags & RL_COL_LABEL);
    assert_string_equal(rl_table_col(o, (size_t)rl_table_label(o))->name, "full");
    rl_table_free(o);
    /* Replay on data without that label: fine. */
    static const double v[] = {1, 2};
    rl_table *n = fx_table(2, fx_num("x", v, 2, 0), NULL);
    o = apply_ok(tr, n);
    assert_int_equal(rl_table_label(o), -1);
    rl_table_free(o);
    rl_table_free(n);
    rl_transform_unref(tr);

    /* Types: numbers to text, and categorical (which turns numbers into text). */
    tr = fit_ok(META, "{\"columns\": [\"full\"], \"data-type\": \"string\"}", t, &o);
    assert_int_equal(fx_col(o, "full")->type, RL_TYPE_STRING);
    assert_string_equal(fx_text_at(o, "full", 2), "7");
    rl_table_free(o);
    rl_transform_unref(tr);
    tr = fit_ok(META, "{\"columns\": [\"x\"], \"categorical\": \"make-categorical\"}", t, &o);
    assert_int_equal(fx_col(o, "x")->type, RL_TYPE_STRING);
    assert_true(fx_col(o, "x")->flags & RL_COL_CATEGORICAL);
    assert_string_equal(fx_text_at(o, "x", 3), "10");
    assert_null(fx_text_at(o, "x", 1));
    rl_table_free(o);
    rl_transform_unref(tr);
    tr = fit_ok(META,
                "{\"columns\": [\"y\"], \"fields\": \"clear-label\", \"data-type\": "
                "\"boolean\"}",
                t, &o);
    assert_int_equal(fx_col(o, "y")->type, RL_TYPE_BOOLEAN);
    assert_int_equal(rl_table_label(o), -1);
    rl_table_free(o);
    /* Replay: a value that does not convert names column and row. */
    static const double bad[] = {0, 2};
    n = fx_table(2, fx_num("y", bad, 2, 0), NULL);
    apply_fails(tr, n, RL_ESCHEMA, "row 2");
    rl_table_free(n);
    rl_transform_unref(tr);

    fit_fails(META, "{\"columns\": {\"types\": [\"numeric\"]}, \"new-column-names\": \"a,b\"}", t,
              RL_ESCHEMA, "2 names", "3 columns", NULL);
    fit_fails(META, "{\"columns\": {\"types\": [\"numeric\"]}, \"fields\": \"label\"}", t,
              RL_ESCHEMA, "exactly one", NULL);
    fit_fails(META, "{\"columns\": [\"x\"], \"new-column-names\": \"full\"}", t, RL_ESCHEMA,
              "'full'", "another column", NULL);
    fit_fails(META, "{\"columns\": [\"s\"], \"data-type\": \"numeric\"}", t, RL_ESCHEMA, "'s'",
              "row 1", NULL);
    rl_table_free(t);
}

/* ---- JSON round trip ---- */

/* Serializes tr, reads it back, and checks that the copy serializes to the
 * same text and transforms in to bit-identical values. */
static void round_trip(const rl_transform *tr, const rl_table *in, size_t flags)
{
    json_t *j1 = rl_transform_to_json(tr);
    assert_non_null(j1);
    char *s1 = json_dumps(j1, flags);
    assert_non_null(s1);
    json_error_t je;
    json_t *back = json_loads(s1, 0, &je);
    assert_non_null(back);
    rl_transform *copy = NULL;
    rl_error err;
    if (rl_transform_from_json(back, &copy, &err)) fail_msg("from_json: %s\n%s", err.msg, s1);
    json_t *j2 = rl_transform_to_json(copy);
    char *s2 = json_dumps(j2, flags);
    assert_string_equal(s1, s2);
    assert_true(json_equal(j1, j2));
    rl_table *a = apply_ok(tr, in), *b = apply_ok(copy, in);
    fx_assert_same_table(a, b);
    rl_table_free(a);
    rl_table_free(b);
    free(s1);
    free(s2);
    json_decref(j1);
    json_decref(j2);
    json_decref(back);
    rl_transform_unref(copy);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    /* Values whose mean, std, min and max need all 17 digits. */
    static const double x[] = {0.1, NAN,          1.0 / 3, 2.0 / 7, 1e-300, 4.9406564584124654e-324,
                               0.7, 123456.789e-5};
    static const double w[] = {-1e300, 1e300, NAN, 3, 3, 3, 1e-310, 2};
    static const char *const s[] = {"é", "b,c", NULL, "\"q\"", "b,c", NULL, "x", "y"};
    static const double y[] = {1, 0, 1, 0, NAN, 1, 0, 1};
    rl_table *t = fx_table(8, fx_num("x", x, 8, 0), fx_num("w", w, 8, 0), fx_str("s", s, 8, 0),
                           fx_num("y", y, 8, RL_COL_LABEL), NULL);
    static const char *const cases[][2] = {
        {CLEAN, "{\"columns\": [\"x\", \"w\"], \"cleaning-mode\": \"replace-with-mean\"}"},
        {CLEAN, "{\"columns\": {\"types\": [\"numeric\"]}, \"cleaning-mode\": "
                "\"replace-with-median\"}"},
        {CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}"},
        {CLEAN, "{\"cleaning-mode\": \"custom-substitution-value\", \"replacement-value\": 0.3}"},
        {CLEAN, "{\"cleaning-mode\": \"remove-entire-row\", \"columns\": [\"x\", \"s\"]}"},
        {CLEAN, "{\"cleaning-mode\": \"remove-entire-column\", \"minimum-missing-value-ratio\": "
                "0.2}"},
        {NORM, NULL},
        {NORM, "{\"columns\": [\"w\", \"x\"], \"transformation-method\": \"minmax\"}"},
        {SELECT, "{\"columns\": [\"s\", \"x\"]}"},
        {META, "{\"columns\": [\"s\"], \"new-column-names\": \"t\", \"fields\": \"label\", "
               "\"categorical\": \"make-categorical\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rl_transform *tr = fit_ok(cases[i][0], cases[i][1], t, NULL);
        round_trip(tr, t, JSON_REAL_PRECISION(17) | JSON_COMPACT);
        round_trip(tr, t, 0); /* jansson's default precision is 17 digits too */
        round_trip(tr, t, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        rl_transform_unref(tr);
    }
    /* The fitted doubles themselves survive: the mean of x, bit for bit. */
    rl_transform *tr = fit_ok(CLEAN,
                              "{\"columns\": [\"x\"], \"cleaning-mode\": "
                              "\"replace-with-mean\"}",
                              t, NULL);
    json_t *j = rl_transform_to_json(tr);
    double mean = 0;
    for (size_t i = 0; i < 8; i++)
        if (!isnan(x[i])) mean += x[i];
    mean /= 7;
    const json_t *v = json_object_get(
        json_array_get(json_object_get(json_object_get(j, "state"), "columns"), 0), "value");
    assert_true(json_is_real(v));
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    assert_true(strtod(text, NULL) == mean);
    assert_memory_equal(&(double){json_real_value(v)}, &mean, sizeof mean);
    free(text);
    json_decref(j);
    rl_transform_unref(tr);
    rl_table_free(t);
}

/* ---- malformed params and state ---- */

static void check_fails(const char *module, const char *params, int code, size_t lines,
                        const char *want)
{
    json_t *p = params ? fx_json(params) : NULL;
    rl_error err;
    int rc = rl_transform_check(module, p, &err);
    json_decref(p);
    if (rc != code) fail_msg("%s %s: got %d, expected %d", module, params, rc, code);
    if (fx_lines(err.msg) != lines)
        fail_msg("%s %s: %zu lines, expected %zu:\n%s", module, params, fx_lines(err.msg), lines,
                 err.msg);
    if (want && !strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void test_malformed_params(void **state)
{
    (void)state;
    assert_true(rl_transform_is_module(CLEAN) && rl_transform_is_module(NORM) &&
                rl_transform_is_module(SELECT) && rl_transform_is_module(META));
    assert_false(rl_transform_is_module("Split Data"));
    assert_false(rl_transform_is_module(NULL));
    check_fails("Split Data", "{}", RL_EINVAL, 1, "not a transform");
    check_fails(CLEAN,
                "{\"cleaning-mode\": \"replace-with-avg\", \"colums\": \"all\", "
                "\"minimum-missing-value-ratio\": 2, \"maximum-missing-value-ratio\": \"x\", "
                "\"replacement-value\": [1]}",
                RL_EINVAL, 5, "replace-with-avg");
    check_fails(CLEAN,
                "{\"minimum-missing-value-ratio\": 0.8, \"maximum-missing-value-ratio\": "
                "0.5}",
                RL_EINVAL, 1, "above");
    check_fails(CLEAN, "[1, 2]", RL_EINVAL, 1, "JSON object");
    check_fails(NORM, "{\"columns\": [], \"transformation-method\": 3}", RL_EINVAL, 2,
                "Normalize Data");
    check_fails(SELECT, "{}", RL_EINVAL, 1, "required");
    check_fails(SELECT, "{\"columns\": \"age\"}", RL_EINVAL, 1, "[\"age\"]");
    check_fails(META,
                "{\"columns\": [\"a\", \"b\"], \"data-type\": \"integer32\", \"fields\": "
                "\"label\", \"new-column-names\": \"x,,x\"}",
                RL_EINVAL, 5, "integer32");
    check_fails(META,
                "{\"columns\": [\"a\"], \"data-type\": \"numeric\", \"categorical\": "
                "\"make-categorical\"}",
                RL_EINVAL, 1, "make-categorical");
    /* Good params pass. */
    rl_error err;
    json_t *p = fx_json("{\"columns\": [\"a\"], \"new-column-names\": \"b\", \"fields\": "
                        "\"feature\"}");
    assert_int_equal(rl_transform_check(META, p, &err), RL_OK);
    json_decref(p);
    assert_int_equal(rl_transform_check(CLEAN, NULL, &err), RL_OK);
    assert_int_equal(rl_transform_check(NORM, NULL, NULL), RL_OK);
    /* Fit refuses them the same way, before looking at data. */
    rl_table *t = train_table();
    fit_fails(CLEAN, "{\"cleaning-mode\": \"nope\"}", t, RL_EINVAL, "cleaning-mode", NULL);
    fit_fails("Clean Missing", "{}", t, RL_EINVAL, "not a transform", NULL);
    rl_table_free(t);
}

static void test_malformed_state(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]",
        "{\"params\": {}, \"state\": {}}",
        "{\"module\": \"Bake Data\", \"params\": {}, \"state\": {}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {}}",
        "{\"module\": \"Clean Missing Data\", \"params\": 3, \"state\": {}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {\"cleaning-mode\": \"x\"}, "
        "\"state\": {\"columns\": []}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {}, \"state\": {\"columns\": 1}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {}, \"state\": {\"columns\": "
        "[{\"name\": \"x\", \"type\": \"numeric\", \"value\": \"7\"}]}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {}, \"state\": {\"columns\": "
        "[{\"name\": \"x\", \"type\": \"complex\", \"value\": 7}]}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {}, \"state\": {\"columns\": "
        "[{\"name\": \"x\", \"type\": \"string\", \"value\": 7}]}}",
        "{\"module\": \"Clean Missing Data\", \"params\": {}, \"state\": {\"columns\": [], "
        "\"label\": 5}}",
        "{\"module\": \"Normalize Data\", \"params\": {}, \"state\": {\"columns\": "
        "[{\"name\": \"x\", \"mean\": 1}]}}",
        "{\"module\": \"Normalize Data\", \"params\": {\"transformation-method\": \"minmax\"}, "
        "\"state\": {\"columns\": [{\"name\": \"x\", \"mean\": 1, \"std\": 2}]}}",
        "{\"module\": \"Select Columns in Dataset\", \"params\": {\"columns\": \"all\"}, "
        "\"state\": {\"columns\": [\"a\", 2]}}",
        "{\"module\": \"Edit Metadata\", \"params\": {\"columns\": [\"a\"], "
        "\"new-column-names\": \"x,y\"}, \"state\": {\"columns\": [\"a\"]}}",
        "{\"module\": \"Edit Metadata\", \"params\": {\"columns\": \"all\", \"fields\": "
        "\"label\"}, \"state\": {\"columns\": [\"a\", \"b\"]}}",
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        json_t *j = fx_json(bad[i]);
        rl_transform *tr = (rl_transform *)&tr;
        rl_error err;
        int rc = rl_transform_from_json(j, &tr, &err);
        if (rc != RL_EFORMAT) fail_msg("case %zu: got %d, expected RL_EFORMAT", i, rc);
        assert_ptr_equal(tr, (rl_transform *)&tr);
        assert_true(strlen(err.msg) > 10);
        json_decref(j);
    }
    /* Hand-written state works, including integers and "Infinity" as doubles. */
    json_t *j = fx_json("{\"module\": \"Normalize Data\", \"params\": {}, \"state\": {\"columns\": "
                        "[{\"name\": \"x\", \"mean\": 1, \"std\": \"Infinity\"}], \"label\": "
                        "null}}");
    rl_transform *tr;
    rl_error err;
    assert_int_equal(rl_transform_from_json(j, &tr, &err), RL_OK);
    static const double x[] = {3};
    rl_table *t = fx_table(1, fx_num("x", x, 1, 0), NULL), *o = apply_ok(tr, t);
    assert_true(fx_num_at(o, "x", 0) == 0);
    rl_table_free(o);
    rl_table_free(t);
    rl_transform_unref(tr);
    json_decref(j);
}

/* ---- out of memory ---- */

/* Fits, applies, saves and reloads under an allocation budget of k. */
static int full_cycle(const char *module, const json_t *params, const rl_table *t,
                      const rl_table *n)
{
    rl_transform *tr = NULL, *copy = NULL;
    rl_table *a = NULL, *b = NULL;
    json_t *j = NULL;
    rl_error err;
    int rc = rl_transform_fit_apply(module, params, t, &tr, &a, &err);
    if (rc) goto done;
    if (!(j = rl_transform_to_json(tr))) {
        rc = rl_error_set(&err, RL_ENOMEM, "out of memory in jansson");
        goto done;
    }
    rc = rl_transform_from_json(j, &copy, &err);
    if (rc) goto done;
    rc = rl_transform_apply(copy, n, &b, &err);
done:
    if (rc && rc != RL_ENOMEM) fail_msg("%s: %s", module, err.msg);
    if (rc == RL_ENOMEM) assert_non_null(strstr(err.msg, "out of memory"));
    rl_table_free(a);
    rl_table_free(b);
    json_decref(j);
    rl_transform_unref(tr);
    rl_transform_unref(copy);
    return rc;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}"},
        {CLEAN, "{\"columns\": [\"x\"], \"cleaning-mode\": \"replace-with-median\"}"},
        {CLEAN, "{\"columns\": [\"x\", \"s\"], \"cleaning-mode\": \"remove-entire-row\"}"},
        {CLEAN, "{\"cleaning-mode\": \"remove-entire-column\"}"},
        {NORM, NULL},
        {SELECT, "{\"columns\": [\"s\", \"x\"]}"},
        {META, "{\"columns\": [\"s\", \"x\"], \"new-column-names\": \"a,b\", \"fields\": "
               "\"feature\"}"},
        {META, "{\"columns\": [\"x\"], \"fields\": \"label\", \"categorical\": "
               "\"make-categorical\"}"},
    };
    rl_table *t = train_table();
    static const double x[] = {NAN, 2};
    static const char *const s[] = {"new", NULL};
    static const double full[] = {NAN, 1};
    rl_table *n =
        fx_table(2, fx_str("s", s, 2, 0), fx_num("x", x, 2, 0), fx_num("full", full, 2, 0), NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = cases[i][1] ? fx_json(cases[i][1]) : NULL;
        long k;
        for (k = 0; k < 1000; k++) {
            rl_mem_fail_after(k);
            int rc = full_cycle(cases[i][0], p, t, n);
            rl_mem_fail_reset();
            if (rc == RL_OK) break;
        }
        if (k == 1000) fail_msg("%s never succeeded", cases[i][0]);
        assert_true(k > 2); /* the budget did bite */
        json_decref(p);
    }
    rl_table_free(n);
    rl_table_free(t);
}

/* ---- sharing ---- */

typedef struct apply_job {
    const rl_transform *tr;
    const rl_table *in, *want;
    int ok;
} apply_job;

static void *apply_thread(void *arg)
{
    apply_job *job = arg;
    job->ok = 1;
    for (int r = 0; r < 200 && job->ok; r++) {
        rl_table *o = NULL;
        if (rl_transform_apply(job->tr, job->in, &o, NULL)) {
            job->ok = 0;
            break;
        }
        for (size_t j = 0; j < rl_table_ncols(o); j++) {
            const rl_column *c = rl_table_col(o, j), *w = rl_table_col(job->want, j);
            if (c->type != RL_TYPE_STRING && memcmp(c->num, w->num, c->nrows * sizeof *c->num) != 0)
                job->ok = 0;
        }
        rl_table_free(o);
    }
    return NULL;
}

static void test_shared_use(void **state)
{
    (void)state;
    rl_table *t = train_table(), *want;
    rl_transform *tr = fit_ok(CLEAN, "{\"cleaning-mode\": \"replace-with-mode\"}", t, &want);
    rl_transform *extra = rl_transform_ref(tr);
    assert_ptr_equal(extra, tr);
    rl_transform_unref(extra); /* still alive: the first reference remains */
    rl_transform_unref(NULL);
    pthread_t th[4];
    apply_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (apply_job){tr, t, want, 0};
        assert_int_equal(pthread_create(&th[i], NULL, apply_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(jobs[i].ok);
    }
    rl_table_free(want);
    rl_transform_unref(tr);
    rl_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_mean_median_mode),
        cmocka_unit_test(test_clean_custom),
        cmocka_unit_test(test_clean_replay),
        cmocka_unit_test(test_clean_remove),
        cmocka_unit_test(test_clean_ratio_bounds),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_edit_metadata),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_malformed_params),
        cmocka_unit_test(test_malformed_state),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_shared_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
