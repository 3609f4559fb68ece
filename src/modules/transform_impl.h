/* transform_impl.h - what the module files share inside src/modules (not a
 * public header: only the .c files of src/modules include it).
 *
 * - rl_problems collects every problem found in a module's params, one per
 *   line, so that a user sees them all at once;
 * - rl_param_* read kebab-case params with defaults, ranges and allowed
 *   values, adding a problem (naming module and param, saying how to fix it)
 *   instead of failing on the first;
 * - the JSON helpers write doubles so that they read back bit for bit;
 * - rl_transform_kind is the table of functions behind each transform module
 *   (select.c, metadata.c, clean.c, normalize.c), dispatched by transform.c.
 *
 * Ownership: a kind's fit()/load() return a state owned by the caller and freed
 * with its free(); apply() only reads the state (so may run on many threads).
 */
#ifndef RL_MODULES_TRANSFORM_IMPL_H
#define RL_MODULES_TRANSFORM_IMPL_H

#include "base/error.h"
#include "data/table.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- problem lists ---- */

typedef struct rl_problems {
    int code;    /* the first problem's code; RL_OK while there is none */
    size_t n;    /* problems added */
    size_t kept; /* problems that fit in msg */
    size_t len;
    char msg[RL_ERROR_MSG_MAX];
} rl_problems;

void rl_problems_init(rl_problems *p);
/* Adds one problem (one line). */
void rl_problems_add(rl_problems *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* RL_OK when no problem was added; else sets err to every problem, one per
 * line, and returns the first problem's code. */
int rl_problems_finish(const rl_problems *p, rl_error *err);

/* ---- params (module names the module in messages) ---- */

/* Problems for every key of params not in allowed (NULL-terminated) and for
 * params that are neither NULL nor an object. */
void rl_params_check_keys(const json_t *params, const char *module, const char *const *allowed,
                          rl_problems *p);
/* The member key of params, or NULL (params may be NULL; JSON null counts as
 * absent). */
const json_t *rl_param_get(const json_t *params, const char *key);
/* The index in values (NULL-terminated; matched ignoring case) of the string
 * param key; def when absent; def and a problem listing the values when bad. */
int rl_param_enum(const json_t *params, const char *module, const char *key,
                  const char *const *values, int def, rl_problems *p);
/* A number (or a string holding one) in [lo, hi]; def when absent. */
double rl_param_number(const json_t *params, const char *module, const char *key, double def,
                       double lo, double hi, rl_problems *p);
/* true/false (or "true"/"false"); def when absent. */
int rl_param_bool(const json_t *params, const char *module, const char *key, int def,
                  rl_problems *p);
/* A non-negative integer (or a string holding one); def when absent. */
uint64_t rl_param_u64(const json_t *params, const char *module, const char *key, uint64_t def,
                      rl_problems *p);
/* A string (borrowed from params); def when absent or bad. */
const char *rl_param_string(const json_t *params, const char *module, const char *key,
                            const char *def, rl_problems *p);
/* The column selector key (checked with rl_columns_check rules); NULL when
 * absent, with a problem when required. */
const json_t *rl_param_selector(const json_t *params, const char *module, const char *key,
                                int required, rl_problems *p);

/* ---- column selection (columns.c) ---- */

/* Adds the problems of selector sel to p; what prefixes each line. */
void rl_columns_check_into(const json_t *sel, const char *what, rl_problems *p);
/* Like rl_columns_select, but a selector that is a plain array of names keeps
 * the order of the array (Select Columns, Edit Metadata's renames). */
int rl_columns_select_ordered(const json_t *sel, const rl_table *t, size_t **idx, size_t *n,
                              rl_error *err);
/* The column names of t, comma-separated, cut to fit size (with "..."). */
void rl_columns_describe(const rl_table *t, char *out, size_t size);
/* Finds fitted column names in t: idx[i] gets the index of names[i], or -1
 * when it is absent and equals skippable (the label at fit time, may be NULL).
 * Any other absent name is RL_ESCHEMA naming them all. */
int rl_columns_find_fitted(const char *module, char *const *names, size_t n, const char *skippable,
                           const rl_table *t, long *idx, rl_error *err);

/* ---- JSON ---- */

/* A JSON number that reads back as exactly v (json_real; jansson prints 17
 * significant digits unless told fewer); "NaN", "Infinity" or "-Infinity" as
 * strings since JSON has no such numbers. NULL when out of memory. */
json_t *rl_json_double(double v);
/* Reads what rl_json_double wrote (and integers); 0 on success, -1 when j is
 * not such a value. */
int rl_json_get_double(const json_t *j, double *v);
/* A JSON array of n strings, or NULL when out of memory. */
json_t *rl_json_strings(char *const *s, size_t n);
/* Copies a JSON array of strings; RL_EFORMAT (err names what) when j is not
 * one, RL_ENOMEM. *out is rl_malloc'd, freed with rl_strings_free. */
int rl_json_get_strings(const json_t *j, const char *what, char ***out, size_t *n, rl_error *err);
void rl_strings_free(char **s, size_t n);
/* Sets key of obj to v, taking v; -1 when v is NULL or out of memory. */
int rl_json_set(json_t *obj, const char *key, json_t *v);

/* ---- transform kinds ---- */

typedef struct rl_transform_kind {
    const char *module; /* Studio's name */
    /* Adds every problem of params (NULL: defaults) to p. */
    void (*check)(const json_t *params, rl_problems *p);
    /* Fits on in (params already an object or NULL). */
    int (*fit)(const json_t *params, const rl_table *in, void **state, rl_error *err);
    int (*apply)(const void *state, const rl_table *in, rl_table **out, rl_error *err);
    /* The fitted part of the state as JSON; NULL when out of memory. */
    json_t *(*save)(const void *state);
    /* Rebuilds a state from params and what save() wrote. */
    int (*load)(const json_t *params, const json_t *state, void **out, rl_error *err);
    void (*free)(void *state);
} rl_transform_kind;

extern const rl_transform_kind rl_select_kind;
extern const rl_transform_kind rl_metadata_kind;
extern const rl_transform_kind rl_clean_kind;
extern const rl_transform_kind rl_normalize_kind;

/* The label column's name in t (borrowed), or NULL. */
const char *rl_table_label_name(const rl_table *t);
/* Copies s (NULL stays NULL); -1 when out of memory. */
int rl_strdup_opt(const char *s, char **out);

/* ---- fitted state shared by the kinds ---- */

/* The state object {"columns": columns, "label": label or null} that every
 * kind's save() writes; takes columns (NULL: out of memory). NULL when out of
 * memory. */
json_t *rl_state_save(json_t *columns, const char *label);
/* Reads "label" of a saved state (absent or null: *label = NULL) into a copy
 * *label owned by the caller. RL_EFORMAT when it is neither a string nor
 * null, RL_ENOMEM; module names the module in messages. */
int rl_state_get_label(const json_t *state, const char *module, char **label, rl_error *err);

#endif
