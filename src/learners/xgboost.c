/* xgboost.c - the tree learners, on XGBoost's C API (the only file that
 * includes it).
 *
 * Kinds and their XGBoost settings (booster gbtree, tree_method hist):
 *   two-class-boosted-decision-tree     objective binary:logistic
 *   multiclass-boosted-decision-tree    objective multi:softprob, num_class
 *   boosted-decision-tree-regression    objective reg:squarederror
 *     maximum-number-of-leaves-per-tree       max_leaves (grow_policy lossguide,
 *                                             max_depth 0: no depth limit)
 *     minimum-number-of-samples-per-leaf-node min_child_weight
 *     learning-rate                           eta
 *     number-of-trees-constructed             boosting rounds
 *     random-number-seed                      seed
 *     max-bin                                 max_bin
 *   two-class-decision-forest           objective binary:logistic
 *   multiclass-decision-forest          objective multi:softprob, num_class
 *     XGBoost's random-forest mode: one boosting round of num_parallel_tree
 *     trees, eta 1, lambda 1e-5 (as XGBRFClassifier sets them).
 *     number-of-decision-trees                num_parallel_tree
 *     maximum-depth-of-the-decision-trees     max_depth (grow_policy depthwise)
 *     minimum-number-of-samples-per-leaf-node min_child_weight
 *     resampling-method  bagging: subsample = sampling-fraction (default 0.632,
 *                        the expected share of distinct rows in a bootstrap
 *                        sample; XGBoost samples without replacement);
 *                        replicate: subsample = 1, every tree sees every row
 *     feature-fraction                        colsample_bynode
 *     random-number-seed                      seed
 *     max-bin                                 max_bin
 *   base_score is XGBoost's default (0.5) everywhere, and the minimum samples
 *   per leaf is XGBoost's min_child_weight: a sum of hessians, which counts
 *   rows only for squared error (a logistic row weighs p(1-p) <= 0.25).
 *
 * Peer mapping (xgboost 1.7 Python, fit on the same float64 matrix, NaN
 * missing; measured on 800 x 6 synthetic data with 3% missing values, every
 * kind's predictions are bit-identical to the peer's):
 *   boosted:  XGBClassifier / XGBRegressor(tree_method='hist',
 *             grow_policy='lossguide', max_depth=0, max_leaves=LEAVES,
 *             min_child_weight=MINLEAF, learning_rate=LR, n_estimators=TREES,
 *             random_state=SEED, max_bin=BINS); predict_proba()[:, 1] for
 *             two-class, predict_proba() for multiclass, predict() for
 *             regression.
 *   forest:   XGBRFClassifier(tree_method='hist', n_estimators=TREES,
 *             max_depth=DEPTH, min_child_weight=MINLEAF,
 *             subsample=FRACTION (1 for replicate), colsample_bynode=FEATURES,
 *             random_state=SEED, max_bin=BINS) (its learning_rate=1 and
 *             reg_lambda=1e-5 defaults are the ones used here).
 *
 * Threads: training uses XGBoost's default, all cores. A state holds two
 * boosters loaded from the same bytes: `small` with nthread=1 for inputs under
 * RL_LEARNER_SMALL_ROWS rows, so one-row scoring stays on the calling thread,
 * and `big` with XGBoost's default (all cores, OpenMP) for the rest. Both are
 * configured once, before the state is handed out, and never changed after,
 * because XGBoosterSetParam is not safe while other threads predict.
 * (Checked by hand with per-thread CPU times: 200,000 one-row and 200
 * 1,000-row predictions leave the OpenMP worker idle; 1,100-row ones use it.
 * XGBoost's model reader starts the OpenMP pool while loading, whatever
 * nthread says; the workers then sleep.)
 * Prediction uses XGBoosterPredictFromDense (in-place prediction), which
 * XGBoost documents as safe from many threads; its result buffer is
 * per-thread, and copied out before returning.
 *
 * A trained state is built by saving the trained booster to UBJSON and loading
 * those bytes, exactly as load() does, so a saved and reloaded model predicts
 * bit-for-bit as the one trained. The state keeps the bytes for save().
 *
 * Errors: XGBoost's last error is per thread and overwritten by the next call,
 * so it is copied into the rl_error at each call site (RL_ELIB; RL_EFORMAT
 * when a payload does not load).
 *
 * Damage: XGBoost 1.7's UBJSON reader segfaults or allocates without bound on
 * truncated input (found by cutting a 3 KB model at every length), so bytes
 * reach it only after the envelope's exact length and checksum checks
 * (common.h). After loading, the feature count, objective, class count and
 * output shape are checked against the header. A payload forged with a valid
 * checksum (anyone can compute one: relearnd loads models that clients
 * upload) is read and checked whole before XGBoost reads it ("forged
 * payloads" below).
 *
 * Memory: a state holds the model three times (the bytes and two boosters).
 */
#include "learners/common.h"
#include "learners/learner.h"
#include "base/mem.h"

#include <xgboost/c_api.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct xgb_state {
    BoosterHandle big, small;
    rl_task task;
    int nclass;
    size_t nfeat, nout;
    unsigned char *ubj; /* the model in UBJSON, for save() */
    size_t ubj_len;
} xgb_state;

