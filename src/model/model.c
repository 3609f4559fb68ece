/* model.c - trained models: training, scoring and the .ilearner file.
 *
 * See model.h for the file layout. The header JSON holds everything but the
 * learner's trained state, which is the payload in the learner library's own
 * serialization; the trailing SHA-256 covers both.
 */
#include "model/model.h"
#include "base/fs.h"
#include "base/mem.h"
#include "learners/features.h"

#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char MAGIC[8] = {'R', 'L', 'M', 'O', 'D', 'E', 'L', 0x1a};
#define SCORE_BLOCK_ROWS 16384
#define SCORE_THREADS_MAX 8
#define RELEARN_VERSION "0.1.0"

typedef struct input_col {
    char *name;
    rl_type type;
    unsigned flags;
} input_col;

struct rl_model {
    _Atomic long refs;
    char *name;
    const rl_learner_kind *kind;
    rl_params params;
    void *state;
    int nclass; /* classes for classification, 0 for regression */
    char *label;
    rl_type label_type;
    char **classes;       /* nclass texts, sorted */
    double *class_values; /* NUMERIC/BOOLEAN labels: the classes as numbers */
    rl_transform **chain;
    size_t nchain;
    rl_features *features;
    input_col *inputs;
    size_t ninputs;
    json_t *training; /* {"time", "rows", "data_sha256", "metrics", "relearn_version"} */
    char data_sha256[65];
};

/* ---- small helpers ---- */

