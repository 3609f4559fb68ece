/* test_evaluate.c - Evaluate Model (modules/evaluate.h): two-class,
 * multiclass and regression metrics checked against scikit-learn, AUC with
 * ties, ROC thinning, labels compared as text, errors and out-of-memory. */
#include "modules_fixtures.h"

#include "modules/evaluate.h"

#define PROB "Scored Probabilities"
#define LABELS "Scored Labels"

static double num(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_number(v)) fail_msg("\"%s\" is not a number", key);
    return json_number_value(v);
}

static void assert_near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol)) fail_msg("got %.17g, expected %.17g", got, want);
}

static json_t *eval_ok(const rl_table *t, const char *label)
{
    json_t *j = NULL;
    rl_error err;
    if (rl_evaluate(t, label, &j, &err)) fail_msg("evaluate: %s", err.msg);
    return j;
}

static void eval_fails(const rl_table *t, const char *label, int code, const char *want)
{
    json_t *j = (json_t *)&j;
    rl_error err;
    int rc = rl_evaluate(t, label, &j, &err);
    if (rc != code) fail_msg("got %d (%s), expected %d", rc, rc ? err.msg : "ok", code);
    assert_ptr_equal(j, (json_t *)&j);
    if (!strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
}

/* The tie-heavy two-class case: 20 rows, 5 distinct scores. Expected values
 * from scikit-learn 1.2 (Debian's /usr/bin/python3):
 *   roc_auc_score(y, p)                 0.72500000000000009
 *   log_loss(y, p, eps=1e-15)           0.64471947555401543
 *   confusion_matrix(y, p >= 0.5)       tn 6, fp 4, fn 2, tp 8
 *   accuracy, precision, recall, f1     0.7, 0.66666666666666663, 0.8,
 *                                       0.72727272727272718
 *   roc_curve(y, p, drop_intermediate=False)
 *     fpr 0 .1 .2 .4 .7 1, tpr 0 .3 .5 .8 .9 1, thr 1.9 .9 .7 .5 .3 .1 */
static const double tc_y[] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0};
static const double tc_p[] = {0.1, 0.9, 0.7, 0.3, 0.5, 0.5, 0.1, 0.9, 0.3, 0.7,
                              0.7, 0.1, 0.5, 0.3, 0.9, 0.5, 0.5, 0.1, 0.9, 0.3};

static rl_table *two_class_table(int labels_as_text)
{
    double yhat[20];
    const char *yhat_text[20];
    for (size_t i = 0; i < 20; i++) {
        yhat[i] = tc_p[i] >= 0.5;
        yhat_text[i] = tc_p[i] >= 0.5 ? "1" : "0";
    }
    rl_column *pred = labels_as_text ? fx_str(LABELS, yhat_text, 20, RL_COL_SCORE)
                                     : fx_num(LABELS, yhat, 20, RL_COL_SCORE);
    return fx_table(20, fx_num("y", tc_y, 20, RL_COL_LABEL), pred,
                    fx_num(PROB, tc_p, 20, RL_COL_SCORE), NULL);
}

