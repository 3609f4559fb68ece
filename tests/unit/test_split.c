/* test_split.c - Split Data (modules/split.h): sizes, determinism across
 * seeds, row order, stratified shares, the exact split an independent
 * implementation predicts, malformed params and out-of-memory. */
#include "modules_fixtures.h"

#include "modules/split.h"

/* A table of n rows with one column, id = 0..n-1. */
static rl_table *ids(size_t n)
{
    rl_table *t = rl_table_new(n);
    rl_column *id = rl_column_new("id", RL_TYPE_NUMERIC, n);
    assert_non_null(t);
    assert_non_null(id);
    for (size_t i = 0; i < n; i++)
        id->num[i] = (double)i;
    assert_int_equal(rl_table_add(t, id, NULL), RL_OK);
    return t;
}

static void split_ok(const rl_table *t, const char *params, rl_table **a, rl_table **b)
{
    json_t *p = params ? fx_json(params) : NULL;
    rl_error err;
    if (rl_split(t, p, a, b, &err)) fail_msg("%s: %s", params ? params : "(defaults)", err.msg);
    json_decref(p);
}

/* Both outputs hold every input row once, each in input order. */
static void assert_partition(const rl_table *a, const rl_table *b, size_t n)
{
    assert_int_equal(rl_table_nrows(a) + rl_table_nrows(b), n);
    unsigned char *seen = calloc(n ? n : 1, 1);
    assert_non_null(seen);
    const rl_table *parts[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        double prev = -1;
        for (size_t i = 0; i < rl_table_nrows(parts[k]); i++) {
            double v = fx_num_at(parts[k], "id", i);
            assert_true(v > prev);
            prev = v;
            assert_false(seen[(size_t)v]);
            seen[(size_t)v] = 1;
        }
    }
    free(seen);
}

static int same_rows(const rl_table *a, const rl_table *b)
{
    if (rl_table_nrows(a) != rl_table_nrows(b)) return 0;
    for (size_t i = 0; i < rl_table_nrows(a); i++)
        if (fx_num_at(a, "id", i) != fx_num_at(b, "id", i)) return 0;
    return 1;
}

static void test_sizes_and_order(void **state)
{
    (void)state;
    rl_table *t = ids(1001), *a, *b;
    split_ok(t, NULL, &a, &b);                /* half, randomized, seed 0 */
    assert_int_equal(rl_table_nrows(a), 501); /* round(500.5) */
    assert_partition(a, b, 1001);
    rl_table_free(a);
    rl_table_free(b);
    split_ok(t, "{\"fraction\": 0.25}", &a, &b);
    assert_int_equal(rl_table_nrows(a), 250);
    assert_partition(a, b, 1001);
    rl_table_free(a);
    rl_table_free(b);
    split_ok(t, "{\"fraction\": 0}", &a, &b);
    assert_int_equal(rl_table_nrows(a), 0);
    assert_int_equal(rl_table_ncols(a), 1);
    rl_table_free(a);
    rl_table_free(b);
    split_ok(t, "{\"fraction\": \"1\"}", &a, &b);
    assert_int_equal(rl_table_nrows(b), 0);
    rl_table_free(a);
    rl_table_free(b);
    /* Not randomized: the first rows. */
    split_ok(t, "{\"fraction\": 0.1, \"randomized-split\": false}", &a, &b);
    assert_int_equal(rl_table_nrows(a), 100);
    assert_true(fx_num_at(a, "id", 99) == 99 && fx_num_at(b, "id", 0) == 100);
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(t);
    /* An empty table splits into two empty ones. */
    t = ids(0);
    split_ok(t, NULL, &a, &b);
    assert_int_equal(rl_table_nrows(a) + rl_table_nrows(b), 0);
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(t);
}