static void sha256_hex(const unsigned char d[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

void rl_table_sha256(const rl_table *t, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char d[32];
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    uint64_t n = rl_table_nrows(t);
    EVP_DigestUpdate(ctx, &n, sizeof n);
    for (size_t j = 0; j < rl_table_ncols(t); j++) {
        const rl_column *c = rl_table_col(t, j);
        EVP_DigestUpdate(ctx, c->name, strlen(c->name) + 1);
        uint32_t type = (uint32_t)c->type;
        EVP_DigestUpdate(ctx, &type, sizeof type);
        if (c->type == RL_TYPE_STRING) {
            /* Hash values, not codes, so the dictionary order does not matter. */
            for (size_t i = 0; i < c->nrows; i++) {
                int32_t code = c->codes[i];
                if (code < 0) {
                    EVP_DigestUpdate(ctx, "\xff", 1);
                } else {
                    EVP_DigestUpdate(ctx, rl_levels_get(c->levels, code),
                                     rl_levels_len(c->levels, code) + 1);
                }
            }
        } else {
            EVP_DigestUpdate(ctx, c->num, c->nrows * sizeof(double));
        }
    }
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, d, &len);
    EVP_MD_CTX_free(ctx);
    sha256_hex(d, out);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static const char *task_name(rl_task t)
{
    switch (t) {
    case RL_TASK_BINARY: return "two-class";
    case RL_TASK_MULTICLASS: return "multiclass";
    case RL_TASK_REGRESSION: return "regression";
    }
    return "unknown";
}

/* ---- lifetime ---- */

static rl_model *model_alloc(void)
{
    rl_model *m = rl_calloc(1, sizeof *m);
    if (m) atomic_init(&m->refs, 1);
    return m;
}

static void model_free(rl_model *m)
{
    if (m->state && m->kind) m->kind->free(m->state);
    rl_free(m->name);
    rl_free(m->label);
    for (int i = 0; i < m->nclass; i++) rl_free(m->classes ? m->classes[i] : NULL);
    rl_free(m->classes);
    rl_free(m->class_values);
    for (size_t i = 0; i < m->nchain; i++) rl_transform_unref(m->chain[i]);
    rl_free(m->chain);
    rl_features_free(m->features);
    for (size_t i = 0; i < m->ninputs; i++) rl_free(m->inputs[i].name);
    rl_free(m->inputs);
    json_decref(m->training);
    rl_free(m);
}

rl_model *rl_model_ref(rl_model *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

long rl_model_refs(const rl_model *m)
{
    return atomic_load(&((rl_model *)m)->refs);
}

void rl_model_unref(rl_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) model_free(m);
}

/* ---- accessors ---- */

const rl_learner_kind *rl_model_kind(const rl_model *m) { return m->kind; }
rl_task rl_model_task(const rl_model *m) { return m->kind->task; }
const char *rl_model_label(const rl_model *m) { return m->label; }
const char *rl_model_name(const rl_model *m) { return m->name; }
size_t rl_model_nchain(const rl_model *m) { return m->nchain; }
rl_transform *rl_model_chain(const rl_model *m, size_t i) { return m->chain[i]; }
size_t rl_model_ninputs(const rl_model *m) { return m->ninputs; }
const char *rl_model_input_name(const rl_model *m, size_t i) { return m->inputs[i].name; }
rl_type rl_model_input_type(const rl_model *m, size_t i) { return m->inputs[i].type; }
const char *rl_model_data_sha256(const rl_model *m) { return m->data_sha256; }

void rl_model_set_metrics(rl_model *m, json_t *metrics)
{
    json_object_set(m->training, "metrics", metrics ? metrics : json_null());
}

int rl_model_set_name(rl_model *m, const char *name, rl_error *err)
{
    char *copy = rl_strdup(name);
    if (!copy) return rl_error_set(err, RL_ENOMEM, "out of memory");
    rl_free(m->name);
    m->name = copy;
    return RL_OK;
}

/* ---- training ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return rl_class_compare(x, strlen(x), y, strlen(y));
}

/* Finds the sorted classes of label column c over its present rows, and the
 * class index of every row (-1 when missing). */
static int fit_classes(rl_model *m, const rl_column *c, int32_t *cls, rl_error *err)
{
    size_t n = c->nrows;
    if (c->type == RL_TYPE_STRING) {
        size_t nl = rl_levels_count(c->levels);
        char *seen = rl_calloc(nl ? nl : 1, 1);
        int32_t *map = rl_malloc((nl ? nl : 1) * sizeof *map);
        const char **names = rl_malloc((nl ? nl : 1) * sizeof *names);
        if (!seen || !map || !names) goto oom_str;
        for (size_t i = 0; i < n; i++)
            if (c->codes[i] >= 0) seen[c->codes[i]] = 1;
        size_t k = 0;
        for (size_t l = 0; l < nl; l++)
            if (seen[l]) names[k++] = rl_levels_get(c->levels, (int32_t)l);
        qsort(names, k, sizeof *names, cmp_str);
        m->classes = rl_calloc(k ? k : 1, sizeof *m->classes);
        if (!m->classes) goto oom_str;
        m->nclass = (int)k;
        for (size_t i = 0; i < k; i++) {
            m->classes[i] = rl_strdup(names[i]);
            if (!m->classes[i]) goto oom_str;
            map[rl_levels_find(c->levels, names[i], strlen(names[i]))] = (int32_t)i;
        }
        for (size_t i = 0; i < n; i++) cls[i] = c->codes[i] >= 0 ? map[c->codes[i]] : -1;
        rl_free(seen);
        rl_free(map);
        rl_free(names);
        return RL_OK;
    oom_str:
        rl_free(seen);
        rl_free(map);
        rl_free(names);
        return rl_error_set(err, RL_ENOMEM, "out of memory finding the label's classes");
    }
    double *vals = rl_malloc((n ? n : 1) * sizeof *vals);
    if (!vals) return rl_error_set(err, RL_ENOMEM, "out of memory finding the label's classes");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(c->num[i])) vals[k++] = c->num[i];
    qsort(vals, k, sizeof *vals, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || vals[u - 1] != vals[i]) vals[u++] = vals[i];
    if (u > 1000) {
        rl_free(vals);
        return rl_error_set(err, RL_ESCHEMA,
                            "label column '%s' has more than 1000 distinct numeric values; "
                            "use a regression learner, or make the label categorical",
                            c->name);
    }
    m->classes = rl_calloc(u ? u : 1, sizeof *m->classes);
    m->class_values = rl_malloc((u ? u : 1) * sizeof *m->class_values);
    if (!m->classes || !m->class_values) goto oom_num;
    m->nclass = (int)u;
    for (size_t i = 0; i < u; i++) {
        char buf[40];
        size_t len;
        m->class_values[i] = vals[i];
        if (c->type == RL_TYPE_BOOLEAN) {
            snprintf(buf, sizeof buf, "%s", vals[i] != 0 ? "true" : "false");
        } else {
            len = rl_format_double(buf, vals[i]);
            buf[len] = '\0';
        }
        m->classes[i] = rl_strdup(buf);
        if (!m->classes[i]) goto oom_num;
    }
    for (size_t i = 0; i < n; i++) {
        double v = c->num[i];
        if (isnan(v)) {
            cls[i] = -1;
            continue;
        }
        double *hit = bsearch(&v, m->class_values, u, sizeof(double), cmp_double);
        cls[i] = (int32_t)(hit - m->class_values);
    }
    rl_free(vals);
    return RL_OK;
oom_num:
    rl_free(vals);
    return rl_error_set(err, RL_ENOMEM, "out of memory finding the label's classes");
}

static int set_inputs(rl_model *m, const rl_table *schema, rl_error *err)
{
    size_t nc = rl_table_ncols(schema);
    m->inputs = rl_calloc(nc ? nc : 1, sizeof *m->inputs);
    if (!m->inputs) return rl_error_set(err, RL_ENOMEM, "out of memory");
    for (size_t j = 0; j < nc; j++) {
        const rl_column *c = rl_table_col(schema, j);
        if (strcmp(c->name, m->label) == 0 || (c->flags & RL_COL_SCORE)) continue;
        input_col *ic = &m->inputs[m->ninputs];
        ic->name = rl_strdup(c->name);
        if (!ic->name) return rl_error_set(err, RL_ENOMEM, "out of memory");
        ic->type = c->type;
        ic->flags = c->flags & RL_COL_CATEGORICAL;
        m->ninputs++;
    }
    return RL_OK;
}

static json_t *now_iso8601(void)
{
    char buf[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

int rl_model_train(const rl_train_spec *spec, const rl_table *t, rl_model **out, rl_error *err)
{
    rl_model *m = model_alloc();
    rl_table *rows = NULL;
    int32_t *cls = NULL;
    double *y = NULL;
    rl_matrix x = {0, 0, NULL};
    int rc;
    if (!m) return rl_error_set(err, RL_ENOMEM, "out of memory");
    m->kind = spec->kind;
    if (spec->params)
        m->params = *spec->params;
    else
        rl_params_default(spec->kind, &m->params);
    m->name = rl_strdup(spec->name ? spec->name : "model");
    m->label = rl_strdup(spec->label);
    if (!m->name || !m->label) goto oom;

    long li = rl_table_find(t, spec->label);
    if (li < 0) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          "label column '%s' is not in the training data; pass --label with "
                          "one of its column names",
                          spec->label);
        goto fail;
    }
    const rl_column *lc = rl_table_col(t, (size_t)li);
    m->label_type = lc->type;
    size_t n = rl_table_nrows(t);

    /* Rows with a label only. */
    cls = rl_malloc((n ? n : 1) * sizeof *cls);
    if (!cls) goto oom;
    rl_task task = spec->kind->task;
    if (task == RL_TASK_REGRESSION) {
        if (lc->type != RL_TYPE_NUMERIC) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              "%s needs a numeric label, but column '%s' is %s; choose a "
                              "classification learner or a numeric label",
                              spec->kind->name, lc->name, rl_type_name(lc->type));
            goto fail;
        }
        for (size_t i = 0; i < n; i++) cls[i] = isnan(lc->num[i]) ? -1 : 0;
    } else {
        if ((rc = fit_classes(m, lc, cls, err))) goto fail;
        if (task == RL_TASK_BINARY && m->nclass != 2) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              "%s needs a label with exactly 2 values, but '%s' has %d; use a "
                              "multiclass learner or fix the label column",
                              spec->kind->name, lc->name, m->nclass);
            goto fail;
        }
        if (task == RL_TASK_MULTICLASS && m->nclass < 2) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              "%s needs a label with at least 2 values, but '%s' has %d",
                              spec->kind->name, lc->name, m->nclass);
            goto fail;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) kept += cls[i] >= 0;
    if (kept == 0) {
        rc = rl_error_set(err, RL_ESCHEMA, "no training rows: every value of label '%s' is "
                          "missing", lc->name);
        goto fail;
    }
    const rl_table *train = t;
    if (kept < n) {
        size_t *idx = rl_malloc(kept * sizeof *idx);
        if (!idx) goto oom;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (cls[i] >= 0) idx[k++] = i;
        rc = rl_table_take_rows(t, idx, kept, &rows, err);
        if (!rc) {
            for (size_t i = 0; i < kept; i++) cls[i] = cls[idx[i]];
        }
        rl_free(idx);
        if (rc) goto fail;
        train = rows;
    }
    y = rl_malloc(kept * sizeof *y);
    if (!y) goto oom;
    if (task == RL_TASK_REGRESSION) {
        const rl_column *c = rl_table_col(train, (size_t)rl_table_find(train, spec->label));
        for (size_t i = 0; i < kept; i++) y[i] = c->num[i];
    } else {
        for (size_t i = 0; i < kept; i++) y[i] = cls[i];
    }

    if ((rc = rl_features_fit(train, spec->label, &m->features, err))) goto fail;
    if ((rc = rl_features_matrix(m->features, train, &x, err))) goto fail;
    if ((rc = spec->kind->train(&m->params, &x, y, m->nclass, &m->state, err))) {
        rl_error_wrap(err, "training %s", spec->kind->name);
        goto fail;
    }

    if (spec->nchain) {
        m->chain = rl_calloc(spec->nchain, sizeof *m->chain);
        if (!m->chain) goto oom;
        for (size_t i = 0; i < spec->nchain; i++) m->chain[i] = rl_transform_ref(spec->chain[i]);
        m->nchain = spec->nchain;
    }
    if ((rc = set_inputs(m, spec->input_schema ? spec->input_schema : t, err))) goto fail;
    rl_table_sha256(spec->input_schema ? spec->input_schema : t, m->data_sha256);
    m->training = json_pack("{s:o, s:I, s:s, s:n, s:s}", "time", now_iso8601(), "rows",
                            (json_int_t)kept, "data_sha256", m->data_sha256, "metrics",
                            "relearn_version", RELEARN_VERSION);
    if (!m->training) goto oom;
    rl_free(cls);
    rl_free(y);
    rl_free(x.data);
    rl_table_free(rows);
    *out = m;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory training %s", spec->kind->name);