static const char PREDICT_CONFIG[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                                     "\"iteration_end\": 0, \"strict_shape\": false, "
                                     "\"cache_id\": 0, \"missing\": NaN}";

/* Copies XGBoost's last error (its first line; a stack trace follows). */
static int xgb_fail(rl_error *err, int code, const char *what)
{
    const char *msg = XGBGetLastError();
    size_t n = strcspn(msg, "\n");
    return rl_error_set(err, code, "XGBoost failed %s: %.*s", what, (int)n, msg);
}

static const char *objective(rl_task task)
{
    return task == RL_TASK_BINARY       ? "binary:logistic"
           : task == RL_TASK_MULTICLASS ? "multi:softprob"
                                        : "reg:squarederror";
}

/* The JSON __array_interface__ of a row-major double matrix. */
static void array_interface(char *out, size_t cap, const double *data, size_t rows, size_t cols)
{
    snprintf(out, cap,
             "{\"data\": [%" PRIuPTR ", true], \"shape\": [%zu, %zu], \"typestr\": \"<f8\", "
             "\"version\": 3}",
             (uintptr_t)data, rows, cols);
}

static void xgb_free(void *state)
{
    xgb_state *st = state;
    if (!st) return;
    if (st->big) XGBoosterFree(st->big);
    if (st->small) XGBoosterFree(st->small);
    rl_free(st->ubj);
    rl_free(st);
}

/* XGBoost makes a proxy DMatrix for each in-place prediction that is given
 * none, and making one reads the cgroup CPU quota files (4 system calls per
 * prediction, most of a one-row prediction's time). A proxy is not safe to
 * share (each call sets its data), so predictions borrow one from a free list
 * and give it back: the list holds as many proxies as predictions ever ran at
 * once, kept for the life of the process. (Per-thread proxies freed at
 * thread exit would leak: XGDMatrixFree then re-registers XGBoost's
 * thread_local destructors after they have run.) NULL when none can be made:
 * XGBoost then makes its own. */
typedef struct proxy_node {
    DMatrixHandle h;
    struct proxy_node *next;
} proxy_node;

static pthread_mutex_t proxy_lock = PTHREAD_MUTEX_INITIALIZER;
static proxy_node *proxy_free_list;

static proxy_node *proxy_get(void)
{
    pthread_mutex_lock(&proxy_lock);
    proxy_node *n = proxy_free_list;
    if (n) proxy_free_list = n->next;
    pthread_mutex_unlock(&proxy_lock);
    if (n) return n;
    if (!(n = rl_malloc(sizeof *n))) return NULL;
    if (XGProxyDMatrixCreate(&n->h)) {
        rl_free(n);
        return NULL;
    }
    return n;
}

static void proxy_put(proxy_node *n)
{
    if (!n) return;
    pthread_mutex_lock(&proxy_lock);
    n->next = proxy_free_list;
    proxy_free_list = n;
    pthread_mutex_unlock(&proxy_lock);
}

/* Runs one prediction on h into out (rows * st->nout doubles). */
static int predict_with(const xgb_state *st, BoosterHandle h, const double *data, size_t rows,
                        double *out, rl_error *err)
{
    char arr[192];
    array_interface(arr, sizeof arr, data, rows, st->nfeat);
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    proxy_node *proxy = proxy_get();
    int rc = XGBoosterPredictFromDense(h, arr, PREDICT_CONFIG, proxy ? proxy->h : NULL, &shape,
                                       &dim, &res);
    proxy_put(proxy);
    if (rc) return xgb_fail(err, RL_ELIB, "predicting");
    size_t total = 1;
    for (bst_ulong d = 0; d < dim; d++)
        total *= (size_t)shape[d];
    if (total != rows * st->nout)
        return rl_error_set(err, RL_ELIB,
                            "XGBoost returned %zu predictions for %zu rows, expected %zu per row",
                            total, rows, st->nout);
    for (size_t i = 0; i < total; i++)
        out[i] = res[i];
    return RL_OK;
}

/* Checks the objective and class count XGBoost reports for a loaded model. */
static int check_config(const xgb_state *st, BoosterHandle h, rl_error *err)
{
    bst_ulong len = 0;
    const char *text = NULL;
    if (XGBoosterSaveJsonConfig(h, &len, &text))
        return xgb_fail(err, RL_EFORMAT, "reading the model's configuration");
    json_error_t je;
    json_t *cfg = json_loadb(text, (size_t)len, 0, &je);
    const char *obj = NULL, *ncls = NULL;
    int rc = RL_OK;
    if (json_unpack(cfg, "{s:{s:{s:s}, s:{s:s}}}", "learner", "objective", "name", &obj,
                    "learner_model_param", "num_class", &ncls) != 0) {
        rc = rl_wire_corrupt(err, "XGBoost model", "its configuration lacks the objective");
    } else if (strcmp(obj, objective(st->task)) != 0) {
        char detail[128];
        snprintf(detail, sizeof detail, "objective %s where %s belongs", obj, objective(st->task));
        rc = rl_wire_corrupt(err, "XGBoost model", detail);
    } else if (st->task == RL_TASK_MULTICLASS) {
        char want[16];
        snprintf(want, sizeof want, "%d", st->nclass);
        if (strcmp(ncls, want) != 0)
            rc = rl_wire_corrupt(err, "XGBoost model", "its class count differs");
    }
    json_decref(cfg);
    return rc;
}

/* ---- forged payloads ----
 * XGBoost trusts its model bytes: its UBJSON reader allocates whatever an
 * array count says (6 GiB for a few changed bytes), its model reader indexes
 * with the counts and parents the document gives, and prediction follows
 * child indices, split features and tree groups unchecked (forged models
 * segfaulted, looped forever or corrupted the heap; found with
 * tests/fuzz/fuzz_model.c). So the bytes are read here first, into a
 * skeleton (ubj_check), and every one of those is checked before XGBoost
 * reads a byte. */

typedef struct ubj_walk {
    const unsigned char *p;
    size_t len, pos;
} ubj_walk;

/* Bytes of a fixed-size UBJSON value of type t; -1 for the others. */
static int ubj_size(unsigned char t)
{
    static const char *const by_size[] = {"ZTF", "iUC", "I", "", "ld", "", "", "", "LD"};
    for (int n = 0; n < 9; n++)
        if (t && strchr(by_size[n], t)) return n;
    return -1;
}

/* A big-endian integer or float of type t (fixed size, in bounds). */
static json_t *ubj_number(ubj_walk *w, unsigned char t)
{
    int size = ubj_size(t);
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v = v << 8 | w->p[w->pos + (size_t)i];
    w->pos += (size_t)size;
    if (t == 'd' || t == 'D') {
        double d;
        float f;
        uint32_t u = (uint32_t)v;
        if (t == 'd')
            memcpy(&f, &u, 4), d = f;
        else
            memcpy(&d, &v, 8);
        return json_real(isfinite(d) ? d : 0);
    }
    if (t != 'U' && t != 'C' && size < 8 && (v >> (8 * size - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * size); /* sign-extend */
    return t == 'C' ? json_stringn((const char *)&w->p[w->pos - 1], 1)
                    : json_integer((json_int_t)v);
}

/* A length or count (an integer with its marker), at most the bytes left. */
static int ubj_count(ubj_walk *w, size_t *n)
{
    if (w->pos >= w->len) return -1;
    unsigned char t = w->p[w->pos++];
    int size = t && strchr("iUIlL", t) ? ubj_size(t) : -1;
    if (size < 0 || w->len - w->pos < (size_t)size) return -1;
    json_t *j = ubj_number(w, t);
    json_int_t v = json_integer_value(j);
    json_decref(j);
    if (!j || v < 0 || (uint64_t)v > w->len - w->pos) return -1;
    *n = (size_t)v;
    return 0;
}

static json_t *ubj_value(ubj_walk *w, unsigned char t, int depth);

/* Sets the next key of object o (a length, then that many bytes) to the
 * next element; a repeated key is malformed. */
static int ubj_member(ubj_walk *w, json_t *o, unsigned char type, int depth)
{
    size_t n;
    if (ubj_count(w, &n)) return -1;
    const char *key = (const char *)w->p + w->pos;
    w->pos += n;
    if (!type) {
        if (w->pos >= w->len) return -1;
        type = w->p[w->pos++];
    }
    json_t *v = ubj_value(w, type, depth);
    if (!v) return -1;
    char k[64];
    if (n >= sizeof k || memchr(key, 0, n)) { /* XGBoost's keys are short words */
        json_decref(v);
        return -1;
    }
    memcpy(k, key, n);
    k[n] = '\0';
    if (json_object_get(o, k)) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(o, k, v);
}

static int ubj_item(ubj_walk *w, json_t *a, unsigned char type, int depth)
{
    if (!type) {
        if (w->pos >= w->len) return -1;
        type = w->p[w->pos++];
    }
    return json_array_append_new(a, ubj_value(w, type, depth));
}

/* The rest of an array or object after its '[' or '{'. A typed array of
 * numbers is not read value by value: it stands as {"#": count, "t": type,
 * "@": offset of its first value} (XGBoost's arrays of node fields, read in
 * place by ubj_int). */
static json_t *ubj_container(ubj_walk *w, int object, int depth)
{
    unsigned char type = 0;
    size_t n = 0;
    if (depth > 64) return NULL;
    if (w->pos < w->len && w->p[w->pos] == '$') {
        if (w->len - w->pos < 3 || w->p[w->pos + 2] != '#') return NULL;
        type = w->p[w->pos + 1];
        w->pos += 2;
        if (ubj_size(type) == 0) return NULL; /* a count of nothings */
    }
    int counted = w->pos < w->len && w->p[w->pos] == '#';
    if (counted && (w->pos++, ubj_count(w, &n))) return NULL;
    if (type && !counted) return NULL;   /* '$' needs '#' */
    if (!object && ubj_size(type) > 0) { /* a typed array of numbers */
        if (n > (w->len - w->pos) / (size_t)ubj_size(type)) return NULL;
        json_t *a = json_pack("{s:I, s:i, s:I}", "#", (json_int_t)n, "t", (int)type, "@",
                              (json_int_t)w->pos);
        w->pos += n * (size_t)ubj_size(type);
        return a;
    }
    json_t *c = object ? json_object() : json_array();
    for (size_t i = 0; c && (counted ? i < n : 1); i++) {
        if (!counted && w->pos < w->len && w->p[w->pos] == (object ? '}' : ']')) {
            w->pos++;
            return c;
        }
        if (object ? ubj_member(w, c, type, depth + 1) : ubj_item(w, c, type, depth + 1)) {
            json_decref(c);
            return NULL;
        }
    }
    return c;
}

static json_t *ubj_value(ubj_walk *w, unsigned char t, int depth)
{
    size_t n;
    int size = ubj_size(t);
    if (size >= 0) {
        if (w->len - w->pos < (size_t)size) return NULL;
        return t == 'Z'   ? json_null()
               : t == 'T' ? json_true()
               : t == 'F' ? json_false()
                          : ubj_number(w, t);
    }
    if (t == 'S') {
        if (ubj_count(w, &n)) return NULL;
        w->pos += n;
        return json_stringn((const char *)w->p + w->pos - n, n); /* NULL if not UTF-8 */
    }
    if (t == '[' || t == '{') return ubj_container(w, t == '{', depth);
    return NULL;
}

/* The count of an array: a typed one ({"#": n, ...}) or a plain one. */
static size_t ubj_len(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a)
                            : (size_t)json_integer_value(json_object_get(a, "#"));
}

/* Element k < ubj_len(a) of an array of integers; INT64_MIN for anything
 * else (a float, a string). */
static int64_t ubj_int(const unsigned char *ubj, const json_t *a, size_t k)
{
    if (json_is_array(a)) {
        const json_t *v = json_array_get(a, k);
        return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
    }
    unsigned char t = (unsigned char)json_integer_value(json_object_get(a, "t"));
    if (!strchr("iUIlL", t)) return INT64_MIN;
    ubj_walk w = {ubj, SIZE_MAX,
                  (size_t)json_integer_value(json_object_get(a, "@")) + k * (size_t)ubj_size(t)};
    json_t *v = ubj_number(&w, t);
    int64_t r = v ? (int64_t)json_integer_value(v) : INT64_MIN;
    json_decref(v);
    return r;
}

/* A decimal string of XGBoost's parameters ("3"), or -1. */
static long ubj_param(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : -1;
    return s && end != s && !*end && v >= 0 ? v : -1;
}

/* Whether tree t is one XGBoost reads and predicts with safely: every node
 * field has num_nodes entries, no categorical splits or leaf vectors, node 0
 * reaches each node at most once through children inside the tree, splits
 * on features below nfeat, parents inside the tree. -1 when out of memory. */
static int tree_ok(const unsigned char *ubj, const json_t *t, size_t nfeat)
{
    static const char *const fields[] = {"left_children", "right_children",   "parents",
                                         "split_indices", "split_conditions", "default_left",
                                         "base_weights",  "loss_changes",     "sum_hessian"};
    static const char *const categorical[] = {"categories", "categories_nodes",
                                              "categories_segments", "categories_sizes"};
    const json_t *tp = json_object_get(t, "tree_param");
    const json_t *left = json_object_get(t, "left_children");
    const json_t *right = json_object_get(t, "right_children");
    const json_t *feat = json_object_get(t, "split_indices");
    const json_t *kind = json_object_get(t, "split_type");
    const json_t *parents = json_object_get(t, "parents");
    long n = ubj_param(tp, "num_nodes");
    if (n < 1 || ubj_param(tp, "size_leaf_vector") != 0 || (kind && ubj_len(kind) != (size_t)n))
        return 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (ubj_len(json_object_get(t, fields[i])) != (size_t)n) return 0;
    for (size_t i = 0; i < sizeof categorical / sizeof categorical[0]; i++)
        if (ubj_len(json_object_get(t, categorical[i]))) return 0;
    for (long i = 0; i < n; i++) {
        int64_t p = ubj_int(ubj, parents, (size_t)i);
        if (p < 0 || p > UINT32_MAX || ((p & 0x7fffffff) >= n && (p & 0x7fffffff) != 0x7fffffff) ||
            (kind && ubj_int(ubj, kind, (size_t)i) != 0))
            return 0;
    }
    unsigned char *seen = rl_calloc((size_t)n, 1);
    size_t *stack = rl_malloc((2 * (size_t)n + 1) * sizeof *stack), top = 0;
    int ok = seen && stack ? 1 : -1;
    if (ok > 0) stack[top++] = 0;
    while (ok > 0 && top) {
        size_t i = stack[--top];
        int64_t l = ubj_int(ubj, left, i), r = ubj_int(ubj, right, i), f = ubj_int(ubj, feat, i);
        ok = !seen[i];
        seen[i] = 1;
        if (!ok || l == -1) continue; /* a leaf */
        ok = l > 0 && r > 0 && l != r && l < n && r < n && f >= 0 && (uint64_t)f < nfeat;
        if (ok) {
            stack[top++] = (size_t)l;
            stack[top++] = (size_t)r;
        }
    }
    rl_free(seen);
    rl_free(stack);
    return ok;
}

/* Checks the UBJSON before XGBoost reads it (XGBoost follows what it says
 * without bounds checks): one well-formed object, exactly, every count and
 * length within the bytes left, nesting bounded; a gbtree whose objective,
 * feature and class counts are the header's, whose num_trees is the
 * number of trees and of tree_info entries, whole rounds of
 * num_parallel_tree trees per output, tree ids each tree's place once, tree
 * groups below nout and every tree well formed (tree_ok). */
static int ubj_check(const unsigned char *ubj, size_t len, rl_task task, int nclass, size_t nfeat,
                     rl_error *err)
{
    ubj_walk w = {ubj, len, 1};
    json_t *doc = len >= 2 && ubj[0] == '{' ? ubj_container(&w, 1, 0) : NULL;
    const json_t *learner = json_object_get(doc, "learner");
    const json_t *lp = json_object_get(learner, "learner_model_param");
    const json_t *gb = json_object_get(learner, "gradient_booster");
    const json_t *model = json_object_get(gb, "model");
    const json_t *gp = json_object_get(model, "gbtree_model_param");
    const json_t *trees = json_object_get(model, "trees");
    const json_t *info = json_object_get(model, "tree_info");
    const char *name = json_string_value(json_object_get(gb, "name"));
    long ntrees = ubj_param(gp, "num_trees"), npt = ubj_param(gp, "num_parallel_tree");
    size_t n = json_array_size(trees), nout = task == RL_TASK_MULTICLASS ? (size_t)nclass : 1;
    const char *obj =
        json_string_value(json_object_get(json_object_get(learner, "objective"), "name"));
    const char *why = NULL;
    char detail[128];
    if (!doc || w.pos != len || !name || strcmp(name, "gbtree") || !json_is_array(trees) || !obj) {
        why = "its UBJSON is malformed";
    } else if (strcmp(obj, objective(task)) != 0) {
        snprintf(detail, sizeof detail, "objective %.40s where %s belongs", obj, objective(task));
        why = detail;
    } else if (ubj_param(lp, "num_feature") != (long)nfeat) {
        why = "its feature count differs";
    } else if (ubj_param(lp, "num_class") != (task == RL_TASK_MULTICLASS ? nclass : 0)) {
        why = "its class count differs";
    }
    if (why) {
        json_decref(doc);
        return rl_wire_corrupt(err, "XGBoost model", why);
    }
    int ok = ntrees >= 0 && (size_t)ntrees == n && ubj_len(info) == n && npt >= 1 &&
             n % ((size_t)npt * nout) == 0;
    unsigned char *seen = ok && n ? rl_calloc(n, 1) : NULL;
    if (ok && n && !seen) ok = -1;
    for (size_t i = 0; ok > 0 && i < n; i++) {
        const json_t *id = json_object_get(json_array_get(trees, i), "id");
        json_int_t k = json_integer_value(id);
        int64_t g = ubj_int(ubj, info, i);
        ok = json_is_integer(id) && k >= 0 && (size_t)k < n && !seen[k] && g >= 0 &&
             (uint64_t)g < nout;
        if (ok) {
            seen[k] = 1;
            ok = tree_ok(ubj, json_array_get(trees, i), nfeat);
        }
    }
    rl_free(seen);
    json_decref(doc);
    if (ok < 0) return rl_error_set(err, RL_ENOMEM, "out of memory checking an XGBoost model");
    return ok ? RL_OK : rl_wire_corrupt(err, "XGBoost model", "its trees are malformed");
}

/* A booster from st's bytes, with nthread set, configured (check_config()
 * reads the configuration, which makes XGBoost configure the booster now, on
 * this thread) and checked. The single-threaded one also runs a warm-up
 * prediction that checks the output shape. */
static int load_booster(const xgb_state *st, int single, BoosterHandle *out, rl_error *err)
{
    BoosterHandle h = NULL;
    bst_ulong nf = 0;
    double *row = NULL, *pred = NULL;
    int rc = RL_OK;
    if (XGBoosterCreate(NULL, 0, &h)) return xgb_fail(err, RL_ELIB, "creating a booster");
    if (XGBoosterLoadModelFromBuffer(h, st->ubj, (bst_ulong)st->ubj_len)) {
        rc = xgb_fail(err, RL_EFORMAT, "reading the model");
        goto fail;
    }
    if (XGBoosterSetParam(h, "nthread", single ? "1" : "0") ||
        XGBoosterSetParam(h, "verbosity", "0")) {
        rc = xgb_fail(err, RL_ELIB, "setting prediction parameters");
        goto fail;
    }
    if (XGBoosterGetNumFeature(h, &nf)) {
        rc = xgb_fail(err, RL_EFORMAT, "reading the model's feature count");
        goto fail;
    }
    if ((size_t)nf != st->nfeat) {
        rc = rl_wire_corrupt(err, "XGBoost model", "its feature count differs");
        goto fail;
    }
    if ((rc = check_config(st, h, err))) goto fail;
    if (!single) goto done;
    /* Warm-up on a row of missing values. */
    row = rl_malloc(st->nfeat * sizeof *row);
    pred = rl_malloc(st->nout * sizeof *pred);
    if (!row || !pred) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory loading an XGBoost model");
        goto fail;
    }
    for (size_t j = 0; j < st->nfeat; j++)
        row[j] = NAN;
    if ((rc = predict_with(st, h, row, 1, pred, err))) {
        if (rc == RL_ELIB) {
            rl_error_wrap(err, "the XGBoost model does not predict as its header says");
            rc = RL_EFORMAT;
            if (err) err->code = rc;
        }
        goto fail;
    }
done:
    rl_free(row);
    rl_free(pred);
    *out = h;
    return RL_OK;
fail:
    rl_free(row);
    rl_free(pred);
    XGBoosterFree(h);
    return rc;
}

/* Builds a state around ubj (taken: freed on failure too). */
static int state_new(rl_task task, int nclass, size_t nfeat, unsigned char *ubj, size_t len,
                     void **state, rl_error *err)
{
    xgb_state *st = rl_calloc(1, sizeof *st);
    if (!st) {
        rl_free(ubj);
        return rl_error_set(err, RL_ENOMEM, "out of memory loading an XGBoost model");
    }
    st->task = task;
    st->nclass = nclass;
    st->nfeat = nfeat;
    st->nout = task == RL_TASK_MULTICLASS ? (size_t)nclass : 1;
    st->ubj = ubj;
    st->ubj_len = len;
    int rc = load_booster(st, 1, &st->small, err);
    if (!rc) rc = load_booster(st, 0, &st->big, err);
    if (rc) {
        xgb_free(st);
        return rc;
    }
    *state = st;
    return RL_OK;
}

static int xgb_predict(const void *state, const rl_matrix *x, double *out, rl_error *err)
{
    const xgb_state *st = state;
    int rc = rl_learner_check_predict(x, st->nfeat, err);
    if (rc || x->rows == 0) return rc;
    return predict_with(st, x->rows < RL_LEARNER_SMALL_ROWS ? st->small : st->big, x->data, x->rows,
                        out, err);
}

static int xgb_save(const void *state, rl_buf *out, rl_error *err)
{
    const xgb_state *st = state;
    size_t mark = out->len;
    int rc = rl_wire_begin(out, RL_WIRE_TAG_XGBOOST, &mark);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)st->task);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)st->nclass);
    if (!rc) rc = rl_wire_put_u64(out, st->nfeat);
    if (!rc) rc = rl_wire_put_u64(out, st->ubj_len);
    if (!rc) rc = rl_buf_append(out, st->ubj, st->ubj_len);
    if (rc) {
        out->len = mark;
        return rl_error_set(err, RL_ENOMEM, "out of memory saving an XGBoost model");
    }
    rl_wire_end(out, mark);
    return RL_OK;
}

