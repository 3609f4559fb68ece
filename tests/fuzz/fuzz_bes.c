/* fuzz_bes.c - libFuzzer harness for batch job bodies (POST .../jobs;
 * rl_bes_job_parse in src/http/bes.c).
 *
 * Each input is a request body, checked for the census training experiment
 * (examples/census-training.json: input1, a model and an evaluation out) and
 * for its predictive experiment (input1 in, scored rows out). The store is a
 * deterministic stand-in for the questions the route asks it (does a blob
 * exist, is it a served model): the blob exists when its address has an even
 * length, fails with RL_EIO when it holds "fail", and is a served model when
 * it ends in ".ilearner" and holds "/served". An accepted body must give
 * exactly the experiment's inputs and outputs, every blob a valid internal
 * address inside the workspace and no two outputs at one blob; a refusal
 * must say how to answer it. A broken property or a sanitizer report aborts.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/bes.
 */
#include "experiment/experiment.h"
#include "http/parse.h"
#include "store/blob.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WS "default"
#define URL "http://127.0.0.1:8080"

static rl_experiment *training, *predictive;

static void fail(const char *why, const char *detail)
{
    fprintf(stderr, "%s%s%s\n", why, detail ? ": " : "", detail ? detail : "");
    abort();
}

static int stat_blob(void *ctx, const char *internal, rl_error *err)
{
    (void)ctx;
    if (strstr(internal, "fail")) return rl_error_set(err, RL_EIO, "%s: disk on fire", internal);
    if (strlen(internal) % 2) return rl_error_set(err, RL_ENOTFOUND, "no blob %s", internal);
    return RL_OK;
}

static int referenced(void *ctx, const char *internal, int *used, rl_error *err)
{
    (void)ctx;
    if (strstr(internal, "fail")) return rl_error_set(err, RL_EIO, "%s: disk on fire", internal);
    size_t n = strlen(internal);
    *used = strstr(internal, "/served") && n >= 9 && !strcmp(internal + n - 9, ".ilearner");
    return RL_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rl_error err;
    if (rl_experiment_load_file("examples/census-training.json", 0, &training, &err) ||
        rl_experiment_to_predictive(training, &predictive, &err)) {
        fprintf(stderr, "fuzz_bes: %s (run from the repository's root)\n", err.msg);
        exit(1);
    }
    return 0;
}

/* Every blob of a names object: e's names exactly, addresses in WS, distinct
 * when outputs. */
static void check_blobs(const json_t *obj, const rl_experiment *e, int outputs)
{
    size_t n = outputs ? rl_experiment_noutputs(e) : rl_experiment_ninputs(e);
    if (!json_is_object(obj) || json_object_size(obj) != n) fail("wrong names accepted", NULL);
    for (size_t i = 0; i < n; i++) {
        const char *name = outputs ? rl_experiment_output(e, i) : rl_experiment_input(e, i);
        const char *a = json_string_value(json_object_get(obj, name));
        char ext[RL_BLOB_ADDRESS_MAX + 1], ws[65];
        if (!a) fail("a name has no blob", name);
        if (rl_blob_address_check(a, NULL) != RL_OK) fail("an invalid address accepted", a);
        if (rl_blob_ws_external(a, ext, sizeof ext, ws, sizeof ws, NULL) != RL_OK ||
            strcmp(ws, WS) != 0)
            fail("an address outside the workspace accepted", a);
        for (size_t k = 0; outputs && k < i; k++)
            if (!strcmp(a, json_string_value(json_object_get(obj, rl_experiment_output(e, k)))))
                fail("two outputs at one blob accepted", a);
    }
}

static void check(const json_t *body, const rl_experiment *e)
{
    rl_bes_env env = {WS, URL, "0123456789abcdef0123456789abcdef", stat_blob, referenced, NULL};
    json_t *out = NULL;
    rl_bes_refusal why;
    rl_error err;
    int rc = rl_bes_job_parse(body, e, &env, &out, &why, &err);
    if (rc != RL_OK) {
        if (!err.msg[0]) fail("a refusal without a message", NULL);
        if (why.status && (why.status < 400 || why.status > 599 || !why.detail))
            fail("a refusal with a bad status or no detail code", err.msg);
        return;
    }
    check_blobs(json_object_get(out, "Inputs"), e, 0);
    check_blobs(json_object_get(out, "Outputs"), e, 1);
    if (!json_is_object(json_object_get(out, "GlobalParameters")) ||
        json_object_size(json_object_get(out, "GlobalParameters")))
        fail("global parameters accepted", NULL);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body) return 0;
    check(body, training);
    check(body, predictive);
    json_decref(body);
    return 0;
}
