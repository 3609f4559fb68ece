/* evaluate.c - Evaluate Model: the metrics of a scored dataset.
 *
 * The task is read from Score Model's columns (evaluate.h). Labels are
 * compared as text (rl_column_text), so a numeric 0/1 label matches a Scored
 * Labels column of 0/1 or of "0"/"1". Rows whose label is missing, or whose
 * score is missing, are left out.
 *
 * Two-class: the confusion counts and Accuracy compare Scored Labels with the
 * label (without a Scored Labels column, Scored Probabilities >= 0.5 is the
 * positive prediction); Precision, Recall and F-Score are those of the
 * positive class at threshold 0.5 on Scored Probabilities (the two agree for
 * relearn's models). AUC is exact (Mann-Whitney with average ranks for ties,
 * equal to the trapezoids under the ROC); "ROC" holds a point per distinct
 * score, from (0,0) (threshold: the highest score + 1, as scikit-learn) to
 * (1,1), thinned evenly to at most 1000 points keeping both ends. Average Log
 * Loss clips probabilities to [1e-15, 1 - 1e-15]. When the rows hold one
 * class only, AUC is null and ROC empty.
 * Multiclass: the classes are those of the labels and the predictions (as
 * scikit-learn's unique_labels); a class never predicted has precision 0, one
 * never present recall 0.
 * Regression: RAE = sum|y-p| / sum|y-mean(y)|, RSE = sum(y-p)^2 /
 * sum(y-mean(y))^2, R^2 = 1 - RSE; a metric that is not finite (a constant
 * label) is null.
 *
 * Thread safety: reentrant.
 */
#include "modules/evaluate.h"
#include "base/mem.h"
#include "modules/transform_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODULE "Evaluate Model"
#define SCORED_LABELS "Scored Labels"
#define SCORED_PROB "Scored Probabilities"
#define CLASS_PROB_PREFIX "Scored Probabilities for Class \""
#define ROC_MAX_POINTS 1000