fail:
    rl_free(cls);
    rl_free(y);
    rl_free(x.data);
    rl_table_free(rows);
    model_free(m);
    return rc;
}

/* ---- scoring ---- */

/* Converts in's schema columns to the trained types; reports every missing
 * column at once. *out is a new table. */
static int conform(const rl_model *m, const rl_table *in, rl_table **out, rl_error *err)
{
    rl_buf missing = RL_BUF_INIT;
    size_t nmissing = 0;
    rl_table *t = rl_table_dup(in);
    if (!t) return rl_error_set(err, RL_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->ninputs; i++) {
        long j = rl_table_find(t, m->inputs[i].name);
        if (j < 0) {
            rl_buf_printf(&missing, "%s'%s'", nmissing++ ? ", " : "", m->inputs[i].name);
            continue;
        }
        rl_column *c = rl_table_col(t, (size_t)j);
        if (c->type == m->inputs[i].type) continue;
        rl_column *conv;
        int rc = rl_column_convert(c, m->inputs[i].type, &conv, err);
        if (rc || (rc = rl_table_set(t, (size_t)j, conv, err))) {
            rl_buf_fini(&missing);
            rl_table_free(t);
            return rc;
        }
    }
    if (nmissing) {
        int rc = rl_error_set(err, RL_ESCHEMA,
                              "the data lacks %s %s that the model was trained with; add %s",
                              nmissing > 1 ? "columns" : "column",
                              missing.data ? missing.data : "", nmissing > 1 ? "them" : "it");
        rl_buf_fini(&missing);
        rl_table_free(t);
        return rc;
    }
    *out = t;
    return RL_OK;
}

