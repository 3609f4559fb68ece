/* test_census.c - the census-like generator: shape, determinism, realistic
 * rates, a label that depends on the features, shift, and failure paths. */
#include "base/mem.h"
#include "data/census.h"
#include "data/table.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const char *const NAMES[] = {
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
};
static const rl_type TYPES[] = {
    RL_TYPE_NUMERIC, RL_TYPE_STRING,  RL_TYPE_NUMERIC, RL_TYPE_STRING, RL_TYPE_NUMERIC,
    RL_TYPE_STRING,  RL_TYPE_STRING,  RL_TYPE_STRING,  RL_TYPE_STRING, RL_TYPE_STRING,
    RL_TYPE_NUMERIC, RL_TYPE_NUMERIC, RL_TYPE_NUMERIC, RL_TYPE_STRING, RL_TYPE_STRING,
};

static rl_table *gen(size_t rows, uint64_t seed, double shift)
{
    rl_table *t = NULL;
    rl_error err;
    int rc = rl_census_generate(rows, seed, shift, &t, &err);
    if (rc) fail_msg("rl_census_generate: %s", err.msg);
    assert_non_null(t);
    return t;
}

static const rl_column *col(const rl_table *t, const char *name)
{
    long i = rl_table_find(t, name);
    if (i < 0) fail_msg("no column %s", name);
    return rl_table_col(t, (size_t)i);
}

/* Row i of a string column, or NULL when missing. */
static const char *str(const rl_column *c, size_t i)
{
    return c->codes[i] < 0 ? NULL : rl_levels_get(c->levels, c->codes[i]);
}

static int is(const rl_column *c, size_t i, const char *s)
{
    const char *v = str(c, i);
    return v && strcmp(v, s) == 0;
}

static double share_missing(const rl_column *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nrows; i++)
        n += rl_column_is_missing(c, i) != 0;
    return (double)n / (double)c->nrows;
}

static double share_of(const rl_column *c, const char *s)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nrows; i++)
        n += is(c, i, s);
    return (double)n / (double)c->nrows;
}

static double mean(const rl_column *c)
{
    double s = 0;
    for (size_t i = 0; i < c->nrows; i++)
        s += c->num[i];
    return s / (double)c->nrows;
}

/* The share of ">50K" among rows where column `by` equals `value`. */
static double rate_where(const rl_table *t, const char *by, const char *value)
{
    const rl_column *c = col(t, by), *y = col(t, "income");
    size_t n = 0, pos = 0;
    for (size_t i = 0; i < c->nrows; i++)
        if (is(c, i, value)) {
            n++;
            pos += is(y, i, ">50K");
        }
    assert_true(n > 0);
    return (double)pos / (double)n;
}

/* A fingerprint of every cell: numbers by their bits, strings by their text. */
static uint64_t fingerprint(const rl_table *t)
{
    uint64_t h = 1469598103934665603ULL;
#define MIX_BYTES(p, n)                                                                            \
    for (size_t k_ = 0; k_ < (n); k_++)                                                            \
    h = (h ^ ((const unsigned char *)(p))[k_]) * 1099511628211ULL
    for (size_t j = 0; j < rl_table_ncols(t); j++) {
        const rl_column *c = rl_table_col(t, j);
        MIX_BYTES(c->name, strlen(c->name));
        for (size_t i = 0; i < c->nrows; i++) {
            if (c->type == RL_TYPE_STRING) {
                const char *s = c->codes[i] < 0 ? "\x01" : rl_levels_get(c->levels, c->codes[i]);
                MIX_BYTES(s, strlen(s) + 1);
            } else {
                MIX_BYTES(&c->num[i], sizeof(double));
            }
        }
    }
#undef MIX_BYTES
    return h;
}