/* A metric: a number, or null when it is not finite. */
static json_t *metric(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* ---- classes ---- */

typedef struct class_key {
    const char *s;
    size_t len;
    int32_t code;
} class_key;

static int cmp_class(const void *a, const void *b)
{
    const class_key *x = a, *y = b;
    return rl_class_compare(x->s, x->len, y->s, y->len);
}

/* The classes of a classification: interned texts and their sorted order. */
typedef struct classes {
    rl_levels *lv;
    size_t n;
    int32_t *rank;    /* code -> position in sorted order */
    int32_t *by_rank; /* position -> code */
} classes;

static void classes_fini(classes *c)
{
    rl_levels_free(c->lv);
    rl_free(c->rank);
    rl_free(c->by_rank);
}

/* Sorts the interned classes; RL_ENOMEM. */
static int classes_sort(classes *c)
{
    c->n = rl_levels_count(c->lv);
    class_key *k = rl_malloc((c->n ? c->n : 1) * sizeof *k);
    c->rank = rl_malloc((c->n ? c->n : 1) * sizeof *c->rank);
    c->by_rank = rl_malloc((c->n ? c->n : 1) * sizeof *c->by_rank);
    if (!k || !c->rank || !c->by_rank) {
        rl_free(k);
        return RL_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        k[i].code = (int32_t)i;
        k[i].s = rl_levels_get(c->lv, (int32_t)i);
        k[i].len = rl_levels_len(c->lv, (int32_t)i);
    }
    qsort(k, c->n, sizeof *k, cmp_class);
    for (size_t i = 0; i < c->n; i++) {
        c->rank[k[i].code] = (int32_t)i;
        c->by_rank[i] = k[i].code;
    }
    rl_free(k);
    return RL_OK;
}

static const char *class_name(const classes *c, size_t rank)
{
    return rl_levels_get(c->lv, c->by_rank[rank]);
}

/* Interns row i of col into c; returns the code or a negative RL_ENOMEM. */
static int32_t intern_row(classes *c, const rl_column *col, size_t i)
{
    char buf[32];
    size_t len;
    const char *s = rl_column_text(col, i, buf, &len);
    return rl_levels_intern(c->lv, s, len);
}

/* ---- two-class ---- */

typedef struct scored_row {
    double p;
    int y;
} scored_row;

static int cmp_score(const void *a, const void *b)
{
    double x = ((const scored_row *)a)->p, y = ((const scored_row *)b)->p;
    return (x > y) - (x < y);
}

/* AUC and the ROC curve of n rows (sorted here by score, ascending). */
static int roc_auc(scored_row *r, size_t n, size_t npos, size_t nneg, json_t *out)
{
    qsort(r, n, sizeof *r, cmp_score);
    if (npos == 0 || nneg == 0) {
        if (rl_json_set(out, "AUC", json_null()) || rl_json_set(out, "ROC", json_array()))
            return RL_ENOMEM;
        return RL_OK;
    }
    /* Mann-Whitney: the positives' ranks, ties sharing their average rank. */
    double ranksum = 0;
    size_t ndistinct = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, pos = 0;
        while (j < n && r[j].p == r[i].p)
            j++;
        for (size_t k = i; k < j; k++)
            pos += (size_t)r[k].y;
        ranksum += (double)pos * ((double)(i + 1) + (double)j) / 2.0;
        ndistinct++;
        i = j;
    }
    double auc =
        (ranksum - (double)npos * ((double)npos + 1) / 2.0) / ((double)npos * (double)nneg);

    /* The curve: one point per distinct score, highest first, after (0,0). */
    size_t m = ndistinct + 1;
    double *fpr = rl_malloc(m * sizeof *fpr), *tpr = rl_malloc(m * sizeof *tpr);
    double *thr = rl_malloc(m * sizeof *thr);
    json_t *roc = json_array();
    int rc = RL_ENOMEM;
    if (!fpr || !tpr || !thr || !roc) goto done;
    fpr[0] = tpr[0] = 0;
    thr[0] = r[n - 1].p + 1;
    size_t tp = 0, fp = 0, k = 1;
    for (size_t i = n; i > 0;) {
        size_t j = i - 1;
        while (j > 0 && r[j - 1].p == r[i - 1].p)
            j--;
        for (size_t q = j; q < i; q++) {
            if (r[q].y)
                tp++;
            else
                fp++;
        }
        fpr[k] = (double)fp / (double)nneg;
        tpr[k] = (double)tp / (double)npos;
        thr[k] = r[i - 1].p;
        k++;
        i = j;
    }
    size_t keep = m > ROC_MAX_POINTS ? ROC_MAX_POINTS : m;
    for (size_t q = 0; q < keep; q++) {
        size_t at =
            keep == m ? q : (size_t)llround((double)q * (double)(m - 1) / (double)(keep - 1));
        json_t *pt = json_object();
        if (json_array_append_new(roc, pt) ||
            rl_json_set(pt, "False Positive Rate", json_real(fpr[at])) ||
            rl_json_set(pt, "True Positive Rate", json_real(tpr[at])) ||
            rl_json_set(pt, "Threshold", metric(thr[at])))
            goto done;
    }
    if (rl_json_set(out, "AUC", json_real(auc))) goto done;
    rc = rl_json_set(out, "ROC", roc) ? RL_ENOMEM : RL_OK;
    roc = NULL;
done:
    json_decref(roc);
    rl_free(fpr);
    rl_free(tpr);
    rl_free(thr);
    return rc;
}