static rl_column *scored_labels(const rl_model *m, const double *pred, size_t n, size_t nout)
{
    rl_column *c = rl_column_new("Scored Labels",
                                 m->kind->task == RL_TASK_REGRESSION ? RL_TYPE_NUMERIC
                                                                     : m->label_type,
                                 n);
    if (!c) return NULL;
    c->flags = RL_COL_SCORE;
    if (m->kind->task == RL_TASK_REGRESSION) {
        memcpy(c->num, pred, n * sizeof *pred);
        return c;
    }
    if (c->type == RL_TYPE_STRING) {
        for (int k = 0; k < m->nclass; k++)
            if (rl_levels_intern(c->levels, m->classes[k], strlen(m->classes[k])) < 0) {
                rl_column_unref(c);
                return NULL;
            }
    }
    for (size_t i = 0; i < n; i++) {
        int k;
        if (m->kind->task == RL_TASK_BINARY) {
            k = pred[i] >= 0.5;
        } else {
            const double *p = pred + i * nout;
            k = 0;
            for (size_t j = 1; j < nout; j++)
                if (p[j] > p[k]) k = (int)j;
        }
        if (c->type == RL_TYPE_STRING)
            c->codes[i] = k;
        else
            c->num[i] = m->class_values[k];
    }
    return c;
}

/* Features and predictions a block of rows at a time: the matrix of a
 * million rows would take far more memory (and time to touch it) than the
 * data itself. The blocks are shared out between the threads of one scoring
 * (each takes the next block, fills its own matrix and predicts into its rows
 * of pred): a row's prediction does not depend on its block or its thread,
 * so the result is the same however they are shared. */
