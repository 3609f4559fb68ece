/* learner.h - the one interface every learning algorithm sits behind.
 *
 * A learner kind (two-class-logistic-regression, ...) is a table of functions
 * over a dense, row-major double matrix of features (built by features.h) and
 * a target vector. Each kind lives in the file of the library it wraps
 * (xgboost.c, liblinear.c, linreg.c); only those files include the
 * libraries' headers. Parameters have Studio-like kebab-case names, defaults
 * and ranges, and are validated before training.
 *
 * Targets: for RL_TASK_BINARY y[i] is 0 or 1 (1 = the positive class); for
 * RL_TASK_MULTICLASS y[i] is the class index 0..nclass-1; for regression the
 * value itself.
 *
 * Predictions: predict() writes n * rl_learner_nout() doubles, row-major:
 *   binary      1 per row: the probability of the positive class;
 *   multiclass  nclass per row: class probabilities summing to 1;
 *   regression  1 per row: the predicted value.
 *
 * Ownership: train()/load() return a model state owned by the caller and freed
 * with the kind's free(). save() appends to the caller's buffer.
 * Thread safety: a trained or loaded state may be used by predict() from many
 * threads at once; train() and load() are reentrant. predict() runs on the
 * calling thread alone for small inputs (fewer than 1,024 rows) so that
 * one-row scoring never wakes a thread pool.
 */
#ifndef RL_LEARNERS_LEARNER_H
#define RL_LEARNERS_LEARNER_H

#include "base/buf.h"
#include "base/error.h"

#include <jansson.h>
#include <stddef.h>

typedef enum rl_task {
    RL_TASK_BINARY = 1,
    RL_TASK_MULTICLASS = 2,
    RL_TASK_REGRESSION = 3,
} rl_task;

typedef struct rl_matrix {
    size_t rows, cols;
    double *data; /* rows * cols, row-major; NAN = missing */
} rl_matrix;

typedef enum rl_param_type {
    RL_PARAM_INT = 1,
    RL_PARAM_DOUBLE,
    RL_PARAM_BOOL,
    RL_PARAM_ENUM, /* value is the index into choices */
} rl_param_type;

typedef struct rl_param_spec {
    const char *name; /* kebab-case, e.g. "number-of-trees" */
    rl_param_type type;
    double def, min, max; /* inclusive range; for ENUM min 0, max nchoices-1 */
    const char *const *choices; /* ENUM: NULL-terminated names */
    const char *help;           /* one line for --help */
} rl_param_spec;

#define RL_MAX_PARAMS 16

/* Parameter values, parallel to the kind's specs. */
typedef struct rl_params {
    double v[RL_MAX_PARAMS];
} rl_params;

typedef struct rl_learner_kind {
    const char *name;        /* "two-class-logistic-regression" */
    const char *studio_name; /* "Two-Class Logistic Regression" */
    rl_task task;
    const char *library; /* "xgboost", "liblinear", "lapack" */
    const rl_param_spec *params;
    size_t nparams;
    int (*train)(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                 void **state, rl_error *err);
    int (*predict)(const void *state, const rl_matrix *x, double *out, rl_error *err);
    /* Appends the model state in the library's own stable serialization. */
    int (*save)(const void *state, rl_buf *out, rl_error *err);
    /* Restores a state from save()'s bytes; the result predicts bit-for-bit
     * as the saved state did. */
    int (*load)(const rl_params *p, int nclass, const void *data, size_t len, void **state,
                rl_error *err);
    void (*free)(void *state);
    /* Nonzero when predict() spreads a large input over the cores itself
     * (XGBoost's OpenMP); rl_model_score then calls it for one block of rows
     * at a time, and otherwise from a thread per core. */
    int own_threads;
} rl_learner_kind;

/* The kind called name (kebab case or Studio's name, any case), or NULL. */
const rl_learner_kind *rl_learner_find(const char *name);
/* All kinds, NULL-terminated, in a stable order. */
const rl_learner_kind *const *rl_learner_all(void);
/* Predictions per row: nclass for multiclass, else 1. */
size_t rl_learner_nout(const rl_learner_kind *k, int nclass);

/* Sets p to the kind's defaults. */
void rl_params_default(const rl_learner_kind *k, rl_params *p);
/* Sets one parameter from text ("number-of-trees", "200"). Unknown names,
 * unparsable or out-of-range values give RL_EINVAL with a message listing the
 * valid names or the range. */
int rl_params_set(const rl_learner_kind *k, rl_params *p, const char *name, const char *value,
                  rl_error *err);
/* Sets every member of a JSON object ({"number-of-trees": 200, ...}; numbers,
 * booleans or strings). Every problem is reported, one per line. */
int rl_params_from_json(const rl_learner_kind *k, const json_t *obj, rl_params *p,
                        rl_error *err);
/* A new JSON object with every parameter by name (enums by choice name). */
json_t *rl_params_to_json(const rl_learner_kind *k, const rl_params *p);

/* The learner to use when the user names none, by the label column (defined
 * in default.c): regression for a numeric label with fractional values or more
 * than 10 distinct values, else boosted trees for two or more classes. */
struct rl_column;
const rl_learner_kind *rl_learner_default_for(const struct rl_column *label);

/* For the learner files: a value's enum name. */
const char *rl_params_choice(const rl_learner_kind *k, const rl_params *p, size_t i);

/* The kinds, defined in their library's file. */
extern const rl_learner_kind rl_two_class_logistic_regression;
extern const rl_learner_kind rl_multiclass_logistic_regression;
extern const rl_learner_kind rl_two_class_support_vector_machine;
extern const rl_learner_kind rl_two_class_boosted_decision_tree;
extern const rl_learner_kind rl_multiclass_boosted_decision_tree;
extern const rl_learner_kind rl_two_class_decision_forest;
extern const rl_learner_kind rl_multiclass_decision_forest;
extern const rl_learner_kind rl_boosted_decision_tree_regression;
extern const rl_learner_kind rl_linear_regression;

#endif
