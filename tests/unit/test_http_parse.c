/* test_http_parse.c - the HTTP layer's pure body parsers (http/parse.h):
 * definition imports, batch job bodies and connection strings, each fed
 * the fuzzers' findings (tests/fuzz/corpus/NAME/crash-*) forever, plus
 * refusals and out-of-memory paths. */
#include "base/fs.h"
#include "base/mem.h"
#include "experiment/experiment.h"
#include "http/parse.h"
#include "store/blob.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

static json_t *load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) fail_msg("%s: %s", path, je.text);
    return j;
}

/* ---- definitions ---- */

static void test_definition_exported_is_accepted(void **state)
{
    (void)state;
    json_t *body = load_json("tests/fuzz/corpus/definition/exported.json");
    rl_definition d;
    rl_error err;
    assert_int_equal(rl_definition_parse(json_object_get(body, "properties"), "fuzzsvc",
                                         "fuzzsvc [trained model]", RL_TRACE_ERROR, &d, &err),
                     RL_OK);
    assert_int_equal(d.nproblems, 0);
    assert_string_equal(d.title, "fuzzsvc");
    assert_int_equal(d.level, RL_TRACE_NONE); /* the definition says None */
    assert_int_equal(json_integer_value(d.max_concurrent_calls), 20);
    assert_non_null(d.model_uri);
    assert_non_null(strstr(d.model_uri, "/storage/models/"));
    assert_non_null(d.experiment);
    assert_int_equal(rl_experiment_nresources(d.experiment), 1);
    assert_string_equal(rl_experiment_resource(d.experiment, 0), "fuzzsvc [trained model]");
    assert_false(rl_experiment_is_training(d.experiment));
    rl_definition_fini(&d);
    rl_definition_fini(&d); /* safe twice */
    json_decref(body);
}

/* fuzz_definition: a Module asset's node without "parameters" leaked the {}
 * made for it (LeakSanitizer; this test fails in the ASan tree if it
 * comes back). The same input lists every one of its problems. */
static void test_definition_crash_leak_module_without_params(void **state)
{
    (void)state;
    json_t *body = load_json("tests/fuzz/corpus/definition/crash-leak-module-without-params.json");
    rl_definition d;
    rl_error err;
    assert_int_equal(rl_definition_parse(json_object_get(body, "properties"), "fuzzsvc",
                                         "fuzzsvc [trained model]", RL_TRACE_NONE, &d, &err),
                     RL_OK);
    assert_int_equal(d.nproblems, 12);
    const char *t = d.problems.data;
    assert_non_null(strstr(t, "properties.title must be"));
    assert_non_null(strstr(t, "properties.description must be a string"));
    assert_non_null(strstr(t, "maxConcurrentCalls must be 1 to 200"));
    assert_non_null(strstr(t, "properties.diagnostics.level must be None, Error or All"));
    assert_non_null(strstr(t, "properties.packageType must be \"Graph\""));
    assert_non_null(strstr(t, "properties.keys cannot be set"));
    assert_non_null(strstr(t, "package node 'n2' needs one of inputId, outputId or assetId"));
    assert_non_null(strstr(t, "asset 'missing' is missing"));
    assert_non_null(strstr(t, "package edge 1 needs sourceNodeId and targetNodeId"));
    assert_non_null(strstr(t, "parameter \"label-column\" is required"));
    assert_non_null(strstr(t, "must keep its name \"fuzzsvc [trained model]\""));
    rl_definition_fini(&d);
    json_decref(body);

    /* A valid package whose Module node has no "parameters". */
    body = load_json("tests/fuzz/corpus/definition/minimal.json");
    json_t *props = json_object_get(body, "properties");
    json_object_del(
        json_object_get(json_object_get(json_object_get(props, "package"), "nodes"), "score"),
        "parameters");
    assert_int_equal(rl_definition_parse(props, "fuzzsvc", NULL, RL_TRACE_ALL, &d, &err), RL_OK);
    assert_int_equal(d.nproblems, 0);
    assert_int_equal(d.level, RL_TRACE_ALL); /* not given: kept */
    assert_null(d.max_concurrent_calls);
    assert_non_null(d.experiment);
    rl_definition_fini(&d);
    json_decref(body);
}

/* fuzz_definition: an edge end was built in a 300-byte buffer; a node name
 * cut there mid-character made the edge vanish, so an edge from a node that
 * does not exist was accepted without a problem. */
static void test_definition_crash_edge_name_cut_mid_character(void **state)
{
    (void)state;
    json_t *body = load_json("tests/fuzz/corpus/definition/crash-edge-name-cut-mid-character.json");
    json_t *props = json_object_get(body, "properties");
    rl_definition d;
    rl_error err;
    assert_int_equal(rl_definition_parse(props, "fuzzsvc", NULL, RL_TRACE_NONE, &d, &err), RL_OK);
    assert_int_equal(d.nproblems, 1);
    assert_non_null(strstr(d.problems.data, "there is no node"));
    assert_non_null(strstr(d.problems.data, "a\xc3\xa9\"")); /* the whole name, "...aé" */
    assert_int_equal(json_array_size(json_object_get(d.experiment_json, "edges")),
                     json_array_size(json_object_get(json_object_get(props, "package"), "edges")));
    rl_definition_fini(&d);
    json_decref(body);
}