static void check_two_class(const json_t *j)
{
    assert_string_equal(json_string_value(json_object_get(j, "Task")), "two-class");
    assert_int_equal(num(j, "Rows"), 20);
    assert_int_equal(num(j, "True Positive"), 8);
    assert_int_equal(num(j, "False Negative"), 2);
    assert_int_equal(num(j, "False Positive"), 4);
    assert_int_equal(num(j, "True Negative"), 6);
    assert_near(num(j, "Accuracy"), 0.69999999999999996, 1e-15);
    assert_near(num(j, "Precision"), 0.66666666666666663, 1e-15);
    assert_near(num(j, "Recall"), 0.80000000000000004, 1e-15);
    assert_near(num(j, "F-Score"), 0.72727272727272718, 1e-15);
    assert_near(num(j, "AUC"), 0.72500000000000009, 1e-14);
    assert_near(num(j, "Average Log Loss"), 0.64471947555401543, 1e-14);
    assert_true(num(j, "Threshold") == 0.5);
    assert_string_equal(json_string_value(json_object_get(j, "Positive Label")), "1");
    assert_string_equal(json_string_value(json_object_get(j, "Negative Label")), "0");
    static const double fpr[] = {0, .1, .2, .4, .7, 1}, tpr[] = {0, .3, .5, .8, .9, 1};
    static const double thr[] = {1.9, .9, .7, .5, .3, .1};
    const json_t *roc = json_object_get(j, "ROC");
    assert_int_equal(json_array_size(roc), 6);
    for (size_t i = 0; i < 6; i++) {
        const json_t *pt = json_array_get(roc, i);
        assert_near(num(pt, "False Positive Rate"), fpr[i], 1e-15);
        assert_near(num(pt, "True Positive Rate"), tpr[i], 1e-15);
        assert_near(num(pt, "Threshold"), thr[i], 1e-15);
    }
}

static void test_two_class(void **state)
{
    (void)state;
    rl_table *t = two_class_table(0);
    json_t *j = eval_ok(t, NULL);
    check_two_class(j);
    json_decref(j);
    j = eval_ok(t, "y"); /* by name */
    check_two_class(j);
    json_decref(j);
    rl_table_free(t);
    /* A numeric 0/1 label matches Scored Labels holding the text "0"/"1". */
    t = two_class_table(1);
    j = eval_ok(t, NULL);
    check_two_class(j);
    json_decref(j);
    /* Rows without a label are left out. */
    static const double extra[] = {NAN, NAN};
    rl_table *more = rl_table_new(22);
    for (size_t c = 0; c < rl_table_ncols(t); c++) {
        const rl_column *src = rl_table_col(t, c);
        rl_column *col = rl_column_new(src->name, src->type, 22);
        col->flags = src->flags;
        for (size_t i = 0; i < 22; i++) {
            if (src->type == RL_TYPE_STRING) {
                char buf[32];
                size_t len;
                const char *s = rl_column_text(src, i % 20, buf, &len);
                col->codes[i] = rl_levels_intern(col->levels, s, len);
            } else {
                col->num[i] = i < 20 ? src->num[i] : c == 0 ? extra[i - 20] : 0.99;
            }
        }
        assert_int_equal(rl_table_add(more, col, NULL), RL_OK);
    }
    j = eval_ok(more, NULL);
    check_two_class(j);
    json_decref(j);
    rl_table_free(more);
    rl_table_free(t);
}

/* AUC by counting pairs, the definition, for comparison. */
static double pairs_auc(const double *y, const double *p, size_t n)
{
    double wins = 0, npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 1)
            npos++;
        else
            nneg++;
        for (size_t k = 0; k < n; k++)
            if (y[i] == 1 && y[k] == 0) wins += p[i] > p[k] ? 1 : p[i] == p[k] ? 0.5 : 0;
    }
    return wins / (npos * nneg);
}