static int xgb_load(rl_task task, int nclass, const void *data, size_t len, void **state,
                    rl_error *err)
{
    static const char what[] = "XGBoost model";
    rl_wire_reader r;
    int rc = rl_wire_open(data, len, RL_WIRE_TAG_XGBOOST, what, &r, err);
    if (rc) return rc;
    uint32_t t = rl_wire_get_u32(&r), ncls = rl_wire_get_u32(&r);
    uint64_t nfeat = rl_wire_get_u64(&r), ulen = rl_wire_get_u64(&r);
    const void *ubj = rl_wire_get_bytes(&r, ulen <= rl_wire_left(&r) ? (size_t)ulen : SIZE_MAX);
    if ((rc = rl_wire_close(&r, what, err))) return rc;
    if (t != (uint32_t)task) return rl_wire_corrupt(err, what, "it is for another task");
    if (task == RL_TASK_MULTICLASS && ncls != (uint32_t)nclass)
        return rl_wire_corrupt(err, what, "its class count differs from the model's");
    if (nfeat == 0 || nfeat > INT32_MAX || ulen == 0)
        return rl_wire_corrupt(err, what, "impossible sizes");
    if ((rc = ubj_check(ubj, (size_t)ulen, task, nclass, (size_t)nfeat, err)))
        return rc; /* before XGBoost reads a byte of it */
    unsigned char *copy = rl_malloc((size_t)ulen);
    if (!copy) return rl_error_set(err, RL_ENOMEM, "out of memory loading an XGBoost model");
    memcpy(copy, ubj, (size_t)ulen);
    return state_new(task, task == RL_TASK_MULTICLASS ? nclass : (int)ncls, (size_t)nfeat, copy,
                     (size_t)ulen, state, err);
}