typedef struct score_work {
    const rl_model *m;
    const rl_table *t;
    double *pred;
    size_t n, nout, dim, block;
    atomic_size_t next;   /* first row of the next block to take */
    atomic_int failed;    /* set by the first thread that fails */
    pthread_mutex_t lock; /* guards rc and err */
    int rc;
    rl_error err;
} score_work;

static void *score_blocks(void *arg)
{
    score_work *w = arg;
    rl_error err;
    rl_error_clear(&err);
    int rc = RL_OK;
    rl_matrix x = {0, w->dim, rl_malloc((w->block * w->dim + 1) * sizeof(double))};
    if (!x.data) rc = rl_error_set(&err, RL_ENOMEM, "out of memory scoring");
    while (!rc && !atomic_load(&w->failed)) {
        size_t first = atomic_fetch_add(&w->next, w->block);
        if (first >= w->n) break;
        x.rows = w->n - first < w->block ? w->n - first : w->block;
        if (!(rc = rl_features_fill(w->m->features, w->t, first, x.rows, x.data, &err)))
            rc = w->m->kind->predict(w->m->state, &x, w->pred + first * w->nout, &err);
        if (rc && w->n > w->block) /* a row number in err counts from the block's first */
            rl_error_wrap(&err, "scoring rows %zu to %zu", first + 1, first + x.rows);
    }
    rl_free(x.data);
    if (rc) {
        pthread_mutex_lock(&w->lock);
        if (!w->rc) {
            w->rc = rc;
            w->err = err;
        }
        pthread_mutex_unlock(&w->lock);
        atomic_store(&w->failed, 1);
    }
    return NULL;
}

/* Threads for nblocks blocks of a learner: one per core (at most
 * SCORE_THREADS_MAX), fewer for fewer blocks, one when the learner threads
 * its own predictions. */
static int score_threads(const rl_learner_kind *k, size_t nblocks)
{
    static atomic_int cores;
    int c = atomic_load(&cores);
    if (!c) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c = n < 1 ? 1 : n > SCORE_THREADS_MAX ? SCORE_THREADS_MAX : (int)n;
        atomic_store(&cores, c);
    }
    if (k->own_threads) return 1;
    return nblocks < (size_t)c ? (int)nblocks : c;
}

int rl_model_score(const rl_model *m, const rl_table *in, size_t skip, rl_table **out,
                   rl_error *err)
{
    rl_table *t = NULL, *next = NULL, *res = NULL;
    double *pred = NULL;
    int rc;
    if (skip > m->nchain)
        return rl_error_set(err, RL_EINVAL,
                            "the data went through %zu transforms, the model "
                            "knows %zu",
                            skip, m->nchain);
    if ((rc = conform(m, in, &t, err))) return rc;
    for (size_t i = skip; i < m->nchain; i++) {
        if ((rc = rl_transform_apply(m->chain[i], t, &next, err))) {
            rl_error_wrap(err, "applying %s", rl_transform_module(m->chain[i]));
            goto done;
        }
        rl_table_free(t);
        t = next;
        next = NULL;
    }
    size_t n = rl_table_nrows(t), nout = rl_learner_nout(m->kind, m->nclass);
    pred = rl_malloc((n ? n : 1) * nout * sizeof *pred);
    if (!pred) goto oom;
    score_work w = {
        .m = m, .t = t, .pred = pred, .n = n, .nout = nout, .dim = rl_features_dim(m->features)};
    w.block = n < SCORE_BLOCK_ROWS ? (n ? n : 1) : SCORE_BLOCK_ROWS;
    atomic_init(&w.next, 0);
    atomic_init(&w.failed, 0);
    pthread_mutex_init(&w.lock, NULL);
    rl_error_clear(&w.err);
    pthread_t helper[SCORE_THREADS_MAX];
    int nhelp = 0, nthreads = score_threads(m->kind, (n + w.block - 1) / w.block);
    /* A thread that cannot start leaves its share to the others. */
    while (nhelp < nthreads - 1 && pthread_create(&helper[nhelp], NULL, score_blocks, &w) == 0)
        nhelp++;
    score_blocks(&w);
    for (int i = 0; i < nhelp; i++)
        pthread_join(helper[i], NULL);
    pthread_mutex_destroy(&w.lock);
    if ((rc = w.rc)) {
        if (err) *err = w.err;
        goto done;
    }

    /* The scored columns go beside the caller's columns when rows line up. */
    res = rl_table_dup(rl_table_nrows(t) == rl_table_nrows(in) ? in : t);
    if (!res) goto oom;
    for (size_t j = rl_table_ncols(res); j-- > 0;)
        if (strncmp(rl_table_col(res, j)->name, "Scored ", 7) == 0) rl_table_remove(res, j);
    rl_column *lab = scored_labels(m, pred, n, nout);
    if (!lab) goto oom;
    if ((rc = rl_table_add(res, lab, err))) goto done;
    if (m->kind->task == RL_TASK_BINARY) {
        rl_column *p = rl_column_new("Scored Probabilities", RL_TYPE_NUMERIC, n);
        if (!p) goto oom;
        p->flags = RL_COL_SCORE;
        memcpy(p->num, pred, n * sizeof *pred);
        if ((rc = rl_table_add(res, p, err))) goto done;
    } else if (m->kind->task == RL_TASK_MULTICLASS) {
        for (int k = 0; k < m->nclass; k++) {
            char name[512];
            snprintf(name, sizeof name, "Scored Probabilities for Class \"%s\"", m->classes[k]);
            rl_column *p = rl_column_new(name, RL_TYPE_NUMERIC, n);
            if (!p) goto oom;
            p->flags = RL_COL_SCORE;
            for (size_t i = 0; i < n; i++) p->num[i] = pred[i * nout + (size_t)k];
            if ((rc = rl_table_add(res, p, err))) goto done;
        }
    }
    *out = res;
    res = NULL;
    rc = RL_OK;
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory scoring");
done:
    rl_table_free(res);
    rl_table_free(t);
    rl_free(pred);
    return rc;
}

