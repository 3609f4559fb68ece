/* test_columns.c - the column selector (modules/columns.h): "all", name lists,
 * type rules, include/exclude, unknown names, malformed selectors, and
 * out-of-memory. */
#include "modules_fixtures.h"

#include "modules/columns.h"
#include "modules/transform_impl.h"

/* age (numeric), name (string, categorical), ok (boolean), income (numeric label),
 * Scored Labels (numeric score). */
static rl_table *sample(void)
{
    static const double age[] = {30, 40, NAN};
    static const char *const name[] = {"a", NULL, "c"};
    static const int ok[] = {1, 0, -1};
    static const double income[] = {1, 0, 1};
    return fx_table(3, fx_num("age", age, 3, 0), fx_str("name", name, 3, RL_COL_CATEGORICAL),
                    fx_bool("ok", ok, 3, 0), fx_num("income", income, 3, RL_COL_LABEL),
                    fx_num("Scored Labels", income, 3, RL_COL_SCORE), NULL);
}

/* Selects with sel (JSON text) and compares the names, in order, to want
 * (comma-separated); ordered uses rl_columns_select_ordered. */
static void expect(const rl_table *t, const char *sel, int ordered, const char *want)
{
    json_t *j = fx_json(sel);
    size_t *idx = NULL, n = 0;
    rl_error err;
    int rc = ordered ? rl_columns_select_ordered(j, t, &idx, &n, &err)
                     : rl_columns_select(j, t, &idx, &n, &err);
    if (rc) fail_msg("%s: %s", sel, err.msg);
    char got[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? "," : "",
                                rl_table_col(t, idx[i])->name);
    if (strcmp(got, want) != 0) fail_msg("%s selected '%s', expected '%s'", sel, got, want);
    rl_free(idx);
    json_decref(j);
}

static void test_all_and_names(void **state)
{
    (void)state;
    rl_table *t = sample();
    expect(t, "\"all\"", 0, "age,name,ok,income,Scored Labels");
    expect(t, "\"ALL\"", 0, "age,name,ok,income,Scored Labels");
    /* A list: table order from rl_columns_select, list order when ordered. */
    expect(t, "[\"income\", \"age\"]", 0, "age,income");
    expect(t, "[\"income\", \"age\"]", 1, "income,age");
    /* Rules keep table order even when ordered. */
    expect(t, "{\"include\": [\"income\", \"age\"]}", 1, "age,income");
    rl_table_free(t);
}

static void test_types(void **state)
{
    (void)state;
    rl_table *t = sample();
    expect(t, "{\"types\": [\"numeric\"]}", 0, "age,income,Scored Labels");
    expect(t, "{\"types\": [\"numeric\", \"feature\"]}", 0, "age");
    expect(t, "{\"types\": [\"string\"]}", 0, "name");
    expect(t, "{\"types\": [\"categorical\"]}", 0, "name");
    expect(t, "{\"types\": [\"boolean\", \"string\"]}", 0, "name,ok");
    expect(t, "{\"types\": [\"label\"]}", 0, "income");
    expect(t, "{\"types\": [\"feature\"]}", 0, "age,name,ok");
    expect(t, "{\"types\": [\"numeric\", \"label\"]}", 0, "income");
    expect(t, "{\"types\": [\"string\"], \"include\": [\"age\"]}", 0, "age,name");
    expect(t, "{\"all\": true, \"exclude\": [\"name\", \"Scored Labels\"]}", 0, "age,ok,income");
    expect(t, "{\"types\": [\"numeric\"], \"exclude\": [\"age\", \"income\", \"Scored Labels\"]}",
           0, "");
    rl_table_free(t);
}

