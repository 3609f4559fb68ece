/* features.h - turning a table into the numeric matrix learners consume.
 *
 * Fitted on the training table: every column but the label (and columns Score
 * Model appended) is a feature. Numeric and boolean columns become one matrix
 * column each (missing stays NAN); string columns become one column per level
 * seen in training (one-hot), so a level never seen in training scores as all
 * zeros, never as an error, and a missing string as all zeros.
 *
 * Ownership: rl_features objects belong to the caller; matrices returned hold
 * rl_malloc'd data the caller frees with rl_free(m.data).
 * Thread safety: a fitted rl_features may be used from many threads at once.
 */
#ifndef RL_LEARNERS_FEATURES_H
#define RL_LEARNERS_FEATURES_H

#include "base/error.h"
#include "data/table.h"
#include "learners/learner.h"

#include <jansson.h>

typedef struct rl_features rl_features;

/* Fits the feature layout on t, leaving out the column named label (may be
 * NULL) and RL_COL_SCORE columns. Fails with RL_ESCHEMA when no feature is left. */
int rl_features_fit(const rl_table *t, const char *label, rl_features **out, rl_error *err);
void rl_features_free(rl_features *f);
/* The matrix width. */
size_t rl_features_dim(const rl_features *f);
/* The number of input columns and their names and types (borrowed). */
size_t rl_features_ncols(const rl_features *f);
const char *rl_features_col_name(const rl_features *f, size_t i);
rl_type rl_features_col_type(const rl_features *f, size_t i);

/* Builds the matrix for t. Columns are found by name (extra columns are
 * ignored). A missing feature column gives RL_ESCHEMA naming it. A column of
 * another type than in training is converted with rl_column_convert() (numeric
 * text in a string column reads as numbers); one that cannot be converted
 * gives RL_ESCHEMA naming the column, the row and the value. */
int rl_features_matrix(const rl_features *f, const rl_table *t, rl_matrix *out, rl_error *err);

/* Fills rows first..first+count-1 of t's matrix into data (count * dim
 * doubles, the caller's), so large tables can be processed in blocks without
 * building the whole matrix. Same conversions and errors as
 * rl_features_matrix. */
int rl_features_fill(const rl_features *f, const rl_table *t, size_t first, size_t count,
                     double *data, rl_error *err);

/* Serialization, for the model file. */
json_t *rl_features_to_json(const rl_features *f);
int rl_features_from_json(const json_t *j, rl_features **out, rl_error *err);

#endif