static void test_auc_and_roc(void **state)
{
    (void)state;
    /* Probabilities 0 and 1 are clipped in the log loss. scikit-learn 1.2:
     * log_loss([1,0,1,0,1], [1,0,0,1,.8], eps=1e-15) = 13.860299187713153,
     * roc_auc_score(same) = 0.49999999999999994. */
    static const double y[] = {1, 0, 1, 0, 1}, p[] = {1, 0, 0, 1, 0.8};
    rl_table *t =
        fx_table(5, fx_num("y", y, 5, RL_COL_LABEL), fx_num(PROB, p, 5, RL_COL_SCORE), NULL);
    json_t *j = eval_ok(t, NULL); /* no Scored Labels: the threshold decides */
    assert_near(num(j, "Average Log Loss"), 13.860299187713153, 1e-12);
    assert_near(num(j, "AUC"), 0.5, 1e-15);
    assert_int_equal(num(j, "True Positive"), 2);
    assert_int_equal(num(j, "False Positive"), 1);
    json_decref(j);
    rl_table_free(t);

    /* Many rows, heavy ties: the exact AUC equals pair counting; the ROC is
     * thinned to 1000 points from (0,0) to (1,1). */
    size_t n = 3000;
    double *yy = malloc(n * sizeof *yy), *pp = malloc(n * sizeof *pp), *sp = malloc(n * sizeof *sp);
    assert_non_null(yy);
    assert_non_null(pp);
    assert_non_null(sp);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pp[i] = (double)(x % 97) / 97;                           /* 97 distinct scores */
        yy[i] = ((x >> 20) % 100) < 30 + 50 * pp[i];             /* related to the score */
        sp[i] = (double)i / (double)n + 1.0 / (2.0 * (double)n); /* all distinct */
    }
    t = fx_table(n, fx_num("y", yy, n, RL_COL_LABEL), fx_num(PROB, pp, n, RL_COL_SCORE), NULL);
    j = eval_ok(t, NULL);
    assert_near(num(j, "AUC"), pairs_auc(yy, pp, n), 1e-12);
    assert_int_equal(json_array_size(json_object_get(j, "ROC")), 98);
    json_decref(j);
    rl_table_free(t);
    t = fx_table(n, fx_num("y", yy, n, RL_COL_LABEL), fx_num(PROB, sp, n, RL_COL_SCORE), NULL);
    j = eval_ok(t, NULL);
    assert_near(num(j, "AUC"), pairs_auc(yy, sp, n), 1e-12);
    const json_t *roc = json_object_get(j, "ROC");
    assert_int_equal(json_array_size(roc), 1000);
    const json_t *first = json_array_get(roc, 0), *last = json_array_get(roc, 999);
    assert_true(num(first, "False Positive Rate") == 0 && num(first, "True Positive Rate") == 0);
    assert_true(num(last, "False Positive Rate") == 1 && num(last, "True Positive Rate") == 1);
    for (size_t i = 1; i < 1000; i++) {
        const json_t *a = json_array_get(roc, i - 1), *b = json_array_get(roc, i);
        assert_true(num(a, "False Positive Rate") <= num(b, "False Positive Rate"));
        assert_true(num(a, "True Positive Rate") <= num(b, "True Positive Rate"));
        assert_true(num(a, "Threshold") > num(b, "Threshold"));
    }
    json_decref(j);
    rl_table_free(t);
    free(yy);
    free(pp);
    free(sp);
}

static void test_class_order(void **state)
{
    (void)state;
    /* Numeric classes sort numerically: 10 is positive, not 9. */
    static const double y[] = {9, 10, 10, 9}, p[] = {0.2, 0.8, 0.4, 0.6}, yhat[] = {9, 10, 9, 10};
    rl_table *t = fx_table(4, fx_num("y", y, 4, RL_COL_LABEL), fx_num(LABELS, yhat, 4, 0),
                           fx_num(PROB, p, 4, 0), NULL);
    json_t *j = eval_ok(t, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "Positive Label")), "10");
    assert_int_equal(num(j, "True Positive"), 1);
    assert_int_equal(num(j, "False Positive"), 1);
    assert_near(num(j, "AUC"), 0.75, 1e-15);
    json_decref(j);
    rl_table_free(t);
    /* Booleans: false before true; a boolean label matches text Scored Labels. */
    static const int b[] = {0, 1, 1, 0};
    static const char *const bt[] = {"false", "true", "false", "true"};
    t = fx_table(4, fx_bool("y", b, 4, RL_COL_LABEL), fx_str(LABELS, bt, 4, 0),
                 fx_num(PROB, p, 4, 0), NULL);
    j = eval_ok(t, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "Positive Label")), "true");
    assert_string_equal(json_string_value(json_object_get(j, "Negative Label")), "false");
    assert_int_equal(num(j, "True Positive"), 1);
    json_decref(j);
    rl_table_free(t);
    /* Text sorts bytewise: ">50K" is positive over "<=50K". */
    static const char *const inc[] = {"<=50K", ">50K", ">50K", "<=50K"};
    t = fx_table(4, fx_str("income", inc, 4, 0), fx_num(PROB, p, 4, 0), NULL);
    j = eval_ok(t, "income");
    assert_string_equal(json_string_value(json_object_get(j, "Positive Label")), ">50K");
    assert_near(num(j, "AUC"), 0.75, 1e-15);
    json_decref(j);
    rl_table_free(t);
}

