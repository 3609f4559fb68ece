/* fuzz_experiment.c - libFuzzer harness for experiment parsing and
 * validation (src/experiment).
 *
 * Each input is parsed as an experiment file the way relearnd does
 * (allow_files 0: Import Data refused). When it parses, the canonical JSON
 * must parse again, and when it trains, its predictive experiment (Set Up
 * Web Service) must build and parse again too: a refusal of relearn's own
 * output aborts, as does any sanitizer report.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/experiment.
 */
#include "experiment/experiment.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    rl_experiment_free(e);
    return 0;
}