static void test_determinism(void **state)
{
    (void)state;
    rl_table *t = ids(500), *a1, *b1, *a2, *b2;
    split_ok(t, "{\"random-seed\": 123}", &a1, &b1);
    split_ok(t, "{\"random-seed\": \"123\", \"fraction\": 0.5}", &a2, &b2);
    assert_true(same_rows(a1, a2) && same_rows(b1, b2));
    rl_table_free(a2);
    rl_table_free(b2);
    split_ok(t, "{\"random-seed\": 124}", &a2, &b2);
    assert_int_equal(rl_table_nrows(a1), rl_table_nrows(a2));
    assert_false(same_rows(a1, a2));
    rl_table_free(a2);
    rl_table_free(b2);
    /* Randomized means not simply the first rows. */
    split_ok(t, "{\"random-seed\": 123, \"randomized-split\": false}", &a2, &b2);
    assert_false(same_rows(a1, a2));
    rl_table_free(a2);
    rl_table_free(b2);
    rl_table_free(a1);
    rl_table_free(b1);
    rl_table_free(t);
}

/* The rows an independent Python implementation of the documented algorithm
 * (xoshiro256** seeded by splitmix64 as base/rng.c describes, Fisher-Yates
 * from the last index down with j = below(i + 1), the first
 * floor(fraction * n + 0.5) rows per stratum in order of first appearance)
 * puts in the first output: same seed, same split, on every machine. */
