/* default.c - which learner to use when the user names none. */
#include "data/table.h"
#include "learners/learner.h"

#include <math.h>

const rl_learner_kind *rl_learner_default_for(const rl_column *c)
{
    size_t distinct = 2;
    if (c->type == RL_TYPE_STRING) distinct = rl_levels_count(c->levels);
    if (c->type == RL_TYPE_NUMERIC) {
        double seen[10];
        distinct = 0;
        for (size_t i = 0; i < c->nrows; i++) {
            double v = c->num[i];
            if (isnan(v)) continue;
            if (v != floor(v)) return &rl_boosted_decision_tree_regression;
            size_t k = 0;
            while (k < distinct && seen[k] != v) k++;
            if (k < distinct) continue;
            if (distinct == 10) return &rl_boosted_decision_tree_regression;
            seen[distinct++] = v;
        }
    }
    return distinct <= 2 ? &rl_two_class_boosted_decision_tree
                         : &rl_multiclass_boosted_decision_tree;
}