/* Multiclass. scikit-learn 1.2 on yt, yp below, labels sorted a b c d:
 *   confusion_matrix   [[3,1,0,0],[0,2,1,0],[0,1,2,0],[1,1,0,0]]
 *   accuracy_score     0.58333333333333337 (= micro precision = micro recall)
 *   precision_score(average='macro', zero_division=0)  0.45416666666666661
 *   recall_score(average='macro', zero_division=0)     0.52083333333333326
 *   mean over classes of (TP + TN) / N (numpy)         0.79166666666666674 */
static const char *const mc_y[] = {"a", "b", "c", "a", "b", "c", "a", "d", "b", "c", "a", "d"};
static const char *const mc_p[] = {"a", "b", "b", "a", "c", "c", "b", "a", "b", "c", "a", "b"};

static rl_table *multiclass_table(int with_labels)
{
    static const char *const cls[] = {"a", "b", "c", "d"};
    rl_table *t = fx_table(12, fx_str("class", mc_y, 12, RL_COL_LABEL), NULL);
    if (with_labels) assert_int_equal(rl_table_add(t, fx_str(LABELS, mc_p, 12, 0), NULL), 0);
    for (size_t k = 0; k < 4; k++) {
        double p[12];
        for (size_t i = 0; i < 12; i++)
            p[i] = strcmp(mc_p[i], cls[k]) == 0 ? 0.7 : 0.1;
        char name[64];
        snprintf(name, sizeof name, "Scored Probabilities for Class \"%s\"", cls[k]);
        assert_int_equal(rl_table_add(t, fx_num(name, p, 12, RL_COL_SCORE), NULL), 0);
    }
    return t;
}

static void check_multiclass(const json_t *j)
{
    assert_string_equal(json_string_value(json_object_get(j, "Task")), "multiclass");
    assert_int_equal(num(j, "Rows"), 12);
    assert_near(num(j, "Overall accuracy"), 0.58333333333333337, 1e-15);
    assert_near(num(j, "Average accuracy"), 0.79166666666666674, 1e-15);
    assert_near(num(j, "Micro-averaged precision"), 0.58333333333333337, 1e-15);
    assert_near(num(j, "Micro-averaged recall"), 0.58333333333333337, 1e-15);
    assert_near(num(j, "Macro-averaged precision"), 0.45416666666666661, 1e-15);
    assert_near(num(j, "Macro-averaged recall"), 0.52083333333333326, 1e-15);
    const json_t *classes = json_object_get(j, "Classes"),
                 *cm = json_object_get(j, "Confusion Matrix");
    static const int want[4][4] = {{3, 1, 0, 0}, {0, 2, 1, 0}, {0, 1, 2, 0}, {1, 1, 0, 0}};
    assert_int_equal(json_array_size(classes), 4);
    for (size_t r = 0; r < 4; r++) {
        char name[2] = {(char)('a' + r), 0};
        assert_string_equal(json_string_value(json_array_get(classes, r)), name);
        for (size_t c = 0; c < 4; c++)
            assert_int_equal(json_integer_value(json_array_get(json_array_get(cm, r), c)),
                             want[r][c]);
    }
}

