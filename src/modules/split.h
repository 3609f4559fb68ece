/* split.h - Split Data: rows into two tables.
 *
 * Params (JSON, kebab-case): "fraction" (share of rows in the first output,
 * 0..1, default 0.5), "randomized-split" (default true), "random-seed"
 * (integer, default 0), "stratified-split" (default false) and
 * "stratification-key-column" (required when stratified). The same seed gives
 * the same split on every machine (base/rng.h); a stratified split keeps each
 * key value's share in both outputs. Row order within each output follows the
 * input order.
 * Exactly: the row indices (of each key value, missing values being one more
 * value, in order of first appearance) are shuffled by Fisher-Yates with
 * rl_rng_below from the last index down, and the first round(fraction * n)
 * go to the first output; not randomized, the first rows do.
 *
 * Thread safety: reentrant.
 */
#ifndef RL_MODULES_SPLIT_H
#define RL_MODULES_SPLIT_H

#include "base/error.h"
#include "data/table.h"

#include <jansson.h>

int rl_split_check(const json_t *params, rl_error *err);
int rl_split(const rl_table *in, const json_t *params, rl_table **first, rl_table **second,
             rl_error *err);

#endif