static int eval_two_class(const rl_table *t, const rl_column *label, const rl_column *prob,
                          const rl_column *pred, json_t *out, rl_error *err)
{
    size_t n = rl_table_nrows(t), used = 0;
    classes cl = {0};
    int32_t *ly = rl_malloc((n ? n : 1) * sizeof *ly), *lp = rl_malloc((n ? n : 1) * sizeof *lp);
    scored_row *rows = rl_malloc((n ? n : 1) * sizeof *rows);
    int rc = RL_OK;
    if (!(cl.lv = rl_levels_new()) || !ly || !lp || !rows) goto oom;
    for (size_t i = 0; i < n; i++) {
        if (rl_column_is_missing(label, i) || isnan(prob->num[i])) continue;
        if ((ly[used] = intern_row(&cl, label, i)) < 0) goto oom;
        lp[used] = -1; /* predicted by the threshold */
        if (pred && !rl_column_is_missing(pred, i) && (lp[used] = intern_row(&cl, pred, i)) < 0)
            goto oom;
        rows[used].p = prob->num[i];
        used++;
    }
    if (used == 0) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": no row has both a label ('%s') and a score; evaluate scored "
                                 "data that has its labels",
                          label->name);
        goto fail;
    }
    if (classes_sort(&cl)) goto oom;
    if (cl.n != 2) {
        if (cl.n > 2)
            rc = rl_error_set(err, RL_ESCHEMA,
                              MODULE ": the scores are two-class, but label '%s' and the "
                                     "Scored Labels hold %zu classes ('%s', '%s', '%s'%s); "
                                     "evaluate with the label the model was trained on",
                              label->name, cl.n, class_name(&cl, 0), class_name(&cl, 1),
                              class_name(&cl, 2), cl.n > 3 ? ", ..." : "");
        else
            rc = rl_error_set(err, RL_ESCHEMA,
                              MODULE ": label '%s' and the Scored Labels hold one class only "
                                     "('%s'), so neither can be told positive; evaluate on rows "
                                     "of both classes",
                              label->name, class_name(&cl, 0));
        goto fail;
    }
    int32_t pos = cl.by_rank[1];
    size_t tp = 0, fn = 0, fp = 0, tn = 0, ttp = 0, tfp = 0, tfn = 0, npos = 0;
    double loss = 0;
    for (size_t i = 0; i < used; i++) {
        int y = ly[i] == pos, at = rows[i].p >= 0.5;
        int yhat = lp[i] >= 0 ? lp[i] == pos : at;
        rows[i].y = y;
        npos += (size_t)y;
        tp += (size_t)(y && yhat);
        fn += (size_t)(y && !yhat);
        fp += (size_t)(!y && yhat);
        tn += (size_t)(!y && !yhat);
        ttp += (size_t)(y && at);
        tfp += (size_t)(!y && at);
        tfn += (size_t)(y && !at);
        double p = rows[i].p < 1e-15 ? 1e-15 : rows[i].p > 1 - 1e-15 ? 1 - 1e-15 : rows[i].p;
        loss -= y ? log(p) : log(1 - p);
    }
    double precision = ttp + tfp ? (double)ttp / (double)(ttp + tfp) : 0;
    double recall = ttp + tfn ? (double)ttp / (double)(ttp + tfn) : 0;
    double f = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    if (rl_json_set(out, "Task", json_string("two-class")) ||
        rl_json_set(out, "Rows", json_integer((json_int_t)used)) ||
        rl_json_set(out, "True Positive", json_integer((json_int_t)tp)) ||
        rl_json_set(out, "False Negative", json_integer((json_int_t)fn)) ||
        rl_json_set(out, "False Positive", json_integer((json_int_t)fp)) ||
        rl_json_set(out, "True Negative", json_integer((json_int_t)tn)) ||
        rl_json_set(out, "Accuracy", metric((double)(tp + tn) / (double)used)) ||
        rl_json_set(out, "Precision", metric(precision)) ||
        rl_json_set(out, "Recall", metric(recall)) || rl_json_set(out, "F-Score", metric(f)) ||
        rl_json_set(out, "Average Log Loss", metric(loss / (double)used)) ||
        rl_json_set(out, "Threshold", json_real(0.5)) ||
        rl_json_set(out, "Positive Label", json_string(class_name(&cl, 1))) ||
        rl_json_set(out, "Negative Label", json_string(class_name(&cl, 0))) ||
        roc_auc(rows, used, npos, used - npos, out))
        goto oom;
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
done:
    classes_fini(&cl);
    rl_free(ly);
    rl_free(lp);
    rl_free(rows);
    return rc;
}

/* ---- multiclass ---- */

