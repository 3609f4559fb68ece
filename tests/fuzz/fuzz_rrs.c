/* fuzz_rrs.c - libFuzzer harness for request-response bodies (POST
 * .../execute; rl_rrs_parse_input in src/http/rrs.c), and for scoring what
 * they parse to.
 *
 * A real model is loaded once (tests/fuzz/corpus/model/bdt-binary.ilearner:
 * three boosted trees over age, city and member, with the standard
 * pipeline's Clean Missing Data transforms) and served by the predictive
 * experiment of examples/census-training.json, as relearnd serves it. Each
 * input is a request body: every input of "Inputs" is read into a table,
 * typed by the model's schema and without a schema; a table read by the
 * schema is then run through the experiment like an RRS call. A table must
 * have the rows the request had, a successful run must answer every row
 * with its Scored Labels. A broken property or a sanitizer report aborts.
 * scripts/fuzz.sh builds and runs it from the repository's root on a copy
 * of tests/fuzz/corpus/rrs, with tests/fuzz/rrs.dict.
 */
#include "experiment/experiment.h"
#include "http/parse.h"
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rl_model *model;
static rl_experiment *predictive;
static const rl_rrs_limits LIMITS = {1000, 200, 20000};

static void fail(const char *why, const char *detail)
{
    fprintf(stderr, "%s%s%s\n", why, detail ? ": " : "", detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rl_experiment *training = NULL;
    rl_error err;
    if (rl_model_load_file("tests/fuzz/corpus/model/bdt-binary.ilearner", &model, &err) ||
        rl_experiment_load_file("examples/census-training.json", 0, &training, &err) ||
        rl_experiment_to_predictive(training, &predictive, &err)) {
        fprintf(stderr, "fuzz_rrs: %s (run from the repository's root)\n", err.msg);
        exit(1);
    }
    rl_experiment_free(training);
    return 0;
}

/* The rows a well-formed input has. */
static size_t rows_of(const json_t *in)
{
    return json_is_object(in) ? json_array_size(json_object_get(in, "Values"))
                              : json_array_size(in);
}

static void score(const char *name, const rl_table *t)
{
    rl_binding bind[2] = {{name, t, NULL}, {rl_experiment_resource(predictive, 0), NULL, model}};
    rl_run_opts ro = {bind, 2, NULL, NULL, NULL};
    rl_run_result *res = NULL;
    rl_error err;
    if (rl_experiment_run(predictive, &ro, &res, &err) != RL_OK) return; /* e.g. a column missing */
    if (res->noutputs != 1 || res->outputs[0].kind != RL_VALUE_TABLE)
        fail("a scoring run answered no table", NULL);
    const rl_table *o = res->outputs[0].table;
    if (rl_table_nrows(o) != rl_table_nrows(t)) fail("scoring lost or added rows", NULL);
    if (rl_table_find(o, "Scored Labels") < 0) fail("scored rows without Scored Labels", NULL);
    rl_run_result_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *inputs = json_object_get(body, "Inputs");
    const char *name;
    json_t *in;
    json_object_foreach(inputs, name, in)
    {
        for (int typed = 0; typed < 2; typed++) {
            rl_table *t = NULL;
            rl_error err;
            if (rl_rrs_parse_input(in, typed ? model : NULL, name, &LIMITS, &t, &err) != RL_OK) {
                if (!err.msg[0]) fail("a refusal without a message", NULL);
                continue;
            }
            if (rl_table_nrows(t) != rows_of(in))
                fail("the table's rows differ from the request's", name);
            if (typed && !strcmp(name, rl_experiment_input(predictive, 0))) score(name, t);
            rl_table_free(t);
        }
    }
    json_decref(body);
    return 0;
}