/* ---- training ---- */

#define MAX_KV 16

typedef struct kv {
    char key[32], val[48];
} kvpair;

typedef struct kvs {
    kvpair a[MAX_KV];
    size_t n;
} kvs;

static void put_s(kvs *p, const char *key, const char *val)
{
    if (p->n == MAX_KV) return; /* the fixed lists below stay well under */
    snprintf(p->a[p->n].key, sizeof p->a[p->n].key, "%s", key);
    snprintf(p->a[p->n].val, sizeof p->a[p->n].val, "%s", val);
    p->n++;
}

static void put_d(kvs *p, const char *key, double v)
{
    char t[40];
    t[rl_format_double(t, v)] = '\0';
    put_s(p, key, t);
}

static void put_common(kvs *p, rl_task task, int nclass)
{
    put_s(p, "booster", "gbtree");
    put_s(p, "tree_method", "hist");
    put_s(p, "objective", objective(task));
    if (task == RL_TASK_MULTICLASS) put_d(p, "num_class", nclass);
    put_s(p, "verbosity", "0");
}

static int train_with(const rl_learner_kind *k, const kvs *params, int rounds, const rl_matrix *x,
                      const double *y, int nclass, void **state, rl_error *err)
{
    int rc = rl_learner_check_train(k, x, y, nclass, err);
    if (rc) return rc;
    DMatrixHandle dm = NULL;
    BoosterHandle bst = NULL;
    unsigned char *ubj = NULL;
    bst_ulong ulen = 0;
    float *label = rl_malloc(x->rows * sizeof *label);
    if (!label) return rl_error_set(err, RL_ENOMEM, "out of memory training %s", k->name);
    for (size_t i = 0; i < x->rows; i++)
        label[i] = (float)y[i];
    char arr[192];
    array_interface(arr, sizeof arr, x->data, x->rows, x->cols);
    if (XGDMatrixCreateFromDense(arr, "{\"missing\": NaN, \"nthread\": 0}", &dm)) {
        rc = xgb_fail(err, RL_ELIB, "building the training matrix");
        goto done;
    }
    if (XGDMatrixSetFloatInfo(dm, "label", label, (bst_ulong)x->rows)) {
        rc = xgb_fail(err, RL_ELIB, "setting the training labels");
        goto done;
    }
    if (XGBoosterCreate(&dm, 1, &bst)) {
        rc = xgb_fail(err, RL_ELIB, "creating a booster");
        goto done;
    }
    for (size_t i = 0; i < params->n; i++)
        if (XGBoosterSetParam(bst, params->a[i].key, params->a[i].val)) {
            char what[96];
            snprintf(what, sizeof what, "setting %s=%s", params->a[i].key, params->a[i].val);
            rc = xgb_fail(err, RL_ELIB, what);
            goto done;
        }
    for (int it = 0; it < rounds; it++)
        if (XGBoosterUpdateOneIter(bst, it, dm)) {
            rc = xgb_fail(err, RL_ELIB, "training");
            goto done;
        }
    const char *bytes = NULL;
    if (XGBoosterSaveModelToBuffer(bst, "{\"format\": \"ubj\"}", &ulen, &bytes)) {
        rc = xgb_fail(err, RL_ELIB, "serializing the trained model");
        goto done;
    }
    if (!(ubj = rl_malloc(ulen ? (size_t)ulen : 1))) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory training %s", k->name);
        goto done;
    }
    memcpy(ubj, bytes, (size_t)ulen);