static void assert_same_tables(const rl_table *a, const rl_table *b)
{
    assert_int_equal(rl_table_nrows(a), rl_table_nrows(b));
    assert_int_equal(rl_table_ncols(a), rl_table_ncols(b));
    for (size_t j = 0; j < rl_table_ncols(a); j++) {
        const rl_column *x = rl_table_col(a, j), *y = rl_table_col(b, j);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        if (x->type == RL_TYPE_STRING) {
            assert_int_equal(rl_levels_count(x->levels), rl_levels_count(y->levels));
            for (size_t k = 0; k < rl_levels_count(x->levels); k++)
                assert_string_equal(rl_levels_get(x->levels, (int32_t)k),
                                    rl_levels_get(y->levels, (int32_t)k));
            assert_memory_equal(x->codes, y->codes, x->nrows * sizeof *x->codes);
        } else {
            assert_memory_equal(x->num, y->num, x->nrows * sizeof *x->num);
        }
    }
}

static void test_shape(void **state)
{
    (void)state;
    rl_table *t = gen(1000, 1, 0.0);
    assert_int_equal(rl_table_nrows(t), 1000);
    assert_int_equal(rl_table_ncols(t), 15);
    for (size_t j = 0; j < 15; j++) {
        const rl_column *c = rl_table_col(t, j);
        assert_string_equal(c->name, NAMES[j]);
        assert_int_equal(c->type, TYPES[j]);
        assert_int_equal(c->flags, 0); /* as a CSV read gives: no categorical, no label */
        assert_int_equal(c->nrows, 1000);
    }
    assert_int_equal(rl_table_label(t), -1);
    rl_table_free(t);
}

static void test_zero_rows(void **state)
{
    (void)state;
    rl_table *t = gen(0, 1, 0.5);
    assert_int_equal(rl_table_nrows(t), 0);
    assert_int_equal(rl_table_ncols(t), 15);
    rl_table_free(t);
}

static void test_deterministic(void **state)
{
    (void)state;
    rl_table *a = gen(5000, 7, 0.3), *b = gen(5000, 7, 0.3);
    assert_same_tables(a, b);
    rl_table *other_seed = gen(5000, 8, 0.3), *other_shift = gen(5000, 7, 0.31);
    assert_true(fingerprint(a) == fingerprint(b));
    assert_true(fingerprint(a) != fingerprint(other_seed));
    assert_true(fingerprint(a) != fingerprint(other_shift));
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(other_seed);
    rl_table_free(other_shift);
}

/* The same (rows, seed, shift) must give these exact tables on every machine
 * and compiler. A deliberate change to the generator changes the data every
 * user and benchmark sees: update these values only then, and say so. */
static void test_fingerprint_is_stable(void **state)
{
    (void)state;
    rl_table *t0 = gen(2000, 42, 0.0), *t1 = gen(2000, 42, 1.0);
    uint64_t f0 = fingerprint(t0), f1 = fingerprint(t1);
    print_message("census fingerprints: 0x%016llxULL 0x%016llxULL\n", (unsigned long long)f0,
                  (unsigned long long)f1);
    assert_true(f0 == 0x5ff37cfae4ddaecdULL);
    assert_true(f1 == 0xec79fe61814daeadULL);
    rl_table_free(t0);
    rl_table_free(t1);
}

