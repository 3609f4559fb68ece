/* standard.c - the standard training experiment, built as JSON. */
#include "experiment/experiment.h"

#include <string.h>

json_t *rl_experiment_standard(const char *name, const char *label, const rl_learner_kind *kind,
                               const json_t *params, double train_fraction, uint64_t seed)
{
    int linear = strcmp(kind->library, "xgboost") != 0;
    const char *prev = "data";
    json_t *nodes = json_array(), *edges = json_array();
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "data", "module",
                                           "Web Service Input", "params", "name", "input1"));
    json_array_append_new(
        nodes, json_pack("{s:s, s:s, s:{s:{s:[s], s:[s]}, s:s}}", "id", "clean-numeric",
                         "module", "Clean Missing Data", "params", "columns", "types", "numeric",
                         "exclude", label, "cleaning-mode", "replace-with-mean"));
    json_array_append_new(edges, json_pack("{s:s, s:s}", "from", prev, "to", "clean-numeric"));
    json_array_append_new(
        nodes, json_pack("{s:s, s:s, s:{s:{s:[s,s], s:[s]}, s:s}}", "id", "clean-other",
                         "module", "Clean Missing Data", "params", "columns", "types", "string",
                         "boolean", "exclude", label, "cleaning-mode", "replace-with-mode"));
    json_array_append_new(edges,
                          json_pack("{s:s, s:s}", "from", "clean-numeric", "to", "clean-other"));
    prev = "clean-other";
    if (linear) {
        json_array_append_new(
            nodes, json_pack("{s:s, s:s, s:{s:{s:[s], s:[s]}, s:s}}", "id", "normalize",
                             "module", "Normalize Data", "params", "columns", "types", "numeric",
                             "exclude", label, "transformation-method", "zscore"));
        json_array_append_new(edges, json_pack("{s:s, s:s}", "from", prev, "to", "normalize"));
        prev = "normalize";
    }
    int stratify = kind->task != RL_TASK_REGRESSION;
    json_t *split = json_pack("{s:f, s:b, s:I, s:b}", "fraction", train_fraction,
                              "randomized-split", 1, "random-seed", (json_int_t)seed,
                              "stratified-split", stratify);
    if (stratify) json_object_set_new(split, "stratification-key-column", json_string(label));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:o}", "id", "split", "module",
                                           "Split Data", "params", split));
    json_array_append_new(edges, json_pack("{s:s, s:s}", "from", prev, "to", "split"));
    /* s:o takes the reference: a copy of params, or a new empty object. */
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:o}", "id", "learner", "module",
                                           kind->studio_name, "params",
                                           params ? json_deep_copy(params) : json_object()));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "train", "module",
                                           "Train Model", "params", "label-column", label));
    json_array_append_new(nodes, json_pack("{s:s, s:s}", "id", "score", "module", "Score Model"));
    json_array_append_new(nodes,
                          json_pack("{s:s, s:s}", "id", "evaluate", "module", "Evaluate Model"));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "model-out", "module",
                                           "Web Service Output", "params", "name", "output1"));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "evaluation-out",
                                           "module", "Web Service Output", "params", "name",
                                           "output2"));
    static const char *const wiring[][2] = {
        {"learner", "train"}, {"split:Results dataset1", "train:Dataset"},
        {"train", "score"},   {"split:Results dataset2", "score:Dataset"},
        {"score", "evaluate"}, {"train", "model-out"}, {"evaluate", "evaluation-out"}};
    for (size_t i = 0; i < sizeof wiring / sizeof *wiring; i++)
        json_array_append_new(edges,
                              json_pack("{s:s, s:s}", "from", wiring[i][0], "to", wiring[i][1]));
    return json_pack("{s:s, s:i, s:s, s:s, s:o, s:o}", "format", "relearn-experiment", "version",
                     RL_EXPERIMENT_FORMAT_VERSION, "name", name, "description",
                     "Standard training experiment", "nodes", nodes, "edges", edges);
}
