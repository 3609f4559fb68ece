/* parse.h - the HTTP layer's request-body parsers as pure functions.
 *
 * What the routes check in a body before they touch the store, the registry
 * or the network, callable without a server or a request: by the routes
 * themselves (definition.c, rrs.c, bes.c) and by the fuzz harnesses
 * (tests/fuzz/fuzz_definition.c, fuzz_rrs.c, fuzz_bes.c, fuzz_connstr.c) and
 * unit tests.
 *
 * Ownership: results are the caller's (each says how to free it); JSON
 * arguments are borrowed, and borrowed pointers in results stay valid while
 * those arguments live.
 * Thread safety: pure functions, callable from any thread (rl_bes_job_parse
 * calls back into the store only through the functions it is given).
 * Errors: RL_ENOMEM; the problems of a definition are a result, not an error.
 */
#ifndef RL_HTTP_PARSE_H
#define RL_HTTP_PARSE_H

#include "base/buf.h"
#include "base/error.h"
#include "data/table.h"
#include "experiment/experiment.h"
#include "model/model.h"
#include "store/meta.h"

#include <jansson.h>

/* ---- definitions (definition.c) ---- */

/* What a new-style web-service definition asks for, checked. */
typedef struct rl_definition {
    const char *title;                  /* properties.title (borrowed), or NULL */
    const json_t *description;          /* properties.description (borrowed), or NULL */
    const json_t *max_concurrent_calls; /* realtimeConfiguration.maxConcurrentCalls, or NULL */
    rl_trace_level level;               /* diagnostics.level, else the level passed in */
    const char *model_uri;              /* the Resource asset's locationInfo.uri, or NULL */
    json_t *experiment_json;            /* the package as an experiment (owned), or NULL */
    rl_experiment *experiment;          /* that experiment parsed (owned), or NULL */
    rl_buf problems;                    /* every problem found, one a line */
    int nproblems;
} rl_definition;

/* Checks props, the "properties" object of a definition (GET .../definition's
 * shape), for a service whose experiment is named exp_name, whose trained
 * model resource is resource_name (NULL: any name) and whose default endpoint
 * traces at level: the title, description, maxConcurrentCalls, diagnostics
 * level, packageType and keys, then the package (nodes with inputId,
 * outputId or assetId, assets of type Module or Resource, edges) turned into
 * an experiment and parsed, which must score with one trained-model resource
 * and no Train Model. Every problem is listed in out->problems. The model's
 * location is not resolved here (that needs the store).
 * Returns RL_OK with *out filled (problems or not; rl_definition_fini it),
 * or RL_ENOMEM. props must be a JSON object. */
int rl_definition_parse(const json_t *props, const char *exp_name, const char *resource_name,
                        rl_trace_level level, rl_definition *out, rl_error *err);
void rl_definition_fini(rl_definition *d);

/* ---- request-response inputs (rrs.c) ---- */

/* What one input of an RRS call may hold. */
typedef struct rl_rrs_limits {
    size_t max_rows;    /* rows (relearnd --max-rows) */
    size_t max_columns; /* columns (--max-columns) */
    size_t max_cells;   /* rows x columns of a swagger input, whose rows may leave
                           columns out (half of --max-body) */
} rl_rrs_limits;

/* Reads input `name` of an RRS body into a table: in is either classic,
 * {"ColumnNames": [names], "Values": [[row], ...]}, or swagger, [{column:
 * value, ...}, ...] (columns in first-seen order, a left-out cell missing).
 * A column of m's input schema (m may be NULL) gets its schema type, another
 * column numeric when every value is a number, else string; null, "", "?"
 * and "NA" are missing. Returns RL_OK with *out (the caller's:
 * rl_table_free), RL_EINVAL for a malformed input, RL_ESCHEMA for a value
 * that does not fit its column's type, RL_ETOOBIG over the limits (each
 * message names the input, and the row and column where they apply), or
 * RL_ENOMEM. */
int rl_rrs_parse_input(const json_t *in, const rl_model *m, const char *name,
                       const rl_rrs_limits *lim, rl_table **out, rl_error *err);

/* ---- batch job bodies (bes.c) ---- */

/* Where a job is created, and the store's answers it needs. */
typedef struct rl_bes_env {
    const char *workspace;  /* the endpoint's workspace */
    const char *public_url; /* the daemon's base URL: its store is PUBLIC_URL/storage */
    const char *job_id;     /* the new job's id (names the default outputs) */
    /* RL_OK when a blob exists at the internal address, RL_ENOTFOUND when
     * none does, another code (with err) when the store fails. */
    int (*stat)(void *ctx, const char *internal, rl_error *err);
    /* *used: whether an endpoint's model or its history is the blob. */
    int (*referenced)(void *ctx, const char *internal, int *used, rl_error *err);
    void *ctx;
} rl_bes_env;

/* How to answer a refused body: status 0 means "by the error's code"
 * (rl_reply_rl_error); otherwise the HTTP status and Studio detail code, with
 * the error's message. detail is a static string. */
typedef struct rl_bes_refusal {
    int status;
    const char *detail;
} rl_bes_refusal;

/* Checks the body of POST {ApiLocation}/jobs for experiment e, in the order
 * the route answers (docs/api.md, "Batch"): Inputs exactly e's inputs, each a
 * blob reference of the built-in store (ConnectionString, BaseLocation,
 * RelativeLocation) to an existing .csv/.tsv/.arff blob; Outputs some of e's
 * outputs, each with an extension fitting what e writes there and not an
 * endpoint's model, the others at their defaults; no two outputs at one
 * blob; GlobalParameters empty. On success *out (the caller's) is the job's
 * stored request, every blob an internal address (jobs/jobs.h). On refusal
 * returns non-zero with err's message and *why. body is any JSON value. */
int rl_bes_job_parse(const json_t *body, const rl_experiment *e, const rl_bes_env *env,
                     json_t **out, rl_bes_refusal *why, rl_error *err);

/* Whether an Azure-style connection string ("Key=value;Key=value", keys in
 * any case, spaces around entries ignored) names the built-in store:
 * UseDevelopmentStorage=true, or BlobEndpoint=PUBLIC_URL/storage (a final
 * slash or several allowed). */
int rl_bes_connection_ours(const char *public_url, const char *cs);

#endif