static void test_multiclass(void **state)
{
    (void)state;
    rl_table *t = multiclass_table(1);
    json_t *j = eval_ok(t, NULL);
    check_multiclass(j);
    json_decref(j);
    rl_table_free(t);
    t = multiclass_table(0); /* the highest probability is the prediction */
    j = eval_ok(t, NULL);
    check_multiclass(j);
    json_decref(j);
    rl_table_free(t);
}

/* Regression. scikit-learn 1.2 / numpy on y, p below:
 *   mean_absolute_error 0.4375, sqrt(mean_squared_error) 0.51112620750652182,
 *   r2_score 0.95751060964143231, RAE 0.2046783625730994, RSE 0.042489390358567747 */
static void test_regression(void **state)
{
    (void)state;
    static const double y[] = {3.0, -0.5, 2.0, 7.0, 4.2, 1.1, 0.0, 5.5, NAN};
    static const double p[] = {2.5, 0.0, 2.0, 8.0, 3.9, 1.5, -0.3, 5.0, 1.0};
    rl_table *t =
        fx_table(9, fx_num("y", y, 9, RL_COL_LABEL), fx_num(LABELS, p, 9, RL_COL_SCORE), NULL);
    json_t *j = eval_ok(t, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "Task")), "regression");
    assert_int_equal(num(j, "Rows"), 8);
    assert_near(num(j, "Mean Absolute Error"), 0.4375, 1e-15);
    assert_near(num(j, "Root Mean Squared Error"), 0.51112620750652182, 1e-15);
    assert_near(num(j, "Coefficient of Determination"), 0.95751060964143231, 1e-15);
    assert_near(num(j, "Relative Absolute Error"), 0.2046783625730994, 1e-15);
    assert_near(num(j, "Relative Squared Error"), 0.042489390358567747, 1e-15);
    json_decref(j);
    rl_table_free(t);
    /* A constant label: relative errors are not defined and come out null. */
    static const double c[] = {2, 2, 2}, q[] = {1, 2, 3};
    t = fx_table(3, fx_num("y", c, 3, RL_COL_LABEL), fx_num(LABELS, q, 3, 0), NULL);
    j = eval_ok(t, NULL);
    assert_true(json_is_null(json_object_get(j, "Relative Squared Error")));
    assert_true(json_is_null(json_object_get(j, "Coefficient of Determination")));
    assert_near(num(j, "Mean Absolute Error"), 2.0 / 3, 1e-15);
    json_decref(j);
    rl_table_free(t);
    /* A label of numbers read as text is converted; other text is an error. */
    static const char *const ys[] = {"1", "2", "4"};
    t = fx_table(3, fx_str("y", ys, 3, RL_COL_LABEL), fx_num(LABELS, q, 3, 0), NULL);
    j = eval_ok(t, NULL);
    assert_near(num(j, "Mean Absolute Error"), 1.0 / 3, 1e-15);
    json_decref(j);
    rl_table_free(t);
    static const char *const bad[] = {"1", "two", "4"};
    t = fx_table(3, fx_str("y", bad, 3, RL_COL_LABEL), fx_num(LABELS, q, 3, 0), NULL);
    eval_fails(t, NULL, RL_ESCHEMA, "numeric label");
    rl_table_free(t);
}