static void test_exact_split(void **state)
{
    (void)state;
    rl_table *t = ids(10), *a, *b;
    split_ok(t, "{\"fraction\": 0.3, \"random-seed\": 42}", &a, &b);
    static const double want1[] = {3, 7, 8};
    assert_int_equal(rl_table_nrows(a), 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(fx_num_at(a, "id", i) == want1[i]);
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(t);

    t = ids(20);
    split_ok(t, "{\"random-seed\": 7}", &a, &b);
    static const double want2[] = {1, 3, 5, 7, 9, 10, 13, 16, 18, 19};
    assert_int_equal(rl_table_nrows(a), 10);
    for (size_t i = 0; i < 10; i++)
        assert_true(fx_num_at(a, "id", i) == want2[i]);
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(t);

    static const char *const keys[] = {"a", "b", NULL, "a", "b", "a",
                                       "c", "a", NULL, "b", "a", "c"};
    t = ids(12);
    assert_int_equal(rl_table_add(t, fx_str("key", keys, 12, 0), NULL), RL_OK);
    split_ok(t,
             "{\"random-seed\": 2024, \"stratified-split\": true, "
             "\"stratification-key-column\": \"key\"}",
             &a, &b);
    static const double want3[] = {0, 4, 5, 8, 9, 10, 11};
    assert_int_equal(rl_table_nrows(a), 7);
    for (size_t i = 0; i < 7; i++)
        assert_true(fx_num_at(a, "id", i) == want3[i]);
    /* The string column keeps its whole dictionary in both outputs. */
    assert_int_equal(rl_levels_count(fx_col(b, "key")->levels), 3);
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(t);
}

static void test_stratified_shares(void **state)
{
    (void)state;
    /* 1000 rows: a numeric key with 100 ones, 300 twos, 600 threes; missing
     * every 50th row (20 rows, their own stratum). */
    size_t n = 1000;
    rl_table *t = ids(n), *a, *b;
    rl_column *key = rl_column_new("key", RL_TYPE_NUMERIC, n);
    assert_non_null(key);
    for (size_t i = 0; i < n; i++) {
        size_t r = (i * 7919) % n; /* scatter the values */
        key->num[i] = r < 100 ? 1 : r < 400 ? 2 : 3;
        if (i % 50 == 0) key->num[i] = NAN;
    }
    size_t total[4] = {0}; /* [0] missing */
    for (size_t i = 0; i < n; i++)
        total[isnan(key->num[i]) ? 0 : (size_t)key->num[i]]++;
    assert_int_equal(rl_table_add(t, key, NULL), RL_OK);
    for (uint64_t seed = 0; seed < 5; seed++) {
        char params[200];
        snprintf(params, sizeof params,
                 "{\"fraction\": 0.7, \"stratified-split\": true, \"random-seed\": %llu, "
                 "\"stratification-key-column\": \"key\"}",
                 (unsigned long long)seed);
        split_ok(t, params, &a, &b);
        assert_partition(a, b, n);
        size_t got[4] = {0};
        for (size_t i = 0; i < rl_table_nrows(a); i++) {
            double v = fx_num_at(a, "key", i);
            got[isnan(v) ? 0 : (size_t)v]++;
        }
        for (int k = 0; k < 4; k++)
            assert_int_equal(got[k], (size_t)floor(0.7 * (double)total[k] + 0.5));
        rl_table_free(a);
        rl_table_free(b);
    }
    rl_table_free(t);
}

static void split_fails(const rl_table *t, const char *params, int code, size_t lines,
                        const char *want)
{
    json_t *p = fx_json(params);
    rl_table *a = (rl_table *)&a, *b = (rl_table *)&b;
    rl_error err;
    int rc = rl_split(t, p, &a, &b, &err);
    if (rc != code) fail_msg("%s: got %d, expected %d", params, rc, code);
    assert_ptr_equal(a, (rl_table *)&a);
    assert_ptr_equal(b, (rl_table *)&b);
    if (fx_lines(err.msg) != lines)
        fail_msg("%s: %zu lines:\n%s", params, fx_lines(err.msg), err.msg);
    if (!strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
    assert_int_equal(rl_split_check(p, &err), code == RL_ESCHEMA ? RL_OK : code);
    json_decref(p);
}

static void test_malformed(void **state)
{
    (void)state;
    rl_table *t = ids(10);
    split_fails(t, "{\"fraction\": 1.5}", RL_EINVAL, 1, "between 0 and 1");
    split_fails(t, "{\"fraction\": \"half\"}", RL_EINVAL, 1, "fraction");
    split_fails(t, "{\"random-seed\": -3}", RL_EINVAL, 1, "random-seed");
    split_fails(t, "{\"random-seed\": 1.5}", RL_EINVAL, 1, "random-seed");
    split_fails(t, "{\"randomized-split\": 1}", RL_EINVAL, 1, "true or false");
    split_fails(t, "{\"stratified-split\": true}", RL_EINVAL, 1, "stratification-key-column");
    split_fails(t,
                "{\"splitting-mode\": \"regex\", \"fraction\": -1, \"stratified-split\": "
                "\"yes\"}",
                RL_EINVAL, 3, "splitting-mode");
    split_fails(t, "[0.5]", RL_EINVAL, 1, "object");
    split_fails(t, "{\"stratified-split\": true, \"stratification-key-column\": \"idd\"}",
                RL_ESCHEMA, 1, "'idd'");
    rl_error err;
    assert_int_equal(rl_split_check(NULL, &err), RL_OK);
    rl_table_free(t);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    static const char *const keys[] = {"x", "y", NULL, "x", "z", "y"};
    rl_table *t = ids(6);
    assert_int_equal(rl_table_add(t, fx_str("key", keys, 6, 0), NULL), RL_OK);
    json_t *p = fx_json("{\"stratified-split\": true, \"stratification-key-column\": \"key\"}");
    long k;
    for (k = 0; k < 200; k++) {
        rl_table *a = NULL, *b = NULL;
        rl_error err;
        rl_mem_fail_after(k);
        int rc = rl_split(t, p, &a, &b, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            assert_partition(a, b, 6);
            rl_table_free(a);
            rl_table_free(b);
            break;
        }
        assert_int_equal(rc, RL_ENOMEM);
        assert_non_null(strstr(err.msg, "out of memory"));
    }
    assert_true(k > 5 && k < 200);
    json_decref(p);
    rl_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_order), cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_exact_split),     cmocka_unit_test(test_stratified_shares),
        cmocka_unit_test(test_malformed),       cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
