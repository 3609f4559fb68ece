/* census.h - a deterministic generator of census-like data.
 *
 * Rows shaped like the Adult census sample of Studio's retraining walkthrough:
 * age, workclass, fnlwgt, education, education-num, marital-status,
 * occupation, relationship, race, sex, capital-gain, capital-loss,
 * hours-per-week, native-country, and the binary label income ("<=50K" or
 * ">50K"), with missing values in workclass, occupation and native-country.
 * The same (rows, seed, shift) gives the same table on every machine; `shift`
 * (0 = the base distribution, 1 = a clearly different one) moves the feature
 * distributions and the label's dependence on them so that a model retrained
 * on shifted data differs from the first.
 *
 * Thread safety: reentrant.
 */
#ifndef RL_DATA_CENSUS_H
#define RL_DATA_CENSUS_H

#include "base/error.h"
#include "data/table.h"

#include <stdint.h>

/* Generates `rows` rows (0 allowed, at most 1,000,000,000) from `seed` at
 * `shift` (0..1) into a new table *out owned by the caller. Columns, in order:
 * age, workclass, fnlwgt, education, education-num, marital-status,
 * occupation, relationship, race, sex, capital-gain, capital-loss,
 * hours-per-week, native-country, income. Numbers are integers in numeric
 * columns; text is in string columns with no flags set (as a CSV read gives),
 * levels in first-seen order, missing as code -1. Returns RL_OK, RL_EINVAL
 * (shift out of range or not a number, too many rows) or RL_ENOMEM; *out is
 * written only on success. */
int rl_census_generate(size_t rows, uint64_t seed, double shift, rl_table **out, rl_error *err);

#endif