done:
    if (bst) XGBoosterFree(bst);
    if (dm) XGDMatrixFree(dm);
    rl_free(label);
    if (rc) {
        rl_free(ubj);
        return rc;
    }
    return state_new(k->task, nclass, x->cols, ubj, (size_t)ulen, state, err);
}

/* ---- boosted decision trees ---- */

enum { B_LEAVES, B_MINLEAF, B_RATE, B_TREES, B_SEED, B_BINS, B_COUNT };

static const rl_param_spec BOOSTED[B_COUNT] = {
    {"maximum-number-of-leaves-per-tree", RL_PARAM_INT, 20, 2, 131072, NULL,
     "most leaves in one tree (XGBoost max_leaves)"},
    {"minimum-number-of-samples-per-leaf-node", RL_PARAM_INT, 10, 0, 2147483647, NULL,
     "least weight (hessian sum; rows for regression) in a leaf (XGBoost min_child_weight)"},
    {"learning-rate", RL_PARAM_DOUBLE, 0.2, 1e-6, 1, NULL, "shrinkage of each tree (eta)"},
    {"number-of-trees-constructed", RL_PARAM_INT, 100, 1, 100000, NULL,
     "boosting rounds (one tree per class per round)"},
    {"random-number-seed", RL_PARAM_INT, 0, 0, 2147483647, NULL, "seed"},
    {"max-bin", RL_PARAM_INT, 256, 2, 65536, NULL, "histogram bins per feature"},
};