static void test_errors(void **state)
{
    (void)state;
    static const double y[] = {0, 1, 2}, p[] = {0.1, 0.9, 0.5}, none[] = {NAN, NAN, NAN};
    rl_table *t = fx_table(3, fx_num("y", y, 3, 0), fx_num(PROB, p, 3, 0), NULL);
    eval_fails(t, NULL, RL_ESCHEMA, "no label column");
    eval_fails(t, "Y", RL_ESCHEMA, "'Y'");
    eval_fails(t, "y", RL_ESCHEMA, "3 classes");
    rl_table_free(t);
    static const double one[] = {1, 1, 1};
    t = fx_table(3, fx_num("y", one, 3, 0), fx_num(PROB, p, 3, 0), NULL);
    eval_fails(t, "y", RL_ESCHEMA, "one class");
    rl_table_free(t);
    t = fx_table(3, fx_num("y", none, 3, RL_COL_LABEL), fx_num(PROB, p, 3, 0), NULL);
    eval_fails(t, NULL, RL_ESCHEMA, "no row");
    rl_table_free(t);
    t = fx_table(3, fx_num("y", y, 3, RL_COL_LABEL), fx_num("other", p, 3, 0), NULL);
    eval_fails(t, NULL, RL_ESCHEMA, "Score Model");
    rl_table_free(t);
    static const char *const s[] = {"a", "b", "c"};
    t = fx_table(3, fx_num("y", y, 3, RL_COL_LABEL), fx_str(PROB, s, 3, 0), NULL);
    eval_fails(t, NULL, RL_ESCHEMA, "numbers");
    rl_table_free(t);
    /* One class with its probabilities: AUC is undefined (null), counts still work. */
    static const double y2[] = {1, 1, 0}, l2[] = {1, 1, 1};
    t = fx_table(3, fx_num("y", y2, 3, RL_COL_LABEL), fx_num(LABELS, l2, 3, 0),
                 fx_num(PROB, p, 3, 0), NULL);
    json_t *j = eval_ok(t, NULL);
    assert_int_equal(num(j, "False Positive"), 1);
    assert_false(json_is_null(json_object_get(j, "AUC")));
    json_decref(j);
    rl_table_free(t);
    static const double y3[] = {1, 1, 1}, l3[] = {1, 0, 1};
    t = fx_table(3, fx_num("y", y3, 3, RL_COL_LABEL), fx_num(LABELS, l3, 3, 0),
                 fx_num(PROB, p, 3, 0), NULL);
    j = eval_ok(t, NULL);
    assert_true(json_is_null(json_object_get(j, "AUC")));
    assert_int_equal(json_array_size(json_object_get(j, "ROC")), 0);
    assert_int_equal(num(j, "False Negative"), 1);
    json_decref(j);
    rl_table_free(t);
}

static void test_compare(void **state)
{
    (void)state;
    rl_table *a = two_class_table(0), *b = multiclass_table(1);
    json_t *j = NULL;
    rl_error err;
    assert_int_equal(rl_evaluate_compare(a, b, NULL, &j, &err), RL_OK);
    check_two_class(json_object_get(j, "Scored dataset"));
    check_multiclass(json_object_get(j, "Scored dataset to compare"));
    json_decref(j);
    j = (json_t *)&j;
    assert_int_equal(rl_evaluate_compare(a, b, "y", &j, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "scored dataset to compare"));
    assert_ptr_equal(j, (json_t *)&j);
    rl_table_free(a);
    rl_table_free(b);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    rl_table *tables[3] = {two_class_table(1), multiclass_table(0), NULL};
    static const double p[] = {1, 2, 2};
    tables[2] = fx_table(3, fx_str("y", (const char *const[]){"1", "2", "3"}, 3, RL_COL_LABEL),
                         fx_num(LABELS, p, 3, 0), NULL);
    for (int i = 0; i < 3; i++) {
        long k;
        for (k = 0; k < 200; k++) {
            json_t *j = NULL;
            rl_error err;
            rl_mem_fail_after(k);
            int rc = rl_evaluate(tables[i], NULL, &j, &err);
            rl_mem_fail_reset();
            if (rc == RL_OK) {
                json_decref(j);
                break;
            }
            assert_int_equal(rc, RL_ENOMEM);
            assert_non_null(strstr(err.msg, "out of memory"));
        }
        assert_true(k > 0 && k < 200);
        rl_table_free(tables[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_class),   cmocka_unit_test(test_auc_and_roc),
        cmocka_unit_test(test_class_order), cmocka_unit_test(test_multiclass),
        cmocka_unit_test(test_regression),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_compare),     cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