static void test_unknown_names(void **state)
{
    (void)state;
    rl_table *t = sample();
    json_t *j = fx_json("{\"include\": [\"Age\", \"nope\"], \"exclude\": [\"gone\"]}");
    size_t *idx = (size_t *)&idx, n = 99; /* must stay untouched */
    rl_error err;
    assert_int_equal(rl_columns_select(j, t, &idx, &n, &err), RL_ESCHEMA);
    assert_ptr_equal(idx, (size_t *)&idx);
    assert_int_equal(n, 99);
    assert_non_null(strstr(err.msg, "'Age'"));
    assert_non_null(strstr(err.msg, "did you mean 'age'"));
    assert_non_null(strstr(err.msg, "'nope'"));
    assert_non_null(strstr(err.msg, "'gone'"));
    assert_non_null(strstr(err.msg, "columns are: age, name, ok, income, Scored Labels"));
    assert_int_equal(fx_lines(err.msg), 4);
    json_decref(j);
    rl_table_free(t);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"age\"",
                                      "[]",
                                      "[1]",
                                      "[\"a\", \"a\"]",
                                      "[\"\"]",
                                      "{\"types\": [\"bogus\"]}",
                                      "{\"types\": []}",
                                      "{\"types\": \"numeric\"}",
                                      "{\"foo\": 1, \"all\": true}",
                                      "{}",
                                      "{\"all\": false}",
                                      "{\"all\": 1}",
                                      "{\"include\": \"age\"}",
                                      "42",
                                      "null",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        json_t *j = fx_json(bad[i]);
        rl_error err;
        if (rl_columns_check(j, &err) != RL_EINVAL) fail_msg("accepted %s", bad[i]);
        assert_true(strlen(err.msg) > 10);
        json_decref(j);
    }
    /* Every problem is listed, one per line. */
    json_t *j = fx_json("{\"types\": [\"bogus\", \"numeric\", 7], \"include\": [\"x\", \"x\"], "
                        "\"what\": 1}");
    rl_error err;
    assert_int_equal(rl_columns_check(j, &err), RL_EINVAL);
    assert_int_equal(fx_lines(err.msg), 4);
    assert_non_null(strstr(err.msg, "'bogus'"));
    assert_non_null(strstr(err.msg, "listed twice"));
    assert_non_null(strstr(err.msg, "\"what\""));
    json_decref(j);
    /* A selector that fails the check fails the selection the same way. */
    rl_table *t = sample();
    size_t *idx, n;
    j = fx_json("[]");
    assert_int_equal(rl_columns_select(j, t, &idx, &n, &err), RL_EINVAL);
    json_decref(j);
    rl_table_free(t);
    const char *good[] = {"\"all\"",
                          "[\"a\"]",
                          "{\"all\": true}",
                          "{\"types\": [\"Numeric\"]}",
                          "{\"include\": [\"a\"], \"exclude\": []}",
                          NULL};
    for (size_t i = 0; good[i]; i++) {
        j = fx_json(good[i]);
        if (rl_columns_check(j, &err)) fail_msg("refused %s: %s", good[i], err.msg);
        json_decref(j);
    }
}

static void test_empty_table(void **state)
{
    (void)state;
    rl_table *t = rl_table_new(0);
    expect(t, "\"all\"", 0, "");
    json_t *j = fx_json("[\"x\"]");
    size_t *idx, n;
    rl_error err;
    assert_int_equal(rl_columns_select(j, t, &idx, &n, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "(none)"));
    json_decref(j);
    rl_table_free(t);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    rl_table *t = sample();
    json_t *j = fx_json("{\"types\": [\"numeric\"], \"exclude\": [\"income\"]}");
    int ok = 0;
    for (long k = 0; k < 10; k++) {
        size_t *idx = NULL, n = 0;
        rl_error err;
        rl_mem_fail_after(k);
        int rc = rl_columns_select(j, t, &idx, &n, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            assert_int_equal(n, 2);
            rl_free(idx);
            ok = 1;
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_non_null(strstr(err.msg, "out of memory"));
        }
    }
    assert_true(ok);
    json_decref(j);
    rl_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_and_names), cmocka_unit_test(test_types),
        cmocka_unit_test(test_unknown_names), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_empty_table),   cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
