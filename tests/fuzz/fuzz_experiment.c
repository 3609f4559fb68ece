/* fuzz_experiment.c - libFuzzer harness for experiment parsing and
 * validation (src/experiment).
 *
 * Each input is parsed as an experiment file the way relearnd does
 * (allow_files 0: Import Data refused). When it parses, the canonical JSON
 * must parse again, and when it trains, its predictive experiment (Set Up
 * Web Service) must build and parse again too: a refusal of relearn's own
 * output aborts, as does any sanitizer report. An experiment that parses is
 * then run as relearnd would run it, every Web Service Input bound to the
 * same small table (8 rows: age, city, member, y, label, income, x, g, some
 * missing) and every Trained Model to a real model
 * (tests/fuzz/corpus/model/bdt-binary.ilearner): run errors are fine, every
 * output must be of the kind the graph announced.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/experiment.
 */
#include "data/io.h"
#include "experiment/experiment.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rl_table *rows;
static rl_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char csv[] = "age,city,member,y,label,income,x,g\n"
                              "39,Oslo,true,yes,a,>50K,1.5,p\n"
                              "52,Lima,false,no,b,<=50K,2.5,q\n"
                              "?,Paris,true,yes,c,>50K,-1,p\n"
                              "23,,false,no,a,<=50K,0,q\n"
                              "61,Oslo,,yes,b,>50K,7,\n"
                              "44,Lima,true,no,c,<=50K,3.25,p\n"
                              "35,Paris,false,yes,a,<=50K,?,q\n"
                              "70,Oslo,true,no,b,>50K,9,p\n";
    rl_read_opts o = {.format = RL_FMT_CSV, .source = "rows"};
    rl_error err;
    if (rl_table_read_mem(csv, sizeof csv - 1, &o, &rows, &err) ||
        rl_model_load_file("tests/fuzz/corpus/model/bdt-binary.ilearner", &model, &err)) {
        fprintf(stderr, "fuzz_experiment: %s (run from the repository's root)\n", err.msg);
        exit(1);
    }
    return 0;
}

/* Runs e with every input bound to rows and every resource to model. */
static void run(const rl_experiment *e)
{
    rl_binding bind[64];
    size_t n = 0;
    for (size_t i = 0; i < rl_experiment_ninputs(e) && n < 64; i++)
        bind[n++] = (rl_binding){rl_experiment_input(e, i), rows, NULL};
    for (size_t i = 0; i < rl_experiment_nresources(e) && n < 64; i++)
        bind[n++] = (rl_binding){rl_experiment_resource(e, i), NULL, model};
    rl_run_opts ro = {bind, n, NULL, NULL, NULL};
    rl_run_result *res = NULL;
    rl_error err;
    if (rl_experiment_run(e, &ro, &res, &err) != RL_OK) return;
    if (res->noutputs != rl_experiment_noutputs(e)) {
        fprintf(stderr, "a run answered %zu outputs of %zu\n", res->noutputs,
                rl_experiment_noutputs(e));
        abort();
    }
    for (size_t i = 0; i < res->noutputs; i++) {
        rl_value_kind k = rl_experiment_output_kind(e, res->outputs[i].name);
        if (k && k != res->outputs[i].kind) {
            fprintf(stderr, "output '%s' is of kind %d, the graph said %d\n", res->outputs[i].name,
                    (int)res->outputs[i].kind, (int)k);
            abort();
        }
        if (res->outputs[i].kind == RL_VALUE_EVALUATION) {
            rl_table *t = NULL;
            if (rl_evaluation_to_table(res->outputs[i].evaluation, &t, &err) == RL_OK)
                rl_table_free(t);
        }
    }
    rl_run_result_free(res);
}

/* e's canonical JSON must parse again. */
static void reparse_or_abort(const rl_experiment *e, const char *what)
{
    rl_experiment_opts o = {"canonical", NULL, 0};
    rl_experiment *again = NULL;
    rl_error err;
    json_t *j = rl_experiment_to_json(e);
    if (!j) return; /* out of memory */
    if (rl_experiment_parse_json(j, &o, &again, &err) != RL_OK) {
        char *text = json_dumps(j, JSON_COMPACT);
        fprintf(stderr, "the canonical JSON of the %s experiment does not parse: %s\n%s\n", what,
                err.msg, text ? text : "");
        free(text);
        abort();
    }
    rl_experiment_free(again);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rl_experiment_opts o = {"fuzz.json", NULL, 0};
    rl_experiment *e = NULL, *p = NULL;
    rl_error err;
    if (rl_experiment_parse((const char *)data, size, &o, &e, &err) != RL_OK) return 0;
    reparse_or_abort(e, "parsed");
    if (rl_experiment_is_training(e)) {
        /* Set Up Web Service may refuse only an experiment with several
         * Train Model nodes (or fail for memory). */
        int rc = rl_experiment_to_predictive(e, &p, &err);
        if (rc != RL_OK && rc != RL_ENOMEM && !strstr(err.msg, "Train Model nodes")) {
            fprintf(stderr, "Set Up Web Service failed on a valid experiment: %s\n", err.msg);
            abort();
        }
        if (rc == RL_OK) {
            reparse_or_abort(p, "predictive");
            for (size_t i = 0; i < rl_experiment_noutputs(p); i++)
                (void)rl_experiment_output_kind(p, rl_experiment_output(p, i));
            rl_experiment_free(p);
        }
    }
    run(e);
    rl_experiment_free(e);
    return 0;
}
