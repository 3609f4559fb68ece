/* transform.c - fitted transforms: dispatch by module name, reference
 * counting, JSON (de)serialization, and the parameter and JSON helpers the
 * module files share (transform_impl.h).
 *
 * A transform is {kind, params (a private copy), state}. The kind (select.c,
 * metadata.c, clean.c, normalize.c) owns the meaning of the state; this file
 * only routes calls and keeps the object alive while references exist.
 *
 * Thread safety: fitted transforms are immutable; ref/unref are atomic.
 */
#include "modules/transform.h"
#include "base/buf.h"
#include "base/mem.h"
#include "modules/columns.h"
#include "modules/transform_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rl_transform {
    _Atomic long refs;
    const rl_transform_kind *kind;
    json_t *params; /* an object, never NULL */
    void *state;
};

static const rl_transform_kind *const kinds[] = {&rl_select_kind, &rl_metadata_kind, &rl_clean_kind,
                                                 &rl_normalize_kind, NULL};

/* ---- problem lists ---- */

void rl_problems_init(rl_problems *p)
{
    p->code = RL_OK;
    p->n = p->kept = p->len = 0;
    p->msg[0] = '\0';
}

void rl_problems_add(rl_problems *p, int code, const char *fmt, ...)
{
    char line[RL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->code == RL_OK) p->code = code;
    p->n++;
    if (n < 0) return;
    size_t k = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    /* Keep room for the "and N more" line. */
    size_t sep = p->len ? 1 : 0;
    if (p->len + sep + k + 40 >= sizeof p->msg && p->kept > 0) return;
    if (p->len + sep + k + 40 >= sizeof p->msg) k = sizeof p->msg - 41 - p->len - sep;
    if (sep) p->msg[p->len++] = '\n';
    memcpy(p->msg + p->len, line, k);
    p->len += k;
    p->msg[p->len] = '\0';
    p->kept++;
}

int rl_problems_finish(const rl_problems *p, rl_error *err)
{
    if (p->n == 0) return RL_OK;
    if (p->kept < p->n)
        return rl_error_set(err, p->code, "%s\n(and %zu more problems)", p->msg, p->n - p->kept);
    return rl_error_set(err, p->code, "%s", p->msg);
}

/* ---- params ---- */

const json_t *rl_param_get(const json_t *params, const char *key)
{
    if (!json_is_object(params)) return NULL;
    const json_t *v = json_object_get(params, key);
    return json_is_null(v) ? NULL : v;
}

void rl_params_check_keys(const json_t *params, const char *module, const char *const *allowed,
                          rl_problems *p)
{
    if (!params || json_is_null(params)) return;
    if (!json_is_object(params)) {
        rl_problems_add(p, RL_EINVAL, "%s: params must be a JSON object like {\"%s\": ...}", module,
                        allowed[0] ? allowed[0] : "");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        int known = 0;
        for (size_t i = 0; allowed[i]; i++)
            known |= strcmp(key, allowed[i]) == 0;
        if (known) continue;
        char list[400];
        size_t len = 0;
        list[0] = '\0';
        for (size_t i = 0; allowed[i] && len < sizeof list; i++)
            len +=
                (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
        rl_problems_add(p, RL_EINVAL, "%s: unknown param \"%s\"; its params are: %s", module, key,
                        list);
    }
}

int rl_param_enum(const json_t *params, const char *module, const char *key,
                  const char *const *values, int def, rl_problems *p)
{
    const json_t *v = rl_param_get(params, key);
    if (!v) return def;
    if (json_is_string(v))
        for (int i = 0; values[i]; i++)
            if (strcasecmp(json_string_value(v), values[i]) == 0) return i;
    char list[400];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; values[i] && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", values[i]);
    if (json_is_string(v))
        rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" is '%s'; use one of: %s", module, key,
                        json_string_value(v), list);
    else
        rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" must be a string, one of: %s", module, key,
                        list);
    return def;
}

/* Parses all of s as a double (strtod; surrounding spaces allowed). */
static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v)) return 0;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end) return 0;
    *out = v;
    return 1;
}

double rl_param_number(const json_t *params, const char *module, const char *key, double def,
                       double lo, double hi, rl_problems *p)
{
    const json_t *j = rl_param_get(params, key);
    if (!j) return def;
    double v;
    if (json_is_number(j)) {
        v = json_number_value(j);
    } else if (!json_is_string(j) || !parse_double(json_string_value(j), &v)) {
        rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" must be a number between %g and %g", module,
                        key, lo, hi);
        return def;
    }
    if (!(v >= lo && v <= hi)) {
        rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" is %g; it must be between %g and %g",
                        module, key, v, lo, hi);
        return def;
    }
    return v;
}

int rl_param_bool(const json_t *params, const char *module, const char *key, int def,
                  rl_problems *p)
{
    const json_t *j = rl_param_get(params, key);
    if (!j) return def;
    if (json_is_boolean(j)) return json_is_true(j);
    if (json_is_string(j)) {
        if (strcasecmp(json_string_value(j), "true") == 0) return 1;
        if (strcasecmp(json_string_value(j), "false") == 0) return 0;
    }
    rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" must be true or false", module, key);
    return def;
}