static void test_definition_refuses_training_packages(void **state)
{
    (void)state;
    json_t *body = load_json("tests/fuzz/corpus/definition/exported.json");
    json_t *props = json_object_get(body, "properties");
    json_object_set_new(props, "packageType", json_string("Graph"));
    /* Without its Resource node the package has no trained model. */
    json_object_del(json_object_get(json_object_get(props, "package"), "nodes"), "trained-model");
    rl_definition d;
    assert_int_equal(rl_definition_parse(props, "fuzzsvc", NULL, RL_TRACE_NONE, &d, NULL), RL_OK);
    assert_true(d.nproblems >= 1);
    assert_null(d.model_uri);
    rl_definition_fini(&d);
    json_decref(body);
}

static void test_definition_out_of_memory(void **state)
{
    (void)state;
    json_t *body = load_json("tests/fuzz/corpus/definition/crash-leak-module-without-params.json");
    int failed = 0;
    for (long n = 0; n < 200; n++) {
        rl_definition d;
        rl_error err;
        rl_mem_fail_after(n);
        int rc = rl_definition_parse(json_object_get(body, "properties"), "fuzzsvc", NULL,
                                     RL_TRACE_NONE, &d, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            assert_true(d.nproblems > 0);
            assert_non_null(d.problems.data);
            rl_definition_fini(&d);
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            failed++;
        }
    }
    assert_true(failed > 0);
    json_decref(body);
}

/* ---- batch job bodies ---- */

static rl_experiment *training;

static int setup_bes(void **state)
{
    (void)state;
    rl_error err;
    return rl_experiment_load_file("examples/census-training.json", 0, &training, &err);
}

static int teardown_bes(void **state)
{
    (void)state;
    rl_experiment_free(training);
    return 0;
}

/* A store with blobs data/WS/new.csv and a served model at models/WS/m.ilearner. */
static int stat_blob(void *ctx, const char *internal, rl_error *err)
{
    (void)ctx;
    if (!strcmp(internal, "data/default/new.csv")) return RL_OK;
    if (!strcmp(internal, "data/default/broken.csv"))
        return rl_error_set(err, RL_EIO, "reading the store failed");
    return rl_error_set(err, RL_ENOTFOUND, "no blob");
}

static int referenced(void *ctx, const char *internal, int *used, rl_error *err)
{
    (void)ctx;
    (void)err;
    *used = !strcmp(internal, "models/default/m.ilearner");
    return RL_OK;
}

static const rl_bes_env ENV = {
    "default", "http://127.0.0.1:8080", "0123456789abcdef0123456789abcdef", stat_blob, referenced,
    NULL};

/* Parses body text; returns the rc, *out on success, why and err. */
static int bes(const char *text, json_t **out, rl_bes_refusal *why, rl_error *err)
{
    json_t *body = json_loads(text, 0, NULL);
    assert_non_null(body);
    json_t *dummy = NULL;
    int rc = rl_bes_job_parse(body, training, &ENV, out ? out : &dummy, why, err);
    json_decref(dummy);
    json_decref(body);
    return rc;
}

static void test_bes_accepts_and_resolves(void **state)
{
    (void)state;
    json_t *out = NULL;
    rl_bes_refusal why;
    rl_error err;
    assert_int_equal(
        bes("{\"Inputs\": {\"input1\": {\"ConnectionString\": "
            "\"UseDevelopmentStorage=true\", \"RelativeLocation\": \"/data/new.csv\"}},"
            " \"Outputs\": {\"output1\": {\"RelativeLocation\": \"results/m.ilearner\"}},"
            " \"GlobalParameters\": {}}",
            &out, &why, &err),
        RL_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "Inputs"), "input1")),
        "data/default/new.csv");
    json_t *o = json_object_get(out, "Outputs");
    assert_string_equal(json_string_value(json_object_get(o, "output1")),
                        "results/default/m.ilearner");
    /* output2 goes to its default place under jobs/JOB/. */
    const char *o2 = json_string_value(json_object_get(o, "output2"));
    assert_non_null(o2);
    assert_non_null(strstr(o2, "jobs/default/0123456789abcdef0123456789abcdef/"));
    json_decref(out);
}

