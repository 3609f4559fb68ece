/* transform.h - modules that learn from training data and replay on new data.
 *
 * Select Columns in Dataset, Edit Metadata, Clean Missing Data and Normalize
 * Data are transforms: fitted once on a table (learning fill values,
 * normalization parameters, the columns a selector resolved to), then applied
 * to any table with the same columns, so that scoring and retraining data are
 * processed exactly as the training data was. A trained model carries the
 * chain of transforms its training data went through (model/model.h).
 *
 * Parameters are a JSON object with kebab-case keys (docs/modules.md):
 *   Select Columns in Dataset  {"columns": SELECTOR}
 *   Edit Metadata              {"columns": SELECTOR, "data-type": "unchanged|numeric|
 *                               boolean|string", "categorical": "unchanged|
 *                               make-categorical|make-non-categorical", "fields":
 *                               "unchanged|label|feature|clear-label|clear-feature",
 *                               "new-column-names": "a,b,c"}
 *   Clean Missing Data         {"columns": SELECTOR (default all),
 *                               "cleaning-mode": "replace-with-mean|replace-with-median|
 *                               replace-with-mode|custom-substitution-value|
 *                               remove-entire-row|remove-entire-column",
 *                               "replacement-value": "text",
 *                               "minimum-missing-value-ratio": 0,
 *                               "maximum-missing-value-ratio": 1}
 *   Normalize Data             {"columns": SELECTOR (default numeric non-label),
 *                               "transformation-method": "zscore|minmax"}
 * A SELECTOR (modules/columns.h) is "all", an array of names, or an object
 * {"all": true, "types": [...], "include": [...], "exclude": [...]}.
 * Unknown keys, bad values and unknown columns are RL_EINVAL / RL_ESCHEMA
 * errors naming them; every problem is listed.
 *
 * Applying to a table that lacks a column the transform needs is RL_ESCHEMA,
 * except the label column: data to score may come without its label.
 *
 * Ownership: transforms are reference-counted (ref/unref, atomic); fitted
 * transforms are immutable. Tables returned belong to the caller.
 * Thread safety: a fitted transform may be applied from many threads at once.
 */
#ifndef RL_MODULES_TRANSFORM_H
#define RL_MODULES_TRANSFORM_H

#include "base/error.h"
#include "data/table.h"

#include <jansson.h>

typedef struct rl_transform rl_transform;

/* Whether module (Studio's name, e.g. "Clean Missing Data") is a transform. */
int rl_transform_is_module(const char *module);
/* Validates params for module without data (for experiment validation).
 * Every problem is listed in err, one per line. */
int rl_transform_check(const char *module, const json_t *params, rl_error *err);
/* Fits module with params (NULL: defaults) on in. */
int rl_transform_fit(const char *module, const json_t *params, const rl_table *in,
                     rl_transform **out, rl_error *err);
/* Applies a fitted transform: *out is a new table (sharing unchanged columns). */
int rl_transform_apply(const rl_transform *tr, const rl_table *in, rl_table **out,
                       rl_error *err);
/* Fits and applies in one step (what a module node in an experiment does). */
int rl_transform_fit_apply(const char *module, const json_t *params, const rl_table *in,
                           rl_transform **tr, rl_table **out, rl_error *err);
const char *rl_transform_module(const rl_transform *tr);

/* {"module": "...", "params": {...}, "state": {...}}; doubles written so they
 * read back exactly. */
json_t *rl_transform_to_json(const rl_transform *tr);
int rl_transform_from_json(const json_t *j, rl_transform **out, rl_error *err);

rl_transform *rl_transform_ref(rl_transform *tr);
void rl_transform_unref(rl_transform *tr); /* accepts NULL */

#endif