uint64_t rl_param_u64(const json_t *params, const char *module, const char *key, uint64_t def,
                      rl_problems *p)
{
    const json_t *j = rl_param_get(params, key);
    if (!j) return def;
    if (json_is_integer(j) && json_integer_value(j) >= 0) return (uint64_t)json_integer_value(j);
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (*s >= '0' && *s <= '9' && *end == '\0' && errno == 0) return v;
    }
    rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" must be a whole number, 0 or more", module,
                    key);
    return def;
}

const char *rl_param_string(const json_t *params, const char *module, const char *key,
                            const char *def, rl_problems *p)
{
    const json_t *j = rl_param_get(params, key);
    if (!j) return def;
    if (json_is_string(j)) return json_string_value(j);
    rl_problems_add(p, RL_EINVAL, "%s: param \"%s\" must be a string", module, key);
    return def;
}

const json_t *rl_param_selector(const json_t *params, const char *module, const char *key,
                                int required, rl_problems *p)
{
    const json_t *j = rl_param_get(params, key);
    if (!j) {
        if (required)
            rl_problems_add(p, RL_EINVAL,
                            "%s: param \"%s\" is required; give \"all\", a list of names like "
                            "[\"age\"], or a rule like {\"types\": [\"numeric\"]}",
                            module, key);
        return NULL;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: param \"%s\"", module, key);
    size_t before = p->n;
    rl_columns_check_into(j, what, p);
    return p->n == before ? j : NULL;
}

/* ---- JSON ---- */

json_t *rl_json_double(double v)
{
    if (isnan(v)) return json_string("NaN");
    if (isinf(v)) return json_string(v < 0 ? "-Infinity" : "Infinity");
    return json_real(v);
}

int rl_json_get_double(const json_t *j, double *v)
{
    if (json_is_real(j)) {
        *v = json_real_value(j);
        return 0;
    }
    if (json_is_integer(j)) {
        *v = (double)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (strcmp(s, "NaN") == 0)
            *v = NAN;
        else if (strcmp(s, "Infinity") == 0)
            *v = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            *v = -INFINITY;
        else
            return -1;
        return 0;
    }
    return -1;
}

json_t *rl_json_strings(char *const *s, size_t n)
{
    json_t *a = json_array();
    if (!a) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(a, json_string(s[i]))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

void rl_strings_free(char **s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < n; i++)
        rl_free(s[i]);
    rl_free(s);
}

int rl_json_get_strings(const json_t *j, const char *what, char ***out, size_t *n, rl_error *err)
{
    if (!json_is_array(j))
        return rl_error_set(err, RL_EFORMAT, "%s must be a list of strings", what);
    size_t count = json_array_size(j);
    char **s = rl_calloc(count ? count : 1, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, "out of memory reading %s", what);
    for (size_t i = 0; i < count; i++) {
        const json_t *v = json_array_get(j, i);
        if (!json_is_string(v)) {
            rl_strings_free(s, count);
            return rl_error_set(err, RL_EFORMAT, "%s: item %zu is not a string", what, i + 1);
        }
        s[i] = rl_strndup(json_string_value(v), json_string_length(v));
        if (!s[i]) {
            rl_strings_free(s, count);
            return rl_error_set(err, RL_ENOMEM, "out of memory reading %s", what);
        }
    }
    *out = s;
    *n = count;
    return RL_OK;
}

int rl_json_set(json_t *obj, const char *key, json_t *v)
{
    if (!v) return -1;
    return json_object_set_new(obj, key, v);
}

const char *rl_table_label_name(const rl_table *t)
{
    long l = rl_table_label(t);
    return l < 0 ? NULL : rl_table_col(t, (size_t)l)->name;
}

int rl_strdup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s) return 0;
    *out = rl_strdup(s);
    return *out ? 0 : -1;
}

