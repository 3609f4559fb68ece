/* test_model_load.c - rl_model_load on forged and damaged .ilearner files:
 * every finding of tests/fuzz/fuzz_model.c replayed forever, and the small
 * real models of its corpus loading, saving and loading again. */
#include "base/fs.h"
#include "base/mem.h"
#include "data/io.h"
#include "model/model.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#define CORPUS "tests/fuzz/corpus/model/"

static int load(const char *name, rl_model **m, rl_error *err)
{
    char path[256], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, CORPUS "%s", name);
    if (rl_file_read_all(path, &data, &len, err)) fail_msg("%s: %s", path, err->msg);
    int rc = rl_model_load(data, len, m, err);
    rl_free(data);
    return rc;
}

/* One row per input of the model's schema, values of each type. */
static void score_one_row(const rl_model *m)
{
    rl_table *t = rl_table_new(1), *out = NULL;
    assert_non_null(t);
    for (size_t i = 0; i < rl_model_ninputs(m); i++) {
        rl_column *c = rl_column_new(rl_model_input_name(m, i), rl_model_input_type(m, i), 1);
        assert_non_null(c);
        if (c->type == RL_TYPE_STRING)
            c->codes[0] = rl_levels_intern(c->levels, "a", 1);
        else
            c->num[0] = 1;
        assert_int_equal(rl_table_add(t, c, NULL), RL_OK);
    }
    rl_error err;
    int rc = rl_model_score(m, t, 0, &out, &err);
    if (rc) fail_msg("scoring: %s", err.msg);
    assert_int_equal(rl_table_nrows(out), 1);
    rl_table_free(out);
    rl_table_free(t);
}

static void test_real_models_load_save_score(void **state)
{
    (void)state;
    static const char *const names[] = {"bdt-binary.ilearner",     "bdt-multi.ilearner",
                                        "bdt-regression.ilearner", "forest-binary.ilearner",
                                        "forest-multi.ilearner",   "linreg.ilearner",
                                        "logreg-binary.ilearner",  "logreg-multi.ilearner",
                                        "svm-binary.ilearner",     "xgb-three-node-tree.ilearner"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        rl_model *m = NULL, *again = NULL;
        rl_error err;
        if (load(names[i], &m, &err)) fail_msg("%s: %s", names[i], err.msg);
        rl_buf b = RL_BUF_INIT;
        assert_int_equal(rl_model_save(m, &b, &err), RL_OK);
        assert_int_equal(rl_model_load(b.data, b.len, &again, &err), RL_OK);
        score_one_row(m);
        rl_buf_fini(&b);
        rl_model_unref(again);
        rl_model_unref(m);
    }
}

/* n rows for m's inputs: numbers and levels that vary from row to row, a
 * missing value now and then. */
static rl_table *varied_rows(const rl_model *m, size_t n)
{
    rl_table *t = rl_table_new(n);
    assert_non_null(t);
    for (size_t i = 0; i < rl_model_ninputs(m); i++) {
        rl_column *c = rl_column_new(rl_model_input_name(m, i), rl_model_input_type(m, i), n);
        assert_non_null(c);
        for (size_t r = 0; r < n; r++) {
            size_t v = (r * 2654435761u + i * 40503u) % 1000;
            if (c->type == RL_TYPE_STRING) {
                char level[8];
                int len = snprintf(level, sizeof level, "l%zu", v % 7);
                c->codes[r] = v % 97 == 0 ? -1 : rl_levels_intern(c->levels, level, (size_t)len);
            } else {
                c->num[r] = v % 89 == 0 ? NAN : (double)v / 10.0 - 20.0;
            }
        }
        assert_int_equal(rl_table_add(t, c, NULL), RL_OK);
    }
    return t;
}

/* Scoring shares blocks of rows between threads (one per core): a table of
 * many blocks scores exactly as its rows do in slices small enough for one
 * block on one thread, for a learner that threads itself and one that does
 * not. */
static void test_scoring_in_blocks_on_threads_is_exact(void **state)
{
    (void)state;
    static const char *const names[] = {"logreg-binary.ilearner", "bdt-binary.ilearner"};
    const size_t n = 70000, slice = 9000;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        rl_model *m = NULL;
        rl_error err;
        if (load(names[k], &m, &err)) fail_msg("%s: %s", names[k], err.msg);
        rl_table *t = varied_rows(m, n), *whole = NULL;
        if (rl_model_score(m, t, 0, &whole, &err)) fail_msg("%s: %s", names[k], err.msg);
        long p = rl_table_find(whole, "Scored Probabilities");
        assert_true(p >= 0);
        const double *got = rl_table_col(whole, (size_t)p)->num;
        size_t *rows = rl_malloc(slice * sizeof *rows);
        assert_non_null(rows);
        for (size_t first = 0; first < n; first += slice) {
            size_t cnt = n - first < slice ? n - first : slice;
            for (size_t r = 0; r < cnt; r++)
                rows[r] = first + r;
            rl_table *part = NULL, *scored = NULL;
            assert_int_equal(rl_table_take_rows(t, rows, cnt, &part, &err), RL_OK);
            if (rl_model_score(m, part, 0, &scored, &err)) fail_msg("%s", err.msg);
            const double *want = rl_table_col(scored, (size_t)p)->num;
            for (size_t r = 0; r < cnt; r++)
                if (memcmp(&want[r], &got[first + r], sizeof(double)) != 0)
                    fail_msg("%s: row %zu scored %.17g whole, %.17g in a slice", names[k],
                             first + r, got[first + r], want[r]);
            rl_table_free(part);
            rl_table_free(scored);
        }
        rl_free(rows);
        rl_table_free(whole);
        rl_table_free(t);
        rl_model_unref(m);
    }
}