static int train_boosted(const rl_learner_kind *k, const rl_params *p, const rl_matrix *x,
                         const double *y, int nclass, void **state, rl_error *err)
{
    kvs kv = {.n = 0};
    put_common(&kv, k->task, nclass);
    put_s(&kv, "grow_policy", "lossguide");
    put_s(&kv, "max_depth", "0");
    put_d(&kv, "max_leaves", p->v[B_LEAVES]);
    put_d(&kv, "min_child_weight", p->v[B_MINLEAF]);
    put_d(&kv, "eta", p->v[B_RATE]);
    put_d(&kv, "seed", p->v[B_SEED]);
    put_d(&kv, "max_bin", p->v[B_BINS]);
    return train_with(k, &kv, (int)p->v[B_TREES], x, y, nclass, state, err);
}

/* ---- decision forests ---- */

enum { F_TREES, F_DEPTH, F_MINLEAF, F_RESAMPLE, F_FRACTION, F_FEATURES, F_SEED, F_BINS, F_COUNT };

static const char *const RESAMPLING[] = {"bagging", "replicate", NULL};

static const rl_param_spec FOREST[F_COUNT] = {
    {"number-of-decision-trees", RL_PARAM_INT, 8, 1, 10000, NULL, "trees in the forest"},
    {"maximum-depth-of-the-decision-trees", RL_PARAM_INT, 32, 1, 64, NULL, "deepest split"},
    {"minimum-number-of-samples-per-leaf-node", RL_PARAM_INT, 1, 0, 2147483647, NULL,
     "least hessian weight in a leaf (XGBoost min_child_weight)"},
    {"resampling-method", RL_PARAM_ENUM, 0, 0, 1, RESAMPLING,
     "bagging: each tree sees a sample of the rows; replicate: all rows"},
    {"sampling-fraction", RL_PARAM_DOUBLE, 0.632, 1e-6, 1, NULL,
     "share of rows each tree sees when bagging (XGBoost subsample)"},
    {"feature-fraction", RL_PARAM_DOUBLE, 0.8, 1e-6, 1, NULL,
     "share of features tried at each split (XGBoost colsample_bynode)"},
    {"random-number-seed", RL_PARAM_INT, 0, 0, 2147483647, NULL, "seed"},
    {"max-bin", RL_PARAM_INT, 256, 2, 65536, NULL, "histogram bins per feature"},
};

