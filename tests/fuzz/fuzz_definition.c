/* fuzz_definition.c - libFuzzer harness for web-service definition imports
 * (PUT .../webservices/{id}/definition; src/http/definition.c).
 *
 * Each input is a request body: parsed as JSON, and when it has a
 * "properties" object, checked by rl_definition_parse for a service named
 * "fuzzsvc" whose model resource is "fuzzsvc [trained model]", as the route
 * does before anything changes. A definition without problems must come
 * with its experiment (the route would otherwise change the model and then
 * fail) holding every node and edge of the package, the experiment must be
 * a scoring one, and its canonical JSON must parse again; problems must
 * come with their text. A broken property or a
 * sanitizer report aborts.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/definition
 * (seeds exported by a real relearnd), with tests/fuzz/definition.dict.
 */
#include "http/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, const char *detail)
{
    fprintf(stderr, "%s%s%s\n", why, detail ? ": " : "", detail ? detail : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *props = json_object_get(body, "properties");
    if (!json_is_object(props)) {
        json_decref(body);
        return 0;
    }
    for (int named = 0; named < 2; named++) {
        rl_definition d;
        rl_error err;
        if (rl_definition_parse(props, "fuzzsvc", named ? "fuzzsvc [trained model]" : NULL,
                                RL_TRACE_NONE, &d, &err) != RL_OK)
            continue; /* out of memory */
        if (d.nproblems && !d.problems.data) fail("problems without their text", NULL);
        if (!d.nproblems) {
            if (!d.experiment) fail("a definition without problems has no experiment", NULL);
            /* Nothing of the package may vanish on the way to the experiment. */
            const json_t *pkg = json_object_get(props, "package");
            if (json_array_size(json_object_get(d.experiment_json, "edges")) !=
                    json_array_size(json_object_get(pkg, "edges")) ||
                json_array_size(json_object_get(d.experiment_json, "nodes")) !=
                    json_object_size(json_object_get(pkg, "nodes")))
                fail("a package node or edge was dropped without a problem", NULL);
            if (rl_experiment_is_training(d.experiment) ||
                rl_experiment_nresources(d.experiment) != 1)
                fail("an accepted package does not score with one model", NULL);
            if (!d.title || !*d.title) fail("an accepted definition has no title", NULL);
            json_t *j = rl_experiment_to_json(d.experiment);
            rl_experiment_opts o = {"canonical", NULL, 0};
            rl_experiment *again = NULL;
            if (j && rl_experiment_parse_json(j, &o, &again, &err) != RL_OK)
                fail("the canonical experiment does not parse", err.msg);
            rl_experiment_free(again);
            json_decref(j);
        }
        rl_definition_fini(&d);
    }
    json_decref(body);
    return 0;
}