/* ---- the file ---- */

static json_t *header_json(const rl_model *m)
{
    json_t *inputs = json_array(), *chain = json_array(), *classes = json_array();
    for (size_t i = 0; i < m->ninputs; i++)
        json_array_append_new(inputs,
                              json_pack("{s:s, s:s, s:b}", "name", m->inputs[i].name, "type",
                                        rl_type_name(m->inputs[i].type), "categorical",
                                        (m->inputs[i].flags & RL_COL_CATEGORICAL) != 0));
    for (size_t i = 0; i < m->nchain; i++)
        json_array_append_new(chain, rl_transform_to_json(m->chain[i]));
    for (int k = 0; k < m->nclass; k++) json_array_append_new(classes, json_string(m->classes[k]));
    return json_pack("{s:s, s:i, s:s, s:{s:s, s:s, s:s, s:o}, s:s, s:{s:s, s:s, s:o}, s:o, s:o, "
                     "s:o, s:O}",
                     "format", "relearn-model", "version", RL_MODEL_FORMAT_VERSION, "name",
                     m->name, "learner", "kind", m->kind->name, "studio_name",
                     m->kind->studio_name, "library", m->kind->library, "params",
                     rl_params_to_json(m->kind, &m->params), "task", task_name(m->kind->task),
                     "label", "name", m->label, "type", rl_type_name(m->label_type), "classes",
                     classes, "input_schema", inputs, "transforms", chain, "features",
                     rl_features_to_json(m->features), "training", m->training);
}