static int train_forest(const rl_learner_kind *k, const rl_params *p, const rl_matrix *x,
                        const double *y, int nclass, void **state, rl_error *err)
{
    kvs kv = {.n = 0};
    put_common(&kv, k->task, nclass);
    put_d(&kv, "num_parallel_tree", p->v[F_TREES]);
    put_d(&kv, "max_depth", p->v[F_DEPTH]);
    put_d(&kv, "min_child_weight", p->v[F_MINLEAF]);
    put_d(&kv, "subsample", p->v[F_RESAMPLE] == 0 ? p->v[F_FRACTION] : 1.0);
    put_d(&kv, "colsample_bynode", p->v[F_FEATURES]);
    put_s(&kv, "eta", "1");
    put_s(&kv, "lambda", "1e-05");
    put_d(&kv, "seed", p->v[F_SEED]);
    put_d(&kv, "max_bin", p->v[F_BINS]);
    return train_with(k, &kv, 1, x, y, nclass, state, err);
}

/* ---- the kinds ---- */

static int bdt2_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                      void **state, rl_error *err)
{
    return train_boosted(&rl_two_class_boosted_decision_tree, p, x, y, nclass, state, err);
}

static int bdtm_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                      void **state, rl_error *err)
{
    return train_boosted(&rl_multiclass_boosted_decision_tree, p, x, y, nclass, state, err);
}

