/* experiment.h - experiments: graphs of modules, validated and run.
 *
 * An experiment is a JSON file (docs/experiments.md):
 *
 *   {"format": "relearn-experiment", "version": 1, "name": "Census income",
 *    "nodes": [{"id": "data", "module": "Web Service Input", "params": {"name": "input1"}},
 *              {"id": "clean", "module": "Clean Missing Data", "params": {...}}, ...],
 *    "edges": [{"from": "data", "to": "clean"},
 *              {"from": "split:Results dataset1", "to": "train:Dataset"}, ...]}
 *
 * An edge end is "node" or "node:port"; the port may be left out when the node
 * has one port on that side (or, for "to", one port not yet connected that fits
 * the type). Modules have Studio (classic) names and typed ports. Parsing
 * validates the whole graph (unknown modules, ports or parameters, type
 * mismatches, unconnected required inputs, inputs connected twice, cycles,
 * duplicate names) and lists every problem at once.
 *
 * Named Web Service Input / Output nodes are the experiment's inputs and
 * outputs. rl_experiment_to_predictive() does what Studio's "Set Up Web
 * Service" did: the trained model becomes the resource "<name> [trained
 * model]", Split and Evaluate drop out, a Web Service Input stands where the
 * training data entered (the model replays the fitted transforms) and a Web
 * Service Output follows Score Model.
 *
 * Ownership: experiments and run results belong to the caller.
 * Thread safety: a parsed experiment may be run from many threads at once.
 */
#ifndef RL_EXPERIMENT_EXPERIMENT_H
#define RL_EXPERIMENT_EXPERIMENT_H

#include "base/error.h"
#include "data/table.h"
#include "model/model.h"

#include <jansson.h>
#include <stdint.h>

#define RL_EXPERIMENT_FORMAT_VERSION 1

typedef struct rl_experiment rl_experiment;

/* Parses and validates. source names the input in messages (a path). base_dir
 * resolves Import Data's relative paths (NULL: the current directory; an
 * experiment parsed with allow_files == 0 refuses Import Data entirely, as the
 * daemon does). */
typedef struct rl_experiment_opts {
    const char *source;
    const char *base_dir;
    int allow_files;
} rl_experiment_opts;

int rl_experiment_parse(const char *text, size_t len, const rl_experiment_opts *opts,
                        rl_experiment **out, rl_error *err);
int rl_experiment_parse_json(const json_t *j, const rl_experiment_opts *opts,
                             rl_experiment **out, rl_error *err);
int rl_experiment_load_file(const char *path, int allow_files, rl_experiment **out,
                            rl_error *err);
void rl_experiment_free(rl_experiment *e);

const char *rl_experiment_name(const rl_experiment *e);
/* The canonical JSON of the experiment (caller owns it). */
json_t *rl_experiment_to_json(const rl_experiment *e);
/* Whether it trains a model (has a Train Model node). */
int rl_experiment_is_training(const rl_experiment *e);
/* Web service input and output names, in node order (borrowed). */
size_t rl_experiment_ninputs(const rl_experiment *e);
const char *rl_experiment_input(const rl_experiment *e, size_t i);
size_t rl_experiment_noutputs(const rl_experiment *e);
const char *rl_experiment_output(const rl_experiment *e, size_t i);
/* Trained Model resource names the experiment needs bound to run (borrowed). */
size_t rl_experiment_nresources(const rl_experiment *e);
const char *rl_experiment_resource(const rl_experiment *e, size_t i);
/* "<name> [trained model]" into out. */
void rl_experiment_resource_name(const char *experiment_name, char *out, size_t size);

/* Set Up Web Service: the predictive experiment of a training experiment. */
int rl_experiment_to_predictive(const rl_experiment *training, rl_experiment **out,
                                rl_error *err);

/* ---- running ---- */

typedef enum rl_value_kind {
    RL_VALUE_TABLE = 1,
    RL_VALUE_MODEL = 2,
    RL_VALUE_EVALUATION = 3,
} rl_value_kind;

/* The kind of value Web Service Output `name` gives, known from the graph
 * before running: what feeds the output node (a dataset, a trained model or
 * evaluation results). 0 when e has no such output or it is fed something
 * else (an untrained model, which fails at run time). */
rl_value_kind rl_experiment_output_kind(const rl_experiment *e, const char *name);

typedef struct rl_binding {
    const char *name;
    const rl_table *table; /* for a Web Service Input */
    rl_model *model;       /* for a Trained Model resource */
} rl_binding;

typedef struct rl_run_opts {
    const rl_binding *bindings;
    size_t nbindings;
    /* Called after each node with the share of nodes done; may be NULL. */
    void (*progress)(void *ctx, double done);
    /* Polled between nodes; non-zero stops the run with RL_ECANCELED. */
    int (*cancelled)(void *ctx);
    void *ctx;
} rl_run_opts;

typedef struct rl_output {
    char *name;
    rl_value_kind kind;
    rl_table *table;
    rl_model *model;
    json_t *evaluation;
} rl_output;

typedef struct rl_run_result {
    rl_output *outputs;
    size_t noutputs;
} rl_run_result;

/* Runs e. Every Web Service Input and Trained Model resource must be bound
 * (a missing binding is RL_EINVAL naming it). *out lists every Web Service
 * Output's value. */
int rl_experiment_run(const rl_experiment *e, const rl_run_opts *opts, rl_run_result **out,
                      rl_error *err);
void rl_run_result_free(rl_run_result *r);

/* An evaluation as a one-row table of its scalar metrics (for CSV outputs). */
int rl_evaluation_to_table(const json_t *evaluation, rl_table **out, rl_error *err);

#endif

/* The standard training experiment (what `relearn publish` without
 * --experiment uses): Web Service Input "input1" -> Clean Missing Data
 * (numeric: mean; others: mode) -> Normalize Data (z-score, linear learners
 * only) -> Split Data (train_fraction, stratified on the label, seed) ->
 * Train Model -> Score Model -> Evaluate Model, with outputs "output1" (the
 * trained model) and "output2" (the evaluation). params may be NULL. The
 * returned JSON belongs to the caller; parse it with rl_experiment_parse_json. */
json_t *rl_experiment_standard(const char *name, const char *label, const rl_learner_kind *kind,
                               const json_t *params, double train_fraction, uint64_t seed);
