/* learner.c - the registry of learner kinds and their parameters.
 *
 * Kinds are found by their kebab-case name or Studio's name, any case, with
 * spaces and underscores read as hyphens ("Two-Class Boosted Decision Tree",
 * "two_class_boosted_decision_tree"). Parameters are found the same way.
 * Values arrive as text (CLI, forms) or JSON (experiments, model files) and
 * meet one validation: type, whole numbers for integers, the inclusive range
 * of the spec, finite values only. The kinds themselves live in xgboost.c,
 * liblinear.c and linreg.c.
 *
 * Thread safety: everything here is reentrant; the registry is constant.
 */
#include "learners/learner.h"
#include "base/mem.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rl_learner_kind *const ALL[] = {
    &rl_two_class_logistic_regression,
    &rl_two_class_support_vector_machine,
    &rl_two_class_boosted_decision_tree,
    &rl_two_class_decision_forest,
    &rl_multiclass_logistic_regression,
    &rl_multiclass_boosted_decision_tree,
    &rl_multiclass_decision_forest,
    &rl_boosted_decision_tree_regression,
    &rl_linear_regression,
    NULL,
};

/* One character as names compare: lower case, ' ' and '_' as '-'. */
static int name_char(unsigned char c)
{
    if (c == ' ' || c == '_') return '-';
    return tolower(c);
}

static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (name_char((unsigned char)*a) != name_char((unsigned char)*b)) return 0;
    return *a == *b;
}

const rl_learner_kind *rl_learner_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; ALL[i]; i++)
        if (name_eq(name, ALL[i]->name) || name_eq(name, ALL[i]->studio_name)) return ALL[i];
    return NULL;
}

const rl_learner_kind *const *rl_learner_all(void)
{
    return ALL;
}

size_t rl_learner_nout(const rl_learner_kind *k, int nclass)
{
    return k->task == RL_TASK_MULTICLASS && nclass > 1 ? (size_t)nclass : 1;
}

/* ---- parameters ---- */

static size_t nchoices(const rl_param_spec *s)
{
    size_t n = 0;
    while (s->choices && s->choices[n])
        n++;
    return n;
}

void rl_params_default(const rl_learner_kind *k, rl_params *p)
{
    assert(k->nparams <= RL_MAX_PARAMS);
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < k->nparams; i++)
        p->v[i] = k->params[i].def;
}

const char *rl_params_choice(const rl_learner_kind *k, const rl_params *p, size_t i)
{
    const rl_param_spec *s = &k->params[i];
    size_t n = nchoices(s);
    double v = p->v[i];
    return v >= 0 && v < (double)n ? s->choices[(size_t)v] : "";
}

static long find_param(const rl_learner_kind *k, const char *name)
{
    for (size_t i = 0; i < k->nparams; i++)
        if (name_eq(name, k->params[i].name)) return (long)i;
    return -1;
}

/* "a, b, c" of the kind's parameter names (or of spec's choices) into out. */
static const char *join_names(const rl_learner_kind *k, const rl_param_spec *spec, char *out,
                              size_t cap)
{
    size_t used = 0, n = spec ? nchoices(spec) : k->nparams;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        const char *s = spec ? spec->choices[i] : k->params[i].name;
        int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", s);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (n == 0) snprintf(out, cap, "(none)");
    return out;
}

static int unknown_param(const rl_learner_kind *k, const char *name, rl_error *err)
{
    char names[640];
    return rl_error_set(err, RL_EINVAL, "%s has no parameter '%s'; valid parameters: %s", k->name,
                        name, join_names(k, NULL, names, sizeof names));
}

/* Validates v for parameter i and stores it. */
static int set_value(const rl_learner_kind *k, rl_params *p, size_t i, double v, rl_error *err)
{
    const rl_param_spec *s = &k->params[i];
    char a[32], b[32], c[32];
    if (!isfinite(v))
        return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be a finite number", s->name,
                            k->name);
    switch (s->type) {
    case RL_PARAM_INT:
        if (v != floor(v)) {
            c[rl_format_double(c, v)] = '\0';
            return rl_error_set(err, RL_EINVAL,
                                "parameter '%s' of %s must be a whole number, got %s", s->name,
                                k->name, c);
        }
        break;
    case RL_PARAM_BOOL:
        if (v != 0 && v != 1)
            return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be true or false",
                                s->name, k->name);
        break;
    case RL_PARAM_ENUM:
        if (v != floor(v) || v < 0 || v >= (double)nchoices(s)) {
            char names[512];
            return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be one of: %s", s->name,
                                k->name, join_names(k, s, names, sizeof names));
        }
        break;
    case RL_PARAM_DOUBLE:
        break;
    }
    if (v < s->min || v > s->max) {
        a[rl_format_double(a, s->min)] = '\0';
        b[rl_format_double(b, s->max)] = '\0';
        c[rl_format_double(c, v)] = '\0';
        return rl_error_set(err, RL_EINVAL,
                            "parameter '%s' of %s must be between %s and %s, got %s", s->name,
                            k->name, a, b, c);
    }
    p->v[i] = v;
    return RL_OK;
}