static int bdtr_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                      void **state, rl_error *err)
{
    return train_boosted(&rl_boosted_decision_tree_regression, p, x, y, nclass, state, err);
}

static int df2_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                     void **state, rl_error *err)
{
    return train_forest(&rl_two_class_decision_forest, p, x, y, nclass, state, err);
}

static int dfm_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                     void **state, rl_error *err)
{
    return train_forest(&rl_multiclass_decision_forest, p, x, y, nclass, state, err);
}

static int load_binary(const rl_params *p, int nclass, const void *data, size_t len, void **state,
                       rl_error *err)
{
    (void)p;
    return xgb_load(RL_TASK_BINARY, nclass, data, len, state, err);
}

static int load_multiclass(const rl_params *p, int nclass, const void *data, size_t len,
                           void **state, rl_error *err)
{
    (void)p;
    return xgb_load(RL_TASK_MULTICLASS, nclass, data, len, state, err);
}

static int load_regression(const rl_params *p, int nclass, const void *data, size_t len,
                           void **state, rl_error *err)
{
    (void)p;
    return xgb_load(RL_TASK_REGRESSION, nclass, data, len, state, err);
}

const rl_learner_kind rl_two_class_boosted_decision_tree = {
    "two-class-boosted-decision-tree",
    "Two-Class Boosted Decision Tree",
    RL_TASK_BINARY,
    "xgboost",
    BOOSTED,
    B_COUNT,
    bdt2_train,
    xgb_predict,
    xgb_save,
    load_binary,
    xgb_free,
    1,
};

const rl_learner_kind rl_multiclass_boosted_decision_tree = {
    "multiclass-boosted-decision-tree",
    "Multiclass Boosted Decision Tree",
    RL_TASK_MULTICLASS,
    "xgboost",
    BOOSTED,
    B_COUNT,
    bdtm_train,
    xgb_predict,
    xgb_save,
    load_multiclass,
    xgb_free,
    1,
};

const rl_learner_kind rl_boosted_decision_tree_regression = {
    "boosted-decision-tree-regression",
    "Boosted Decision Tree Regression",
    RL_TASK_REGRESSION,
    "xgboost",
    BOOSTED,
    B_COUNT,
    bdtr_train,
    xgb_predict,
    xgb_save,
    load_regression,
    xgb_free,
    1,
};

const rl_learner_kind rl_two_class_decision_forest = {
    "two-class-decision-forest",
    "Two-Class Decision Forest",
    RL_TASK_BINARY,
    "xgboost",
    FOREST,
    F_COUNT,
    df2_train,
    xgb_predict,
    xgb_save,
    load_binary,
    xgb_free,
    1,
};

const rl_learner_kind rl_multiclass_decision_forest = {
    "multiclass-decision-forest",
    "Multiclass Decision Forest",
    RL_TASK_MULTICLASS,
    "xgboost",
    FOREST,
    F_COUNT,
    dfm_train,
    xgb_predict,
    xgb_save,
    load_multiclass,
    xgb_free,
    1,
};
