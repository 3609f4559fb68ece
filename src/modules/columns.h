/* columns.h - Studio's column selector: which columns of a table a module
 * works on.
 *
 * A selector is JSON: "all"; an array of column names; or an object with any
 * of "all": true, "types": ["numeric","boolean","string","categorical",
 * "label","feature"], "include": [names], "exclude": [names] (all or types
 * first, then include adds, exclude removes). A name that is not in the table
 * is an RL_ESCHEMA error naming it and listing the table's columns.
 * Types form two groups, data types (numeric, boolean, string, categorical)
 * and kinds (label; feature = neither label nor score): a column matches when
 * it matches one type of each group given, so ["numeric", "feature"] means
 * numeric features. A selector that selects nothing by construction ({} or
 * {"all": false}), an empty or duplicated name list, and unknown keys or types
 * are RL_EINVAL.
 *
 * Thread safety: reentrant.
 */
#ifndef RL_MODULES_COLUMNS_H
#define RL_MODULES_COLUMNS_H

#include "base/error.h"
#include "data/table.h"

#include <jansson.h>

/* Validates a selector's shape without a table. */
int rl_columns_check(const json_t *sel, rl_error *err);
/* Resolves sel against t: *idx (rl_malloc'd, caller frees) gets the column
 * indices in table order, *n their count (may be 0). */
int rl_columns_select(const json_t *sel, const rl_table *t, size_t **idx, size_t *n,
                      rl_error *err);

#endif