json_t *rl_state_save(json_t *columns, const char *label)
{
    json_t *j = json_object();
    if (!j) {
        json_decref(columns);
        return NULL;
    }
    if (rl_json_set(j, "columns", columns) ||
        rl_json_set(j, "label", label ? json_string(label) : json_null())) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int rl_state_get_label(const json_t *state, const char *module, char **label, rl_error *err)
{
    const json_t *l = json_object_get(state, "label");
    if (l && !json_is_null(l) && !json_is_string(l))
        return rl_error_set(err, RL_EFORMAT, "%s state: \"label\" must be a string or null",
                            module);
    if (rl_strdup_opt(json_string_value(l), label))
        return rl_error_set(err, RL_ENOMEM, "%s: out of memory", module);
    return RL_OK;
}

/* ---- transforms ---- */

static const rl_transform_kind *find_kind(const char *module)
{
    if (!module) return NULL;
    for (size_t i = 0; kinds[i]; i++)
        if (strcasecmp(module, kinds[i]->module) == 0) return kinds[i];
    return NULL;
}

static int unknown_module(const char *module, int code, rl_error *err)
{
    return rl_error_set(err, code,
                        "'%s' is not a transform module; the transforms are Select Columns in "
                        "Dataset, Edit Metadata, Clean Missing Data, Normalize Data",
                        module ? module : "(null)");
}

int rl_transform_is_module(const char *module)
{
    return find_kind(module) != NULL;
}

int rl_transform_check(const char *module, const json_t *params, rl_error *err)
{
    const rl_transform_kind *k = find_kind(module);
    if (!k) return unknown_module(module, RL_EINVAL, err);
    rl_problems p;
    rl_problems_init(&p);
    k->check(params, &p);
    return rl_problems_finish(&p, err);
}

/* Wraps a state into a transform; frees the state on failure. */
static int transform_new(const rl_transform_kind *k, const json_t *params, void *state,
                         rl_transform **out, rl_error *err)
{
    rl_transform *tr = rl_calloc(1, sizeof *tr);
    json_t *copy = json_is_object(params) ? json_deep_copy(params) : json_object();
    if (!tr || !copy) {
        rl_free(tr);
        json_decref(copy);
        k->free(state);
        return rl_error_set(err, RL_ENOMEM, "%s: out of memory", k->module);
    }
    atomic_init(&tr->refs, 1);
    tr->kind = k;
    tr->params = copy;
    tr->state = state;
    *out = tr;
    return RL_OK;
}

int rl_transform_fit(const char *module, const json_t *params, const rl_table *in,
                     rl_transform **out, rl_error *err)
{
    const rl_transform_kind *k = find_kind(module);
    if (!k) return unknown_module(module, RL_EINVAL, err);
    rl_problems p;
    rl_problems_init(&p);
    k->check(params, &p);
    if (p.n) return rl_problems_finish(&p, err);
    void *state = NULL;
    int rc = k->fit(json_is_null(params) ? NULL : params, in, &state, err);
    if (rc) return rc;
    return transform_new(k, params, state, out, err);
}

int rl_transform_apply(const rl_transform *tr, const rl_table *in, rl_table **out, rl_error *err)
{
    return tr->kind->apply(tr->state, in, out, err);
}

int rl_transform_fit_apply(const char *module, const json_t *params, const rl_table *in,
                           rl_transform **tr, rl_table **out, rl_error *err)
{
    rl_transform *t = NULL;
    rl_table *o = NULL;
    int rc = rl_transform_fit(module, params, in, &t, err);
    if (rc) return rc;
    rc = rl_transform_apply(t, in, &o, err);
    if (rc) {
        rl_transform_unref(t);
        return rc;
    }
    *tr = t;
    *out = o;
    return RL_OK;
}

const char *rl_transform_module(const rl_transform *tr)
{
    return tr->kind->module;
}

json_t *rl_transform_to_json(const rl_transform *tr)
{
    json_t *j = json_object();
    if (!j) return NULL;
    if (rl_json_set(j, "module", json_string(tr->kind->module)) ||
        rl_json_set(j, "params", json_deep_copy(tr->params)) ||
        rl_json_set(j, "state", tr->kind->save(tr->state))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int rl_transform_from_json(const json_t *j, rl_transform **out, rl_error *err)
{
    if (!json_is_object(j))
        return rl_error_set(err, RL_EFORMAT,
                            "a transform must be a JSON object with \"module\", "
                            "\"params\" and \"state\"");
    const json_t *m = json_object_get(j, "module");
    if (!json_is_string(m))
        return rl_error_set(err, RL_EFORMAT, "a transform has no \"module\" name");
    const rl_transform_kind *k = find_kind(json_string_value(m));
    if (!k) {
        unknown_module(json_string_value(m), RL_EFORMAT, err);
        rl_error_wrap(err, "reading a saved transform (written by a newer relearn?)");
        return RL_EFORMAT;
    }
    const json_t *params = json_object_get(j, "params");
    const json_t *state = json_object_get(j, "state");
    if (params && !json_is_object(params))
        return rl_error_set(err, RL_EFORMAT, "%s: \"params\" must be an object", k->module);
    if (!json_is_object(state))
        return rl_error_set(err, RL_EFORMAT, "%s: the transform has no \"state\" object",
                            k->module);
    rl_problems p;
    rl_problems_init(&p);
    k->check(params, &p);
    if (p.n) {
        rl_problems_finish(&p, err);
        rl_error_wrap(err, "reading a saved transform");
        if (err) err->code = RL_EFORMAT;
        return RL_EFORMAT;
    }
    void *st = NULL;
    int rc = k->load(params, state, &st, err);
    if (rc) return rc;
    return transform_new(k, params, st, out, err);
}

rl_transform *rl_transform_ref(rl_transform *tr)
{
    atomic_fetch_add(&tr->refs, 1);
    return tr;
}

void rl_transform_unref(rl_transform *tr)
{
    if (!tr) return;
    if (atomic_fetch_sub(&tr->refs, 1) != 1) return;
    tr->kind->free(tr->state);
    json_decref(tr->params);
    rl_free(tr);
}