static int eval_multiclass(const rl_table *t, const rl_column *label, const rl_column *pred,
                           const size_t *probs, size_t nprobs, json_t *out, rl_error *err)
{
    size_t n = rl_table_nrows(t), used = 0;
    classes cl = {0};
    int32_t *ly = rl_malloc((n ? n : 1) * sizeof *ly), *lp = rl_malloc((n ? n : 1) * sizeof *lp);
    size_t *cm = NULL;
    json_t *names = NULL, *matrix = NULL;
    int rc = RL_OK;
    if (!(cl.lv = rl_levels_new()) || !ly || !lp) goto oom;
    for (size_t i = 0; i < n; i++) {
        if (rl_column_is_missing(label, i)) continue;
        if (pred) {
            if (rl_column_is_missing(pred, i)) continue;
            if ((lp[used] = intern_row(&cl, pred, i)) < 0) goto oom;
        } else {
            /* No Scored Labels: the class of the highest probability. */
            size_t best = nprobs;
            for (size_t k = 0; k < nprobs; k++) {
                double v = rl_table_col(t, probs[k])->num[i];
                if (!isnan(v) && (best == nprobs || v > rl_table_col(t, probs[best])->num[i]))
                    best = k;
            }
            if (best == nprobs) continue;
            const char *name = rl_table_col(t, probs[best])->name + strlen(CLASS_PROB_PREFIX);
            if ((lp[used] = rl_levels_intern(cl.lv, name, strlen(name) - 1)) < 0) goto oom;
        }
        if ((ly[used] = intern_row(&cl, label, i)) < 0) goto oom;
        used++;
    }
    if (used == 0) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": no row has both a label ('%s') and a score; evaluate scored "
                                 "data that has its labels",
                          label->name);
        goto fail;
    }
    if (classes_sort(&cl)) goto oom;
    size_t k = cl.n;
    if (!(cm = rl_calloc(k * k, sizeof *cm))) goto oom;
    for (size_t i = 0; i < used; i++)
        cm[(size_t)cl.rank[ly[i]] * k + (size_t)cl.rank[lp[i]]]++;
    size_t correct = 0;
    double avg_acc = 0, macro_p = 0, macro_r = 0;
    for (size_t c = 0; c < k; c++) {
        size_t tp = cm[c * k + c], actual = 0, predicted = 0;
        for (size_t q = 0; q < k; q++) {
            actual += cm[c * k + q];
            predicted += cm[q * k + c];
        }
        size_t tn = used - actual - predicted + tp;
        correct += tp;
        avg_acc += (double)(tp + tn) / (double)used;
        macro_p += predicted ? (double)tp / (double)predicted : 0;
        macro_r += actual ? (double)tp / (double)actual : 0;
    }
    double acc = (double)correct / (double)used;
    if (!(names = json_array()) || !(matrix = json_array())) goto oom;
    for (size_t c = 0; c < k; c++) {
        json_t *row = json_array();
        if (json_array_append_new(names, json_string(class_name(&cl, c))) ||
            json_array_append_new(matrix, row))
            goto oom;
        for (size_t q = 0; q < k; q++)
            if (json_array_append_new(row, json_integer((json_int_t)cm[c * k + q]))) goto oom;
    }
    int bad = rl_json_set(out, "Task", json_string("multiclass")) ||
              rl_json_set(out, "Rows", json_integer((json_int_t)used)) ||
              rl_json_set(out, "Overall accuracy", metric(acc)) ||
              rl_json_set(out, "Average accuracy", metric(avg_acc / (double)k)) ||
              rl_json_set(out, "Micro-averaged precision", metric(acc)) ||
              rl_json_set(out, "Macro-averaged precision", metric(macro_p / (double)k)) ||
              rl_json_set(out, "Micro-averaged recall", metric(acc)) ||
              rl_json_set(out, "Macro-averaged recall", metric(macro_r / (double)k));
    /* rl_json_set takes its value even when it fails. */
    bad |= rl_json_set(out, "Classes", names);
    names = NULL;
    bad |= rl_json_set(out, "Confusion Matrix", matrix);
    matrix = NULL;
    if (bad) goto oom;
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
done:
    json_decref(names);
    json_decref(matrix);
    classes_fini(&cl);
    rl_free(ly);
    rl_free(lp);
    rl_free(cm);
    return rc;
}

/* ---- regression ---- */

static int eval_regression(const rl_table *t, rl_column *label, const rl_column *pred, json_t *out,
                           rl_error *err)
{
    rl_column *y = NULL;
    int rc;
    if (pred->type != RL_TYPE_NUMERIC)
        return rl_error_set(err, RL_ESCHEMA,
                            MODULE ": Scored Labels is %s, but without Scored Probabilities the "
                                   "task is regression, which needs numbers; evaluate the output "
                                   "of Score Model",
                            rl_type_name(pred->type));
    if (label->type == RL_TYPE_NUMERIC) {
        y = rl_column_ref(label);
    } else if ((rc = rl_column_convert(label, RL_TYPE_NUMERIC, &y, err))) {
        rl_error_wrap(err, MODULE ": a regression needs a numeric label, and label '%s' is %s",
                      label->name, rl_type_name(label->type));
        return rc;
    }
    size_t n = rl_table_nrows(t), used = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y->num[i]) || isnan(pred->num[i])) continue;
        sum += y->num[i];
        used++;
    }
    if (used == 0) {
        rl_column_unref(y);
        return rl_error_set(err, RL_ESCHEMA,
                            MODULE ": no row has both a label ('%s') and a score; evaluate "
                                   "scored data that has its labels",
                            label->name);
    }
    double mean = sum / (double)used, ae = 0, se = 0, ad = 0, sd = 0;
    for (size_t i = 0; i < n; i++) {
        double v = y->num[i], p = pred->num[i];
        if (isnan(v) || isnan(p)) continue;
        ae += fabs(v - p);
        se += (v - p) * (v - p);
        ad += fabs(v - mean);
        sd += (v - mean) * (v - mean);
    }
    rl_column_unref(y);
    double rse = se / sd;
    if (rl_json_set(out, "Task", json_string("regression")) ||
        rl_json_set(out, "Rows", json_integer((json_int_t)used)) ||
        rl_json_set(out, "Mean Absolute Error", metric(ae / (double)used)) ||
        rl_json_set(out, "Root Mean Squared Error", metric(sqrt(se / (double)used))) ||
        rl_json_set(out, "Relative Absolute Error", metric(ae / ad)) ||
        rl_json_set(out, "Relative Squared Error", metric(rse)) ||
        rl_json_set(out, "Coefficient of Determination", metric(1 - rse)))
        return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    return RL_OK;
}