int rl_model_save(const rl_model *m, rl_buf *out, rl_error *err)
{
    json_t *h = header_json(m);
    char *text = h ? json_dumps(h, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(h);
    if (!text) return rl_error_set(err, RL_ENOMEM, "out of memory saving the model");
    size_t start = out->len;
    unsigned char fixed[24];
    memcpy(fixed, MAGIC, 8);
    put_u32(fixed + 8, RL_MODEL_FORMAT_VERSION);
    put_u32(fixed + 12, 0);
    size_t hlen = strlen(text);
    put_u64(fixed + 16, hlen);
    int rc = rl_buf_append(out, fixed, sizeof fixed);
    if (!rc) rc = rl_buf_append(out, text, hlen);
    free(text);
    size_t lenpos = out->len;
    if (!rc) rc = rl_buf_append(out, fixed, 8); /* payload length, patched below */
    if (rc) goto oom;
    size_t pstart = out->len;
    if ((rc = m->kind->save(m->state, out, err))) {
        out->len = start;
        return rc;
    }
    put_u64((unsigned char *)out->data + lenpos, out->len - pstart);
    unsigned char d[32];
    unsigned int dlen = 0;
    EVP_Digest(out->data + start, out->len - start, d, &dlen, EVP_sha256(), NULL);
    if ((rc = rl_buf_append(out, d, sizeof d))) goto oom;
    return RL_OK;
oom:
    out->len = start;
    return rl_error_set(err, RL_ENOMEM, "out of memory saving the model");
}

int rl_model_save_file(const rl_model *m, const char *path, rl_error *err)
{
    rl_buf b = RL_BUF_INIT;
    int rc = rl_model_save(m, &b, err);
    if (!rc) rc = rl_file_write_atomic(path, b.data, b.len, 0, err);
    rl_buf_fini(&b);
    return rc;
}

/* Turns an error from a part's loader into a format error with context. */
static int as_format(rl_error *err, const char *what)
{
    rl_error_wrap(err, "%s", what);
    if (err && err->code != RL_ENOMEM) err->code = RL_EFORMAT;
    return err ? err->code : RL_EFORMAT;
}

static int bad(rl_error *err, const char *fmt, const char *detail)
{
    return rl_error_set(err, RL_EFORMAT, fmt, detail);
}

static int load_header(rl_model *m, const json_t *h, rl_error *err)
{
    const char *fmt = NULL, *kind = NULL, *task = NULL, *name = NULL, *label = NULL,
               *ltype = NULL;
    json_t *params = NULL, *classes = NULL, *inputs = NULL, *chain = NULL, *features = NULL,
           *training = NULL;
    json_int_t version = 0;
    json_error_t je;
    if (json_unpack_ex((json_t *)h, &je, 0,
                       "{s:s, s:I, s:s, s:{s:s, s:o}, s:s, s:{s:s, s:s, s:o}, s:o, s:o, s:o, "
                       "s:o}",
                       "format", &fmt, "version", &version, "name", &name, "learner", "kind",
                       &kind, "params", &params, "task", &task, "label", "name", &label, "type",
                       &ltype, "classes", &classes, "input_schema", &inputs, "transforms",
                       &chain, "features", &features, "training", &training) != 0)
        return bad(err, "model header is incomplete (%s): the file is damaged", je.text);
    if (strcmp(fmt, "relearn-model") != 0) return bad(err, "model header names format '%s'", fmt);
    m->kind = rl_learner_find(kind);
    if (!m->kind)
        return bad(err, "the model uses learner '%s', which this relearn does not know", kind);
    if (strcmp(task, task_name(m->kind->task)) != 0)
        return bad(err, "the model's task '%s' does not fit its learner", task);
    rl_params_default(m->kind, &m->params);
    int rc = rl_params_from_json(m->kind, params, &m->params, err);
    if (rc) return as_format(err, "model parameters");
    m->name = rl_strdup(name);
    m->label = rl_strdup(label);
    if (!m->name || !m->label) return rl_error_set(err, RL_ENOMEM, "out of memory");
    unsigned flags;
    if (rl_type_parse(ltype, &m->label_type, &flags)) return bad(err, "bad label type '%s'", ltype);
    if (!json_is_array(classes) || !json_is_array(inputs) || !json_is_array(chain) ||
        !json_is_object(training))
        return bad(err, "model header has a malformed %s", "field");
    size_t nclass = json_array_size(classes);
    if (m->kind->task == RL_TASK_REGRESSION ? nclass != 0
                                            : (nclass < 2 || nclass > 100000 ||
                                               (m->kind->task == RL_TASK_BINARY && nclass != 2)))
        return bad(err, "model header has a wrong number of classes for its %s task", task);
    if (nclass) {
        m->classes = rl_calloc(nclass, sizeof *m->classes);
        m->class_values = rl_calloc(nclass, sizeof *m->class_values);
        if (!m->classes || !m->class_values) return rl_error_set(err, RL_ENOMEM, "out of memory");
        m->nclass = (int)nclass;
        for (size_t k = 0; k < nclass; k++) {
            const char *s = json_string_value(json_array_get(classes, k));
            if (!s) return bad(err, "model class %s is not a string", "name");
            m->classes[k] = rl_strdup(s);
            if (!m->classes[k]) return rl_error_set(err, RL_ENOMEM, "out of memory");
            if (m->label_type == RL_TYPE_BOOLEAN)
                m->class_values[k] = strcmp(s, "true") == 0;
            else if (m->label_type == RL_TYPE_NUMERIC &&
                     !rl_parse_number(s, strlen(s), &m->class_values[k]))
                return bad(err, "numeric class '%s' is not a number", s);
        }
    }
    size_t ni = json_array_size(inputs);
    m->inputs = rl_calloc(ni ? ni : 1, sizeof *m->inputs);
    if (!m->inputs) return rl_error_set(err, RL_ENOMEM, "out of memory");
    for (size_t i = 0; i < ni; i++) {
        const char *iname = NULL, *itype = NULL;
        int cat = 0;
        if (json_unpack(json_array_get(inputs, i), "{s:s, s:s, s?b}", "name", &iname, "type",
                        &itype, "categorical", &cat) != 0)
            return bad(err, "model input schema entry is malformed%s", "");
        input_col *ic = &m->inputs[m->ninputs];
        if (rl_type_parse(itype, &ic->type, &flags)) return bad(err, "bad input type '%s'", itype);
        ic->name = rl_strdup(iname);
        if (!ic->name) return rl_error_set(err, RL_ENOMEM, "out of memory");
        ic->flags = cat ? RL_COL_CATEGORICAL : 0;
        m->ninputs++;
    }
    size_t nt = json_array_size(chain);
    if (nt) {
        m->chain = rl_calloc(nt, sizeof *m->chain);
        if (!m->chain) return rl_error_set(err, RL_ENOMEM, "out of memory");
        for (size_t i = 0; i < nt; i++) {
            if ((rc = rl_transform_from_json(json_array_get(chain, i), &m->chain[i], err)))
                return as_format(err, "model transform");
            m->nchain++;
        }
    }
    if ((rc = rl_features_from_json(features, &m->features, err)))
        return as_format(err, "model features");
    m->training = json_deep_copy(training);
    const char *sha = json_string_value(json_object_get(training, "data_sha256"));
    if (!m->training) return rl_error_set(err, RL_ENOMEM, "out of memory");
    snprintf(m->data_sha256, sizeof m->data_sha256, "%s", sha ? sha : "");
    return RL_OK;
}

int rl_model_load(const void *data, size_t len, rl_model **out, rl_error *err)
{
    const unsigned char *p = data;
    if (len < 8 || memcmp(p, MAGIC, 8) != 0) {
        if (len >= 7 && memcmp(p, MAGIC, 7) == 0)
            return bad(err, "not a relearn model: the file was altered by a text-mode "
                            "transfer%s; copy it as binary",
                       "");
        return bad(err, "not a relearn model file%s (it does not start with RLMODEL); pass a "
                        ".ilearner written by relearn",
                   len == 0 ? " (it is empty)" : "");
    }
    if (len < 24 + 8 + 32)
        return bad(err, "the model file is truncated (%s); copy it again", "too short");
    uint32_t version = get_u32(p + 8);
    if (version > RL_MODEL_FORMAT_VERSION) {
        char v[16];
        snprintf(v, sizeof v, "%u", version);
        return bad(err, "the model file has format version %s, newer than this relearn reads "
                        "(1); upgrade relearn",
                   v);
    }
    if (version == 0) return bad(err, "the model file has an invalid format version %s", "0");
    uint64_t hlen = get_u64(p + 16);
    if (hlen > len - 24 - 8 - 32)
        return bad(err, "the model file is truncated (%s); copy it again", "header");
    uint64_t plen = get_u64(p + 24 + hlen);
    if (plen > len - 24 - hlen - 8 - 32)
        return bad(err, "the model file is truncated (%s); copy it again", "payload");
    size_t body = 24 + hlen + 8 + plen;
    if (len > body + 32)
        return bad(err, "the model file has %s after its end; it is damaged", "extra bytes");
    unsigned char d[32];
    unsigned int dlen = 0;
    EVP_Digest(p, body, d, &dlen, EVP_sha256(), NULL);
    if (memcmp(d, p + body, 32) != 0)
        return bad(err, "the model file is corrupted (%s mismatch); copy it again or retrain",
                   "checksum");

    json_error_t je;
    json_t *h = json_loadb((const char *)p + 24, hlen, 0, &je);
    if (!h) return bad(err, "the model header is not valid JSON: %s", je.text);
    rl_model *m = model_alloc();
    int rc;
    if (!m) {
        json_decref(h);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    if ((rc = load_header(m, h, err))) goto fail;
    if ((rc = m->kind->load(&m->params, m->nclass, p + 24 + hlen + 8, plen, &m->state, err))) {
        rl_error_wrap(err, "loading the %s payload", m->kind->name);
        goto fail;
    }
    json_decref(h);
    *out = m;
    return RL_OK;
fail:
    json_decref(h);
    model_free(m);
    return rc;
}

int rl_model_load_file(const char *path, rl_model **out, rl_error *err)
{
    char *data;
    size_t len;
    int rc = rl_file_read_all(path, &data, &len, err);
    if (rc) return rc;
    rc = rl_model_load(data, len, out, err);
    rl_free(data);
    if (rc) rl_error_wrap(err, "%s", path);
    return rc;
}

json_t *rl_model_describe(const rl_model *m)
{
    json_t *h = header_json(m);
    if (!h) return NULL;
    json_object_del(h, "features");
    json_object_set_new(h, "features", json_integer((json_int_t)rl_features_dim(m->features)));
    return h;
}