static void test_values_are_valid(void **state)
{
    (void)state;
    static const char *const EDU[16] = {
        "Preschool", "1st-4th", "5th-6th",     "7th-8th",      "9th",       "10th",
        "11th",      "12th",    "HS-grad",     "Some-college", "Assoc-voc", "Assoc-acdm",
        "Bachelors", "Masters", "Prof-school", "Doctorate",
    };
    rl_table *t = gen(50000, 3, 0.5);
    const rl_column *age = col(t, "age"), *fnl = col(t, "fnlwgt"), *edu = col(t, "education"),
                    *edunum = col(t, "education-num"), *hours = col(t, "hours-per-week"),
                    *gain = col(t, "capital-gain"), *loss = col(t, "capital-loss"),
                    *wc = col(t, "workclass"), *occ = col(t, "occupation"),
                    *country = col(t, "native-country");
    for (size_t i = 0; i < 50000; i++) {
        double a = age->num[i], h = hours->num[i], e = edunum->num[i];
        assert_true(a >= 17 && a <= 90 && a == floor(a));
        assert_true(h >= 1 && h <= 99 && h == floor(h));
        assert_true(fnl->num[i] >= 12285 && fnl->num[i] <= 1484705);
        assert_true(e >= 1 && e <= 16 && e == floor(e));
        assert_true(is(edu, i, EDU[(int)e - 1]));
        assert_true(gain->num[i] >= 0 && gain->num[i] <= 99999 && loss->num[i] >= 0);
        assert_false(gain->num[i] > 0 && loss->num[i] > 0);
        /* occupation is missing exactly with workclass, or for Never-worked */
        int occ_missing = str(occ, i) == NULL;
        assert_int_equal(occ_missing, str(wc, i) == NULL || is(wc, i, "Never-worked"));
    }
    /* Only the three Adult columns have missing values. */
    for (size_t j = 0; j < rl_table_ncols(t); j++) {
        const rl_column *c = rl_table_col(t, j);
        if (c == wc || c == occ || c == country) continue;
        assert_true(share_missing(c) == 0.0);
    }
    assert_int_equal(rl_levels_count(edu->levels), 16);
    assert_int_equal(rl_levels_count(col(t, "marital-status")->levels), 7);
    assert_int_equal(rl_levels_count(col(t, "relationship")->levels), 6);
    assert_int_equal(rl_levels_count(col(t, "race")->levels), 5);
    assert_int_equal(rl_levels_count(col(t, "sex")->levels), 2);
    assert_int_equal(rl_levels_count(col(t, "income")->levels), 2);
    assert_true(rl_levels_count(wc->levels) >= 7 && rl_levels_count(wc->levels) <= 8);
    assert_true(rl_levels_count(occ->levels) >= 13 && rl_levels_count(occ->levels) <= 14);
    assert_true(rl_levels_count(country->levels) >= 35 && rl_levels_count(country->levels) <= 41);
    for (size_t i = 0; i < 50000; i++) {
        assert_true(is(col(t, "sex"), i, "Male") || is(col(t, "sex"), i, "Female"));
        assert_true(is(col(t, "income"), i, ">50K") || is(col(t, "income"), i, "<=50K"));
    }
    rl_table_free(t);
}