/* ---- entry points ---- */

int rl_evaluate(const rl_table *scored, const char *label, json_t **out, rl_error *err)
{
    long li = label ? rl_table_find(scored, label) : rl_table_label(scored);
    if (li < 0) {
        char cols[400];
        rl_columns_describe(scored, cols, sizeof cols);
        if (label)
            return rl_error_set(err, RL_ESCHEMA,
                                MODULE ": label column '%s' is not in the scored dataset; its "
                                       "columns are: %s",
                                label, cols);
        return rl_error_set(err, RL_ESCHEMA,
                            MODULE ": the scored dataset has no label column; name it, or mark "
                                   "it as the label with Edit Metadata (columns: %s)",
                            cols);
    }
    rl_column *lab = rl_table_col(scored, (size_t)li);
    const rl_column *pred = NULL, *prob = NULL;
    size_t ncols = rl_table_ncols(scored), nprobs = 0;
    size_t *probs = rl_malloc((ncols ? ncols : 1) * sizeof *probs);
    json_t *j = json_object();
    int rc;
    if (!probs || !j) {
        rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
        goto done;
    }
    for (size_t i = 0; i < ncols; i++) {
        const rl_column *c = rl_table_col(scored, i);
        if ((long)i == li) continue;
        if (strcmp(c->name, SCORED_LABELS) == 0)
            pred = c;
        else if (strcmp(c->name, SCORED_PROB) == 0)
            prob = c;
        else if (strncmp(c->name, CLASS_PROB_PREFIX, strlen(CLASS_PROB_PREFIX)) == 0 &&
                 strlen(c->name) > strlen(CLASS_PROB_PREFIX) && c->name[strlen(c->name) - 1] == '"')
            probs[nprobs++] = i;
    }
    for (size_t k = 0; k < nprobs; k++) {
        if (rl_table_col(scored, probs[k])->type != RL_TYPE_NUMERIC) {
            rc = rl_error_set(err, RL_ESCHEMA, MODULE ": column '%s' must be numeric",
                              rl_table_col(scored, probs[k])->name);
            goto done;
        }
    }
    if (prob) {
        if (prob->type != RL_TYPE_NUMERIC) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              MODULE ": column '" SCORED_PROB "' is %s; it must hold numbers "
                                     "(the output of Score Model)",
                              rl_type_name(prob->type));
            goto done;
        }
        rc = eval_two_class(scored, lab, prob, pred, j, err);
    } else if (nprobs) {
        rc = eval_multiclass(scored, lab, pred, probs, nprobs, j, err);
    } else if (pred) {
        rc = eval_regression(scored, lab, pred, j, err);
    } else {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": the dataset has no '" SCORED_LABELS "' or '" SCORED_PROB
                                 "' column; connect the output of Score Model");
    }
done:
    rl_free(probs);
    if (rc) {
        json_decref(j);
        return rc;
    }
    *out = j;
    return RL_OK;
}

int rl_evaluate_compare(const rl_table *a, const rl_table *b, const char *label, json_t **out,
                        rl_error *err)
{
    json_t *ja = NULL, *jb = NULL, *j = NULL;
    int rc = rl_evaluate(a, label, &ja, err);
    if (rc) {
        rl_error_wrap(err, "scored dataset");
        return rc;
    }
    rc = rl_evaluate(b, label, &jb, err);
    if (rc) {
        json_decref(ja);
        rl_error_wrap(err, "scored dataset to compare");
        return rc;
    }
    if (!(j = json_object())) {
        json_decref(ja);
        json_decref(jb);
        return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    }
    /* rl_json_set takes its value even when it fails. */
    int bad = rl_json_set(j, "Scored dataset", ja);
    bad |= rl_json_set(j, "Scored dataset to compare", jb);
    if (bad) {
        json_decref(j);
        return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    }
    *out = j;
    return RL_OK;
}