static void test_bes_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int status;
        const char *detail;
    } cases[] = {
        {"{\"Inputs\": 3}", 400, "InvalidInputs"},
        {"{\"Inputs\": {\"input9\": {}}}", 400, "UnknownInput"},
        {"{\"Inputs\": {}}", 400, "MissingInput"},
        {"{\"Inputs\": {\"input1\": \"data/new.csv\"}}", 400, "InvalidBlobReference"},
        {"{\"Inputs\": {\"input1\": {\"ConnectionString\": \"AccountName=x;AccountKey=y\", "
         "\"RelativeLocation\": \"data/new.csv\"}}}",
         400, "InvalidBlobConnectionString"},
        {"{\"Inputs\": {\"input1\": {\"BaseLocation\": \"https://evil.example/storage\", "
         "\"RelativeLocation\": \"data/new.csv\"}}}",
         400, "InvalidBlobLocation"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/../x.csv\"}}}", 400,
         "InvalidBlobPath"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/x.xlsx\"}}}", 400,
         "UnsupportedInputFormat"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/gone.csv\"}}}", 400,
         "BlobNotFound"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/broken.csv\"}}}", 0, NULL},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, \"Outputs\": []}",
         400, "InvalidOutputs"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, "
         "\"Outputs\": {\"output7\": {}}}",
         400, "UnknownOutput"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, "
         "\"Outputs\": {\"output1\": {\"RelativeLocation\": \"results/m.csv\"}}}",
         400, "InvalidOutputExtension"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, "
         "\"Outputs\": {\"output1\": {\"RelativeLocation\": \"models/m.ilearner\"}}}",
         409, "BlobInUse"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, "
         "\"Outputs\": {\"output2\": {\"RelativeLocation\": \"res/e.ilearner\"}}}",
         400, "InvalidOutputExtension"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, "
         "\"GlobalParameters\": [1]}",
         400, "InvalidGlobalParameters"},
        {"{\"Inputs\": {\"input1\": {\"RelativeLocation\": \"data/new.csv\"}}, "
         "\"GlobalParameters\": {\"alpha\": 1}}",
         400, "UnknownGlobalParameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rl_bes_refusal why;
        rl_error err;
        int rc = bes(cases[i].body, NULL, &why, &err);
        if (rc == RL_OK || why.status != cases[i].status ||
            (cases[i].detail && strcmp(why.detail, cases[i].detail)))
            fail_msg("case %zu (%s): rc %d, status %d, detail %s: %s", i, cases[i].body, rc,
                     why.status, why.detail ? why.detail : "-", err.msg);
        assert_true(err.msg[0] != '\0');
    }
}

/* Two outputs that both take a table may not share a blob. */
static void test_bes_duplicate_outputs(void **state)
{
    (void)state;
    rl_experiment *e = NULL;
    rl_error err;
    assert_int_equal(
        rl_experiment_load_file("tests/fuzz/corpus/experiment/transforms.json", 0, &e, &err),
        RL_OK);
    json_t *body = json_loads("{\"Inputs\": {\"a.b-c_d\": {\"RelativeLocation\": "
                              "\"data/new.csv\"}}, \"Outputs\": {\"eval\": {\"RelativeLocation\":"
                              " \"res/x.csv\"}, \"rest\": {\"RelativeLocation\": \"res/x.csv\"}}}",
                              0, NULL);
    json_t *out = NULL;
    rl_bes_refusal why;
    assert_int_not_equal(rl_bes_job_parse(body, e, &ENV, &out, &why, &err), RL_OK);
    assert_int_equal(why.status, 400);
    assert_string_equal(why.detail, "DuplicateOutputLocation");
    assert_non_null(strstr(err.msg, "eval and rest would both be written to the same blob"));
    assert_null(out);
    json_decref(body);
    rl_experiment_free(e);
}

static void test_connection_strings(void **state)
{
    (void)state;
    const char *url = "http://127.0.0.1:8080";
    assert_true(rl_bes_connection_ours(url, "UseDevelopmentStorage=true"));
    assert_true(rl_bes_connection_ours(url, " usedevelopmentstorage=TRUE ;"));
    assert_true(rl_bes_connection_ours(url, "DefaultEndpointsProtocol=http;"
                                            "BlobEndpoint=http://127.0.0.1:8080/storage/;"));
    assert_true(rl_bes_connection_ours(url, "BlobEndpoint=HTTP://127.0.0.1:8080/storage//"));
    assert_false(rl_bes_connection_ours(url, ""));
    assert_false(rl_bes_connection_ours(url, "UseDevelopmentStorage=false"));
    assert_false(rl_bes_connection_ours(url, "UseDevelopmentStorage=truex"));
    assert_false(rl_bes_connection_ours(url, "BlobEndpoint=http://127.0.0.1:8080/storagex"));
    assert_false(rl_bes_connection_ours(url, "BlobEndpoint=http://127.0.0.1:8081/storage"));
    assert_false(rl_bes_connection_ours(url, "AccountName=a;AccountKey=k=="));
    assert_false(rl_bes_connection_ours(url, ";;;="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definition_exported_is_accepted),
        cmocka_unit_test(test_definition_crash_leak_module_without_params),
        cmocka_unit_test(test_definition_crash_edge_name_cut_mid_character),
        cmocka_unit_test(test_definition_refuses_training_packages),
        cmocka_unit_test(test_definition_out_of_memory),
        cmocka_unit_test_setup_teardown(test_bes_accepts_and_resolves, setup_bes, teardown_bes),
        cmocka_unit_test_setup_teardown(test_bes_refusals, setup_bes, teardown_bes),
        cmocka_unit_test(test_bes_duplicate_outputs),
        cmocka_unit_test(test_connection_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