/* A boolean label trains (its classes are named "false" and "true": naming
 * them read past "true", found by fuzz_experiment), scores as booleans and
 * survives save and load. */
static void test_boolean_label(void **state)
{
    (void)state;
    static const char csv[] = "x,flag\n1,false\n2,false\n3,true\n4,true\n5,false\n6,true\n";
    rl_read_opts o = {.format = RL_FMT_CSV, .source = "flags"};
    rl_table *t = NULL, *scored = NULL;
    rl_model *m = NULL, *again = NULL;
    rl_error err;
    assert_int_equal(rl_table_read_mem(csv, sizeof csv - 1, &o, &t, &err), RL_OK);
    rl_train_spec spec = {.kind = rl_learner_find("two-class-logistic-regression"),
                          .label = "flag"};
    if (rl_model_train(&spec, t, &m, &err)) fail_msg("%s", err.msg);
    rl_buf b = RL_BUF_INIT;
    assert_int_equal(rl_model_save(m, &b, &err), RL_OK);
    assert_non_null(memmem(b.data, b.len, "\"classes\":[\"false\",\"true\"]", 25));
    assert_int_equal(rl_model_load(b.data, b.len, &again, &err), RL_OK);
    if (rl_model_score(again, t, 0, &scored, &err)) fail_msg("%s", err.msg);
    long lab = rl_table_find(scored, "Scored Labels");
    assert_true(lab >= 0);
    assert_int_equal(rl_table_col(scored, (size_t)lab)->type, RL_TYPE_BOOLEAN);
    rl_buf_fini(&b);
    rl_table_free(scored);
    rl_table_free(t);
    rl_model_unref(again);
    rl_model_unref(m);
}

/* Models forged with valid checksums (anyone can compute them), each of
 * which XGBoost 1.7 did not survive: its UBJSON reader allocated what an
 * array count said (6 GiB), its model reader read tree_info past its end
 * when num_trees said more trees than there were (segfault) or indexed with
 * a parent outside the tree (segfault) (these three found by fuzz_model);
 * prediction read a feature far outside the row (segfault), followed a
 * child that is its own parent (endless loop), wrote the sums of tree group
 * -1 before its output (heap corruption), or followed a child far outside
 * the tree (these four made by hand from a real model). The refused-* ones
 * break the same rules without a crash seen (a tree group past the outputs,
 * two trees with one id). Each is now refused before XGBoost reads a byte. */
static void test_forged_xgboost_payloads_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *name, *says;
    } cases[] = {
        {"crash-xgb-ubj-6gib-array.ilearner", "(its UBJSON is malformed)"},
        {"crash-xgb-num-trees-beyond-trees.ilearner", "(its trees are malformed)"},
        {"crash-xgb-parent-out-of-range.ilearner", "(its trees are malformed)"},
        {"crash-xgb-split-feature-out-of-range.ilearner", "(its trees are malformed)"},
        {"crash-xgb-tree-cycle.ilearner", "(its trees are malformed)"},
        {"crash-xgb-tree-group-negative.ilearner", "(its trees are malformed)"},
        {"crash-xgb-child-out-of-range.ilearner", "(its trees are malformed)"},
        {"refused-xgb-tree-group-too-big.ilearner", "(its trees are malformed)"},
        {"refused-xgb-duplicate-tree-id.ilearner", "(its trees are malformed)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rl_model *m = NULL;
        rl_error err;
        int rc = load(cases[i].name, &m, &err);
        if (rc != RL_EFORMAT || !strstr(err.msg, "the XGBoost model is damaged") ||
            !strstr(err.msg, cases[i].says))
            fail_msg("%s: %d %s", cases[i].name, rc, err.msg);
        assert_null(m);
    }
}

/* The tree checks allocate: out of memory there is RL_ENOMEM, not damage. */
static void test_tree_check_out_of_memory(void **state)
{
    (void)state;
    char *data = NULL;
    size_t len = 0;
    rl_error err;
    assert_int_equal(rl_file_read_all(CORPUS "xgb-three-node-tree.ilearner", &data, &len, &err),
                     RL_OK);
    int loaded = 0, failed = 0;
    for (long n = 0; n < 400 && !loaded; n++) {
        rl_model *m = NULL;
        rl_mem_fail_after(n);
        int rc = rl_model_load(data, len, &m, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            loaded = 1;
            rl_model_unref(m);
        } else {
            if (rc != RL_ENOMEM) fail_msg("after %ld allocations: %d %s", n, rc, err.msg);
            failed++;
        }
    }
    assert_true(loaded && failed > 0);
    rl_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_models_load_save_score),
        cmocka_unit_test(test_scoring_in_blocks_on_threads_is_exact),
        cmocka_unit_test(test_boolean_label),
        cmocka_unit_test(test_forged_xgboost_payloads_are_refused),
        cmocka_unit_test(test_tree_check_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