#define assert_near(v, target, tol)                                                                \
    do {                                                                                           \
        double v_ = (v);                                                                           \
        if (fabs(v_ - (target)) > (tol))                                                           \
            fail_msg("%s = %g, expected %g +- %g", #v, v_, (double)(target), (double)(tol));       \
    } while (0)

/* The Adult training sample's rates, within sampling and modelling slack. */
static void test_rates_like_adult(void **state)
{
    (void)state;
    rl_table *t = gen(100000, 11, 0.0);
    assert_near(share_missing(col(t, "workclass")), 0.0564, 0.006);
    assert_near(share_missing(col(t, "occupation")), 0.0566, 0.006);
    assert_near(share_missing(col(t, "native-country")), 0.0179, 0.003);
    assert_near(share_of(col(t, "income"), ">50K"), 0.2408, 0.015);
    assert_near(share_of(col(t, "sex"), "Male"), 0.669, 0.015);
    assert_near(share_of(col(t, "native-country"), "United-States"), 0.896, 0.015);
    assert_near(share_of(col(t, "workclass"), "Private"), 0.697, 0.02);
    assert_near(share_of(col(t, "marital-status"), "Married-civ-spouse"), 0.46, 0.02);
    assert_near(share_of(col(t, "education"), "HS-grad"), 0.3225, 0.02);
    assert_near(share_of(col(t, "race"), "White"), 0.854, 0.01);
    assert_near(mean(col(t, "age")), 38.58, 1.0);
    assert_near(mean(col(t, "hours-per-week")), 40.44, 1.0);
    const rl_column *hours = col(t, "hours-per-week"), *gain = col(t, "capital-gain"),
                    *loss = col(t, "capital-loss");
    size_t at40 = 0, gains = 0, losses = 0;
    for (size_t i = 0; i < 100000; i++) {
        at40 += hours->num[i] == 40;
        gains += gain->num[i] > 0;
        losses += loss->num[i] > 0;
    }
    assert_near(at40 / 1e5, 0.467, 0.03);
    assert_near(gains / 1e5, 0.0833, 0.015);
    assert_near(losses / 1e5, 0.0467, 0.01);
    rl_table_free(t);
}

/* The label depends on the features as in the real data. */
static void test_label_depends_on_features(void **state)
{
    (void)state;
    rl_table *t = gen(100000, 5, 0.0);
    double married = rate_where(t, "marital-status", "Married-civ-spouse");
    double never = rate_where(t, "marital-status", "Never-married");
    assert_true(married > 0.35 && never < 0.1);
    assert_true(rate_where(t, "education", "Bachelors") >
                2 * rate_where(t, "education", "HS-grad"));
    assert_true(rate_where(t, "occupation", "Exec-managerial") >
                4 * rate_where(t, "occupation", "Other-service"));
    assert_true(rate_where(t, "sex", "Male") > 1.5 * rate_where(t, "sex", "Female"));
    /* a capital gain of 7,000 or more nearly always goes with ">50K" */
    const rl_column *gain = col(t, "capital-gain"), *y = col(t, "income");
    size_t big = 0, big_pos = 0;
    for (size_t i = 0; i < 100000; i++)
        if (gain->num[i] >= 7000) {
            big++;
            big_pos += is(y, i, ">50K");
        }
    assert_true(big > 1000);
    assert_true((double)big_pos / (double)big > 0.9);
    rl_table_free(t);
}

/* Shift moves the features and changes how the label depends on them. */
static void test_shift(void **state)
{
    (void)state;
    rl_table *a = gen(100000, 9, 0.0), *b = gen(100000, 9, 1.0);
    assert_true(mean(col(b, "age")) > mean(col(a, "age")) + 5);
    assert_true(mean(col(b, "hours-per-week")) > mean(col(a, "hours-per-week")) + 2);
    assert_true(share_of(col(b, "occupation"), "Tech-support") >
                2 * share_of(col(a, "occupation"), "Tech-support"));
    assert_true(share_of(col(b, "sex"), "Female") > share_of(col(a, "sex"), "Female") + 0.08);
    /* Tech-support pays less than Prof-specialty at shift 0, more at shift 1;
     * Sales falls behind Craft-repair. */
    assert_true(rate_where(a, "occupation", "Tech-support") <
                rate_where(a, "occupation", "Prof-specialty"));
    assert_true(rate_where(b, "occupation", "Tech-support") >
                rate_where(b, "occupation", "Prof-specialty"));
    assert_true(rate_where(a, "occupation", "Sales") > rate_where(a, "occupation", "Craft-repair"));
    assert_true(rate_where(b, "occupation", "Sales") < rate_where(b, "occupation", "Craft-repair"));
    /* and the label is still a minority class */
    double pos = share_of(col(b, "income"), ">50K");
    assert_true(pos > 0.15 && pos < 0.4);
    rl_table_free(a);
    rl_table_free(b);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const double bad[] = {-0.01, 1.01, NAN, INFINITY, -INFINITY};
    rl_table *t = NULL;
    rl_error err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rl_error_clear(&err);
        assert_int_equal(rl_census_generate(10, 1, bad[i], &t, &err), RL_EINVAL);
        assert_int_equal(err.code, RL_EINVAL);
        assert_non_null(strstr(err.msg, "shift"));
        assert_null(t);
    }
    assert_int_equal(rl_census_generate((size_t)2000000000, 1, 0, &t, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "rows"));
    assert_null(t);
    assert_int_equal(rl_census_generate(10, 1, 0, &t, NULL), RL_OK); /* err may be NULL */
    rl_table_free(t);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    rl_table *ok = gen(300, 4, 0.2);
    int succeeded = 0;
    for (long n = 0; n < 1000 && !succeeded; n++) {
        rl_table *t = NULL;
        rl_error err;
        rl_mem_fail_after(n);
        int rc = rl_census_generate(300, 4, 0.2, &t, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            assert_same_tables(t, ok);
            rl_table_free(t);
            succeeded = 1;
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_int_equal(err.code, RL_ENOMEM);
            assert_null(t);
        }
    }
    assert_true(succeeded);
    rl_table_free(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_zero_rows),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_fingerprint_is_stable),
        cmocka_unit_test(test_values_are_valid),
        cmocka_unit_test(test_rates_like_adult),
        cmocka_unit_test(test_label_depends_on_features),
        cmocka_unit_test(test_shift),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