/* Parses text for parameter i (already found) and stores it. */
static int set_text(const rl_learner_kind *k, rl_params *p, size_t i, const char *value,
                    rl_error *err)
{
    const rl_param_spec *s = &k->params[i];
    const char *b = value, *e = value + strlen(value);
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    size_t n = (size_t)(e - b);
    char text[128];
    if (n >= sizeof text)
        return rl_error_set(err, RL_EINVAL,
                            "parameter '%s' of %s: value of %zu characters is "
                            "too long",
                            s->name, k->name, n);
    memcpy(text, b, n);
    text[n] = '\0';

    if (s->type == RL_PARAM_BOOL) {
        static const char *const yes[] = {"true", "yes", "1", NULL};
        static const char *const no[] = {"false", "no", "0", NULL};
        for (size_t j = 0; yes[j]; j++) {
            if (name_eq(text, yes[j])) return set_value(k, p, i, 1, err);
            if (name_eq(text, no[j])) return set_value(k, p, i, 0, err);
        }
        return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be true or false, got '%s'",
                            s->name, k->name, value);
    }
    if (s->type == RL_PARAM_ENUM) {
        for (size_t j = 0; s->choices && s->choices[j]; j++)
            if (name_eq(text, s->choices[j])) return set_value(k, p, i, (double)j, err);
        char names[512];
        return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be one of: %s; got '%s'",
                            s->name, k->name, join_names(k, s, names, sizeof names), value);
    }
    char *end = NULL;
    errno = 0;
    double v = n ? strtod(text, &end) : 0;
    if (!n || end != text + n || errno == ERANGE || isnan(v))
        return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be %s, got '%s'", s->name,
                            k->name, s->type == RL_PARAM_INT ? "a whole number" : "a number",
                            value);
    return set_value(k, p, i, v, err);
}

int rl_params_set(const rl_learner_kind *k, rl_params *p, const char *name, const char *value,
                  rl_error *err)
{
    long i = find_param(k, name);
    if (i < 0) return unknown_param(k, name, err);
    rl_params tmp = *p;
    int rc = set_text(k, &tmp, (size_t)i, value, err);
    if (rc == RL_OK) *p = tmp;
    return rc;
}

/* One member of a JSON object. */
static int set_json(const rl_learner_kind *k, rl_params *p, const char *key, const json_t *val,
                    rl_error *err)
{
    long i = find_param(k, key);
    if (i < 0) return unknown_param(k, key, err);
    const rl_param_spec *s = &k->params[i];
    if (json_is_string(val)) return set_text(k, p, (size_t)i, json_string_value(val), err);
    if (json_is_boolean(val)) {
        if (s->type != RL_PARAM_BOOL)
            return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be %s, not a boolean",
                                s->name, k->name,
                                s->type == RL_PARAM_ENUM ? "a choice name" : "a number");
        return set_value(k, p, (size_t)i, json_is_true(val) ? 1 : 0, err);
    }
    if (json_is_number(val) && s->type != RL_PARAM_ENUM)
        return set_value(k, p, (size_t)i, json_number_value(val), err);
    return rl_error_set(err, RL_EINVAL, "parameter '%s' of %s must be %s", s->name, k->name,
                        s->type == RL_PARAM_ENUM   ? "a choice name (a string)"
                        : s->type == RL_PARAM_BOOL ? "true or false"
                                                   : "a number");
}

int rl_params_from_json(const rl_learner_kind *k, const json_t *obj, rl_params *p, rl_error *err)
{
    if (!json_is_object(obj))
        return rl_error_set(err, RL_EINVAL, "parameters of %s must be a JSON object", k->name);
    rl_params tmp = *p;
    char msg[RL_ERROR_MSG_MAX];
    size_t used = 0;
    int rc = RL_OK;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        rl_error one;
        rl_error_clear(&one);
        int r = set_json(k, &tmp, key, val, &one);
        if (r == RL_OK) continue;
        if (rc == RL_OK) rc = r;
        int w = snprintf(msg + used, sizeof msg - used, "%s%s", used ? "\n" : "", one.msg);
        if (w > 0) used += (size_t)w < sizeof msg - used ? (size_t)w : sizeof msg - used - 1;
    }
    if (rc != RL_OK) return rl_error_set(err, rc, "%s", msg);
    *p = tmp;
    return RL_OK;
}

json_t *rl_params_to_json(const rl_learner_kind *k, const rl_params *p)
{
    json_t *o = json_object();
    if (!o) return NULL;
    for (size_t i = 0; i < k->nparams; i++) {
        const rl_param_spec *s = &k->params[i];
        json_t *v = NULL;
        switch (s->type) {
        case RL_PARAM_INT:
            v = json_integer((json_int_t)p->v[i]);
            break;
        case RL_PARAM_DOUBLE:
            v = json_real(p->v[i]);
            break;
        case RL_PARAM_BOOL:
            v = json_boolean(p->v[i] != 0);
            break;
        case RL_PARAM_ENUM:
            v = json_string(rl_params_choice(k, p, i));
            break;
        }
        if (json_object_set_new(o, s->name, v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
