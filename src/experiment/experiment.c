/* experiment.c - parsing, validating, converting and running module graphs.
 *
 * The module catalogue below gives each Studio module its typed ports; a
 * node's parameters are checked by the module's own layer (transforms, split,
 * learners). Validation collects every problem into one message, a line each.
 * Running walks the nodes in topological order; dataset values carry the
 * chain of fitted transforms they went through since they entered, so that
 * Train Model can bundle the chain with the model and Score Model can replay
 * exactly the part of it that its input has not been through yet.
 */
#include "experiment/experiment.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "data/io.h"
#include "learners/learner.h"
#include "modules/evaluate.h"
#include "modules/split.h"
#include "modules/transform.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { P_TABLE = 1, P_LEARNER = 2, P_MODEL = 4, P_EVAL = 8, P_ANY = 15 };

typedef enum mkind {
    M_INPUT = 1,
    M_OUTPUT,
    M_IMPORT,
    M_TRANSFORM,
    M_SPLIT,
    M_LEARNER,
    M_TRAIN,
    M_SCORE,
    M_EVALUATE,
    M_RESOURCE,
} mkind;

typedef struct port {
    const char *name;
    int type;
    int optional;
} port;

typedef struct module_def {
    const char *name;
    mkind kind;
    port in[2];
    int nin;
    port out[2];
    int nout;
} module_def;

static const module_def MODULES[] = {
    {"Web Service Input", M_INPUT, {{0}}, 0, {{"Dataset", P_TABLE, 0}}, 1},
    {"Web Service Output", M_OUTPUT, {{"Dataset", P_ANY, 0}}, 1, {{0}}, 0},
    {"Import Data", M_IMPORT, {{0}}, 0, {{"Results dataset", P_TABLE, 0}}, 1},
    {"Select Columns in Dataset", M_TRANSFORM, {{"Dataset", P_TABLE, 0}}, 1,
     {{"Results dataset", P_TABLE, 0}}, 1},
    {"Edit Metadata", M_TRANSFORM, {{"Dataset", P_TABLE, 0}}, 1,
     {{"Results dataset", P_TABLE, 0}}, 1},
    {"Clean Missing Data", M_TRANSFORM, {{"Dataset", P_TABLE, 0}}, 1,
     {{"Cleaned dataset", P_TABLE, 0}}, 1},
    {"Normalize Data", M_TRANSFORM, {{"Dataset", P_TABLE, 0}}, 1,
     {{"Transformed dataset", P_TABLE, 0}}, 1},
    {"Split Data", M_SPLIT, {{"Dataset", P_TABLE, 0}}, 1,
     {{"Results dataset1", P_TABLE, 0}, {"Results dataset2", P_TABLE, 0}}, 2},
    {"Train Model", M_TRAIN, {{"Untrained model", P_LEARNER, 0}, {"Dataset", P_TABLE, 0}}, 2,
     {{"Trained model", P_MODEL, 0}}, 1},
    {"Score Model", M_SCORE, {{"Trained model", P_MODEL, 0}, {"Dataset", P_TABLE, 0}}, 2,
     {{"Scored dataset", P_TABLE, 0}}, 1},
    {"Evaluate Model", M_EVALUATE,
     {{"Scored dataset", P_TABLE, 0}, {"Scored dataset to compare", P_TABLE, 1}}, 2,
     {{"Evaluation results", P_EVAL, 0}}, 1},
    {"Trained Model", M_RESOURCE, {{0}}, 0, {{"Trained model", P_MODEL, 0}}, 1},
};
static const module_def LEARNER_MODULE = {
    NULL, M_LEARNER, {{0}}, 0, {{"Untrained model", P_LEARNER, 0}}, 1};

typedef struct node {
    char *id;
    char *module; /* canonical name */
    const module_def *def;
    const rl_learner_kind *learner;
    json_t *params;
    rl_params lparams;
    int src_node[2], src_port[2]; /* per input port: the producing node and port, -1 */
    char *name; /* Web Service Input/Output name, Import Data path, resource name */
} node;

struct rl_experiment {
    char *name;
    char *description;
    char *base_dir;
    int allow_files;
    node *nodes;
    size_t nnodes;
    size_t *order; /* topological */
};

static const char *port_type_name(int t)
{
    switch (t) {
    case P_TABLE: return "dataset";
    case P_LEARNER: return "untrained model";
    case P_MODEL: return "trained model";
    case P_EVAL: return "evaluation results";
    default: return "any";
    }
}

/* ---- problems: one message, a line each ---- */

typedef struct problems {
    rl_buf text;
    int count;
    int oom;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...)
{
    char line[RL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->count++) p->oom |= rl_buf_putc(&p->text, '\n') != RL_OK;
    p->oom |= rl_buf_puts(&p->text, line) != RL_OK;
}

/* ---- lifetime and accessors ---- */

void rl_experiment_free(rl_experiment *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nnodes; i++) {
        rl_free(e->nodes[i].id);
        rl_free(e->nodes[i].module);
        rl_free(e->nodes[i].name);
        json_decref(e->nodes[i].params);
    }
    rl_free(e->nodes);
    rl_free(e->order);
    rl_free(e->name);
    rl_free(e->description);
    rl_free(e->base_dir);
    rl_free(e);
}

const char *rl_experiment_name(const rl_experiment *e)
{
    return e->name;
}

static size_t count_kind(const rl_experiment *e, mkind k, size_t want, const char **name)
{
    size_t n = 0;
    for (size_t i = 0; i < e->nnodes; i++)
        if (e->nodes[i].def->kind == k) {
            if (name && n == want) *name = e->nodes[i].name;
            n++;
        }
    return n;
}

int rl_experiment_is_training(const rl_experiment *e)
{
    return count_kind(e, M_TRAIN, 0, NULL) > 0;
}

size_t rl_experiment_ninputs(const rl_experiment *e)
{
    return count_kind(e, M_INPUT, 0, NULL);
}

const char *rl_experiment_input(const rl_experiment *e, size_t i)
{
    const char *s = NULL;
    count_kind(e, M_INPUT, i, &s);
    return s;
}

size_t rl_experiment_noutputs(const rl_experiment *e)
{
    return count_kind(e, M_OUTPUT, 0, NULL);
}

const char *rl_experiment_output(const rl_experiment *e, size_t i)
{
    const char *s = NULL;
    count_kind(e, M_OUTPUT, i, &s);
    return s;
}

rl_value_kind rl_experiment_output_kind(const rl_experiment *e, const char *name)
{
    for (size_t i = 0; i < e->nnodes; i++) {
        const node *nd = &e->nodes[i];
        if (nd->def->kind != M_OUTPUT || !nd->name || strcmp(nd->name, name) != 0) continue;
        if (nd->src_node[0] < 0) return 0;
        switch (e->nodes[nd->src_node[0]].def->out[nd->src_port[0]].type) {
        case P_TABLE: return RL_VALUE_TABLE;
        case P_MODEL: return RL_VALUE_MODEL;
        case P_EVAL: return RL_VALUE_EVALUATION;
        default: return 0;
        }
    }
    return 0;
}

size_t rl_experiment_nresources(const rl_experiment *e)
{
    return count_kind(e, M_RESOURCE, 0, NULL);
}

const char *rl_experiment_resource(const rl_experiment *e, size_t i)
{
    const char *s = NULL;
    count_kind(e, M_RESOURCE, i, &s);
    return s;
}

void rl_experiment_resource_name(const char *experiment_name, char *out, size_t size)
{
    snprintf(out, size, "%s [trained model]", experiment_name);
}

/* ---- parsing ---- */

static const module_def *find_module(const char *name, const rl_learner_kind **lk)
{
    *lk = NULL;
    for (size_t i = 0; i < sizeof MODULES / sizeof *MODULES; i++)
        if (strcasecmp(MODULES[i].name, name) == 0) return &MODULES[i];
    const rl_learner_kind *k = rl_learner_find(name);
    if (k) {
        *lk = k;
        return &LEARNER_MODULE;
    }
    return NULL;
}

static long find_node(const rl_experiment *e, const char *id, size_t len)
{
    for (size_t i = 0; i < e->nnodes; i++)
        if (strlen(e->nodes[i].id) == len && memcmp(e->nodes[i].id, id, len) == 0) return (long)i;
    return -1;
}

static int valid_id(const char *s)
{
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return 0;
    return 1;
}

static int valid_io_name(const char *s)
{
    return valid_id(s);
}

/* Checks one node's parameters with its module's layer. */
static void check_params(rl_experiment *e, node *nd, problems *p)
{
    rl_error err;
    rl_error_clear(&err);
    const json_t *params = nd->params;
    switch (nd->def->kind) {
    case M_INPUT:
    case M_OUTPUT: {
        const char *name = json_string_value(json_object_get(params, "name"));
        if (!name || !valid_io_name(name)) {
            problem(p, "node '%s' (%s): parameter \"name\" must be a name of letters, digits, "
                       "'-', '_' or '.' (e.g. \"input1\")",
                    nd->id, nd->module);
            return;
        }
        nd->name = rl_strdup(name);
        break;
    }
    case M_RESOURCE: {
        const char *name = json_string_value(json_object_get(params, "name"));
        if (!name || !*name) {
            problem(p, "node '%s' (Trained Model): parameter \"name\" (the resource name, e.g. "
                       "\"Census income [trained model]\") is required",
                    nd->id);
            return;
        }
        nd->name = rl_strdup(name);
        break;
    }
    case M_IMPORT: {
        const char *path = json_string_value(json_object_get(params, "path"));
        if (!e->allow_files) {
            problem(p, "node '%s' (Import Data): reading files is not allowed here; use a Web "
                       "Service Input and send the data with the request",
                    nd->id);
            return;
        }
        if (!path || !*path) {
            problem(p, "node '%s' (Import Data): parameter \"path\" (a CSV, TSV or ARFF file) "
                       "is required",
                    nd->id);
            return;
        }
        if (path[0] == '/' || !e->base_dir) {
            nd->name = rl_strdup(path);
        } else {
            size_t n = strlen(e->base_dir) + strlen(path) + 2;
            nd->name = rl_malloc(n);
            if (nd->name) snprintf(nd->name, n, "%s/%s", e->base_dir, path);
        }
        break;
    }
    case M_TRANSFORM:
        if (rl_transform_check(nd->module, params, &err))
            problem(p, "node '%s' (%s): %s", nd->id, nd->module, err.msg);
        break;
    case M_SPLIT:
        if (rl_split_check(params, &err)) problem(p, "node '%s' (Split Data): %s", nd->id, err.msg);
        break;
    case M_LEARNER:
        rl_params_default(nd->learner, &nd->lparams);
        if (params && rl_params_from_json(nd->learner, params, &nd->lparams, &err))
            problem(p, "node '%s' (%s): %s", nd->id, nd->module, err.msg);
        break;
    case M_TRAIN: {
        const char *label = json_string_value(json_object_get(params, "label-column"));
        if (!label || !*label)
            problem(p, "node '%s' (Train Model): parameter \"label-column\" is required",
                    nd->id);
        break;
    }
    case M_EVALUATE: {
        json_t *l = json_object_get(params, "label-column");
        if (l && !json_is_string(l))
            problem(p, "node '%s' (Evaluate Model): \"label-column\" must be a string", nd->id);
        break;
    }
    case M_SCORE: break;
    }
    /* Unknown keys for modules whose keys we own here. */
    if (params && (nd->def->kind == M_INPUT || nd->def->kind == M_OUTPUT ||
                   nd->def->kind == M_RESOURCE || nd->def->kind == M_TRAIN ||
                   nd->def->kind == M_SCORE || nd->def->kind == M_EVALUATE ||
                   nd->def->kind == M_IMPORT)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)params, key, v)
        {
            int ok = 0;
            switch (nd->def->kind) {
            case M_INPUT:
            case M_OUTPUT:
            case M_RESOURCE: ok = !strcmp(key, "name"); break;
            case M_TRAIN: ok = !strcmp(key, "label-column"); break;
            case M_EVALUATE: ok = !strcmp(key, "label-column"); break;
            case M_IMPORT: ok = !strcmp(key, "path") || !strcmp(key, "types"); break;
            default: break;
            }
            if (!ok) problem(p, "node '%s' (%s): unknown parameter \"%s\"", nd->id, nd->module, key);
        }
    }
}

/* Resolves "node" or "node:port" on the given side. Returns the node index and
 * sets *port_i, or -1 after recording a problem. */
static long resolve_end(rl_experiment *e, const char *spec, int is_to, int want_type,
                        int *port_i, problems *p)
{
    const char *colon = strchr(spec, ':');
    size_t idlen = colon ? (size_t)(colon - spec) : strlen(spec);
    long ni = find_node(e, spec, idlen);
    if (ni < 0) {
        problem(p, "edge %s \"%s\": there is no node '%.*s'", is_to ? "to" : "from", spec,
                (int)idlen, spec);
        return -1;
    }
    node *nd = &e->nodes[ni];
    const port *ports = is_to ? nd->def->in : nd->def->out;
    int nports = is_to ? nd->def->nin : nd->def->nout;
    if (nports == 0) {
        problem(p, "edge %s \"%s\": %s has no %s", is_to ? "to" : "from", spec, nd->module,
                is_to ? "inputs" : "outputs");
        return -1;
    }
    if (colon) {
        for (int i = 0; i < nports; i++)
            if (strcasecmp(ports[i].name, colon + 1) == 0) {
                *port_i = i;
                return ni;
            }
        rl_buf names = RL_BUF_INIT;
        for (int i = 0; i < nports; i++) rl_buf_printf(&names, "%s\"%s\"", i ? ", " : "", ports[i].name);
        problem(p, "edge %s \"%s\": %s has no %s port \"%s\" (it has %s)", is_to ? "to" : "from",
                spec, nd->module, is_to ? "input" : "output", colon + 1,
                names.data ? names.data : "");
        rl_buf_fini(&names);
        return -1;
    }
    if (nports == 1) {
        *port_i = 0;
        return ni;
    }
    /* Several ports: the one free port of a fitting type, required ones first. */
    for (int pass = 0; pass < 2; pass++) {
        int found = -1, nfit = 0;
        for (int i = 0; i < nports; i++) {
            if (is_to && nd->src_node[i] >= 0) continue;
            if (!(ports[i].type & want_type) || ports[i].optional != pass) continue;
            found = i;
            nfit++;
        }
        if (nfit == 1) {
            *port_i = found;
            return ni;
        }
        if (nfit > 1 || !is_to) break;
    }
    problem(p, "edge %s \"%s\": %s has several %s ports; name one as \"%s:PORT\"",
            is_to ? "to" : "from", spec, nd->module, is_to ? "input" : "output", nd->id);
    return -1;
}

static int topo_sort(rl_experiment *e, problems *p)
{
    size_t n = e->nnodes;
    int *indeg = rl_calloc(n ? n : 1, sizeof *indeg);
    e->order = rl_calloc(n ? n : 1, sizeof *e->order);
    if (!indeg || !e->order) {
        rl_free(indeg);
        p->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < e->nodes[i].def->nin; k++) indeg[i] += e->nodes[i].src_node[k] >= 0;
    size_t done = 0;
    int progress = 1;
    char *placed = rl_calloc(n ? n : 1, 1);
    if (!placed) {
        rl_free(indeg);
        p->oom = 1;
        return -1;
    }
    while (progress) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            if (placed[i] || indeg[i]) continue;
            placed[i] = 1;
            e->order[done++] = i;
            progress = 1;
            for (size_t j = 0; j < n; j++)
                for (int k = 0; k < e->nodes[j].def->nin; k++)
                    if (e->nodes[j].src_node[k] == (int)i) indeg[j]--;
        }
    }
    if (done < n) {
        rl_buf names = RL_BUF_INIT;
        int first = 1;
        for (size_t i = 0; i < n; i++)
            if (!placed[i]) {
                rl_buf_printf(&names, "%s'%s'", first ? "" : ", ", e->nodes[i].id);
                first = 0;
            }
        problem(p, "the graph has a cycle through nodes %s; experiments must be acyclic",
                names.data ? names.data : "");
        rl_buf_fini(&names);
    }
    rl_free(placed);
    rl_free(indeg);
    return done == n ? 0 : -1;
}

int rl_experiment_parse_json(const json_t *j, const rl_experiment_opts *opts,
                             rl_experiment **out, rl_error *err)
{
    problems p = {RL_BUF_INIT, 0, 0};
    const char *source = opts && opts->source ? opts->source : "experiment";
    rl_experiment *e = rl_calloc(1, sizeof *e);
    if (!e) return rl_error_set(err, RL_ENOMEM, "out of memory");
    e->allow_files = opts ? opts->allow_files : 0;
    if (opts && opts->base_dir) e->base_dir = rl_strdup(opts->base_dir);

    if (!json_is_object(j)) {
        problem(&p, "the experiment must be a JSON object with \"name\", \"nodes\" and \"edges\"");
        goto done;
    }
    const char *fmt = json_string_value(json_object_get(j, "format"));
    if (fmt && strcmp(fmt, "relearn-experiment") != 0)
        problem(&p, "\"format\" is \"%s\"; an experiment has \"relearn-experiment\"", fmt);
    json_t *ver = json_object_get(j, "version");
    if (ver && (!json_is_integer(ver) || json_integer_value(ver) < 1))
        problem(&p, "\"version\" must be a positive integer");
    else if (ver && json_integer_value(ver) > RL_EXPERIMENT_FORMAT_VERSION)
        problem(&p, "\"version\" %lld is newer than this relearn reads (%d); upgrade relearn",
                (long long)json_integer_value(ver), RL_EXPERIMENT_FORMAT_VERSION);
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!name || !*name || strlen(name) > 200)
        problem(&p, "\"name\" must be a non-empty string of at most 200 characters");
    e->name = rl_strdup(name ? name : "experiment");
    const char *desc = json_string_value(json_object_get(j, "description"));
    e->description = rl_strdup(desc ? desc : "");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        if (strcmp(key, "format") && strcmp(key, "version") && strcmp(key, "name") &&
            strcmp(key, "description") && strcmp(key, "nodes") && strcmp(key, "edges"))
            problem(&p, "unknown key \"%s\" (an experiment has format, version, name, "
                        "description, nodes, edges)",
                    key);
    }
    json_t *nodes = json_object_get(j, "nodes"), *edges = json_object_get(j, "edges");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0) {
        problem(&p, "\"nodes\" must be a non-empty array of {\"id\", \"module\", \"params\"}");
        goto done;
    }
    if (edges && !json_is_array(edges)) {
        problem(&p, "\"edges\" must be an array of {\"from\", \"to\"}");
        goto done;
    }
    if (json_array_size(nodes) > 1000) {
        problem(&p, "the experiment has %zu nodes; at most 1000 are allowed",
                json_array_size(nodes));
        goto done;
    }
    e->nodes = rl_calloc(json_array_size(nodes), sizeof *e->nodes);
    if (!e->nodes) goto oom;
    size_t i;
    json_array_foreach(nodes, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *module = json_string_value(json_object_get(v, "module"));
        json_t *params = json_object_get(v, "params");
        if (!json_is_object(v) || !id || !module) {
            problem(&p, "node %zu: a node needs a string \"id\" and \"module\"", i + 1);
            continue;
        }
        if (!valid_id(id)) {
            problem(&p, "node %zu: id \"%s\" must be 1-64 letters, digits, '-', '_' or '.'",
                    i + 1, id);
            continue;
        }
        if (find_node(e, id, strlen(id)) >= 0) {
            problem(&p, "node id '%s' appears twice; ids must be unique", id);
            continue;
        }
        if (params && !json_is_object(params)) {
            problem(&p, "node '%s': \"params\" must be an object", id);
            continue;
        }
        const rl_learner_kind *lk;
        const module_def *def = find_module(module, &lk);
        if (!def) {
            problem(&p, "node '%s': unknown module \"%s\" (see `relearn modules` for the list)",
                    id, module);
            continue;
        }
        node *nd = &e->nodes[e->nnodes++];
        nd->id = rl_strdup(id);
        nd->module = rl_strdup(lk ? lk->studio_name : def->name);
        nd->def = def;
        nd->learner = lk;
        nd->params = params ? json_deep_copy(params) : json_object();
        nd->src_node[0] = nd->src_node[1] = -1;
        if (!nd->id || !nd->module || !nd->params) goto oom;
        check_params(e, nd, &p);
    }
    /* Unique web service names. */
    for (size_t a = 0; a < e->nnodes; a++)
        for (size_t b = a + 1; b < e->nnodes; b++)
            if (e->nodes[a].name && e->nodes[b].name &&
                e->nodes[a].def->kind == e->nodes[b].def->kind &&
                (e->nodes[a].def->kind == M_INPUT || e->nodes[a].def->kind == M_OUTPUT) &&
                strcmp(e->nodes[a].name, e->nodes[b].name) == 0)
                problem(&p, "%s name \"%s\" is used by nodes '%s' and '%s'; names must be unique",
                        e->nodes[a].module, e->nodes[a].name, e->nodes[a].id, e->nodes[b].id);
    json_array_foreach(edges, i, v)
    {
        const char *from = json_string_value(json_object_get(v, "from"));
        const char *to = json_string_value(json_object_get(v, "to"));
        if (!from || !to) {
            problem(&p, "edge %zu: an edge needs string \"from\" and \"to\" (\"node\" or "
                        "\"node:port\")",
                    i + 1);
            continue;
        }
        int fp = 0, tp = 0;
        long fn = resolve_end(e, from, 0, P_ANY, &fp, &p);
        if (fn < 0) continue;
        int ftype = e->nodes[fn].def->out[fp].type;
        long tn = resolve_end(e, to, 1, ftype, &tp, &p);
        if (tn < 0) continue;
        node *dst = &e->nodes[tn];
        int ttype = dst->def->in[tp].type;
        if (!(ftype & ttype)) {
            problem(&p, "edge \"%s\" -> \"%s\": %s gives a %s, but %s's \"%s\" takes a %s", from,
                    to, e->nodes[fn].module, port_type_name(ftype), dst->module,
                    dst->def->in[tp].name, port_type_name(ttype));
            continue;
        }
        if (dst->src_node[tp] >= 0) {
            problem(&p, "edge \"%s\" -> \"%s\": input \"%s\" of node '%s' is connected twice",
                    from, to, dst->def->in[tp].name, dst->id);
            continue;
        }
        if (fn == tn) {
            problem(&p, "edge \"%s\" -> \"%s\" connects node '%s' to itself", from, to, dst->id);
            continue;
        }
        dst->src_node[tp] = (int)fn;
        dst->src_port[tp] = fp;
    }
    for (size_t k = 0; k < e->nnodes; k++) {
        node *nd = &e->nodes[k];
        for (int q = 0; q < nd->def->nin; q++)
            if (nd->src_node[q] < 0 && !nd->def->in[q].optional)
                problem(&p, "node '%s' (%s): input \"%s\" is not connected", nd->id, nd->module,
                        nd->def->in[q].name);
    }
    if (!p.count) topo_sort(e, &p);
done:
    if (p.oom) goto oom;
    if (p.count) {
        int rc = rl_error_set(err, RL_EINVAL, "%s: %d problem%s:\n%s", source, p.count,
                              p.count > 1 ? "s" : "", p.text.data);
        rl_buf_fini(&p.text);
        rl_experiment_free(e);
        return rc;
    }
    rl_buf_fini(&p.text);
    *out = e;
    return RL_OK;
oom:
    rl_buf_fini(&p.text);
    rl_experiment_free(e);
    return rl_error_set(err, RL_ENOMEM, "out of memory reading %s", source);
}

int rl_experiment_parse(const char *text, size_t len, const rl_experiment_opts *opts,
                        rl_experiment **out, rl_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return rl_error_set(err, RL_EPARSE, "%s:%d:%d: invalid JSON: %s",
                            opts && opts->source ? opts->source : "experiment", je.line,
                            je.column, je.text);
    int rc = rl_experiment_parse_json(j, opts, out, err);
    json_decref(j);
    return rc;
}

int rl_experiment_load_file(const char *path, int allow_files, rl_experiment **out,
                            rl_error *err)
{
    char *text;
    size_t len;
    int rc = rl_file_read_all(path, &text, &len, err);
    if (rc) return rc;
    char *dir = rl_strdup(path);
    if (!dir) {
        rl_free(text);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        memcpy(dir, ".", 2);
    rl_experiment_opts o = {path, dir, allow_files};
    rc = rl_experiment_parse(text, len, &o, out, err);
    rl_free(dir);
    rl_free(text);
    return rc;
}

json_t *rl_experiment_to_json(const rl_experiment *e)
{
    json_t *nodes = json_array(), *edges = json_array();
    for (size_t i = 0; i < e->nnodes; i++) {
        const node *nd = &e->nodes[i];
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:O}", "id", nd->id, "module",
                                               nd->module, "params", nd->params));
        for (int q = 0; q < nd->def->nin; q++) {
            if (nd->src_node[q] < 0) continue;
            const node *src = &e->nodes[nd->src_node[q]];
            char from[256], to[256];
            snprintf(from, sizeof from, "%s:%s", src->id, src->def->out[nd->src_port[q]].name);
            snprintf(to, sizeof to, "%s:%s", nd->id, nd->def->in[q].name);
            json_array_append_new(edges, json_pack("{s:s, s:s}", "from", from, "to", to));
        }
    }
    return json_pack("{s:s, s:i, s:s, s:s, s:o, s:o}", "format", "relearn-experiment", "version",
                     RL_EXPERIMENT_FORMAT_VERSION, "name", e->name, "description",
                     e->description ? e->description : "", "nodes", nodes, "edges", edges);
}

/* ---- Set Up Web Service ---- */

static long producer(const rl_experiment *e, size_t ni, int in_port)
{
    return e->nodes[ni].src_node[in_port];
}

/* The Web Service Input name upstream of node ni, or NULL. */
static const char *upstream_input(const rl_experiment *e, size_t ni, int depth)
{
    const node *nd = &e->nodes[ni];
    if (nd->def->kind == M_INPUT) return nd->name;
    if (depth > 1000) return NULL;
    for (int q = 0; q < nd->def->nin; q++) {
        if (nd->src_node[q] < 0 || nd->def->in[q].type != P_TABLE) continue;
        const char *s = upstream_input(e, (size_t)nd->src_node[q], depth + 1);
        if (s) return s;
    }
    return NULL;
}

int rl_experiment_to_predictive(const rl_experiment *t, rl_experiment **out, rl_error *err)
{
    long train = -1, score = -1;
    size_t ntrain = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        if (t->nodes[i].def->kind == M_TRAIN) {
            train = (long)i;
            ntrain++;
        }
    if (ntrain != 1)
        return rl_error_set(err, RL_EINVAL,
                            "experiment '%s' has %zu Train Model nodes; setting up a predictive "
                            "web service needs exactly one",
                            t->name, ntrain);
    for (size_t k = 0; k < t->nnodes && score < 0; k++) {
        size_t i = t->order[k];
        if (t->nodes[i].def->kind == M_SCORE && producer(t, i, 0) == train) score = (long)i;
    }
    const char *in_name = upstream_input(t, (size_t)train, 0);
    char resource[512];
    rl_experiment_resource_name(t->name, resource, sizeof resource);

    json_t *nodes = json_array(), *edges = json_array();
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "input", "module",
                                           "Web Service Input", "params", "name",
                                           in_name ? in_name : "input1"));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "trained-model",
                                           "module", "Trained Model", "params", "name", resource));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{}}", "id", "score", "module",
                                           "Score Model", "params"));
    json_array_append_new(edges, json_pack("{s:s, s:s}", "from", "trained-model", "to",
                                           "score:Trained model"));
    json_array_append_new(edges, json_pack("{s:s, s:s}", "from", "input", "to", "score:Dataset"));
    /* Keep the column selections and metadata edits that followed Score Model
     * on its way to an output, as Studio kept them. */
    const char *last = "score";
    const char *out_name = "output1";
    long cur = score;
    while (cur >= 0) {
        long next = -1;
        for (size_t i = 0; i < t->nnodes; i++)
            if (t->nodes[i].src_node[0] == cur && t->nodes[i].def->nin == 1 &&
                (t->nodes[i].def->kind == M_TRANSFORM || t->nodes[i].def->kind == M_OUTPUT)) {
                next = (long)i;
                break;
            }
        if (next < 0) break;
        const node *nd = &t->nodes[next];
        if (nd->def->kind == M_OUTPUT) {
            out_name = nd->name;
            break;
        }
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:O}", "id", nd->id, "module",
                                               nd->module, "params", nd->params));
        json_array_append_new(edges, json_pack("{s:s, s:s}", "from", last, "to", nd->id));
        last = nd->id;
        cur = next;
    }
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", "output", "module",
                                           "Web Service Output", "params", "name", out_name));
    json_array_append_new(edges, json_pack("{s:s, s:s}", "from", last, "to", "output"));
    char name[512];
    snprintf(name, sizeof name, "%s [Predictive Exp.]", t->name);
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:o, s:o}", "format", "relearn-experiment",
                          "version", RL_EXPERIMENT_FORMAT_VERSION, "name", name, "description",
                          t->description ? t->description : "", "nodes", nodes, "edges", edges);
    if (!j) return rl_error_set(err, RL_ENOMEM, "out of memory");
    rl_experiment_opts o = {"predictive experiment", NULL, 0};
    int rc = rl_experiment_parse_json(j, &o, out, err);
    json_decref(j);
    return rc;
}

/* ---- running ---- */

typedef struct value {
    int type;
    rl_table *table;
    rl_transform **chain; /* transforms the table went through since it entered */
    size_t nchain;
    const char *label; /* the label column's name when known (borrowed) */
    const rl_learner_kind *learner;
    const rl_params *lparams;
    rl_model *model;
    int trained_here;    /* model: trained by this run (its metrics may be set) */
    rl_model *scored_by; /* table: the model Score Model used (borrowed) */
    int scored_by_trained_here;
    json_t *eval;
} value;

static void value_fini(value *v)
{
    rl_table_free(v->table);
    for (size_t i = 0; i < v->nchain; i++) rl_transform_unref(v->chain[i]);
    rl_free(v->chain);
    rl_model_unref(v->model);
    json_decref(v->eval);
    memset(v, 0, sizeof *v);
}

/* v gets in's chain plus tr (when not NULL). */
static int chain_extend(value *v, const value *in, rl_transform *tr)
{
    size_t n = in->nchain + (tr != NULL);
    if (!n) return RL_OK;
    v->chain = rl_calloc(n, sizeof *v->chain);
    if (!v->chain) return RL_ENOMEM;
    for (size_t i = 0; i < in->nchain; i++) v->chain[i] = rl_transform_ref(in->chain[i]);
    if (tr) v->chain[in->nchain] = rl_transform_ref(tr);
    v->nchain = n;
    return RL_OK;
}

static const rl_binding *find_binding(const rl_run_opts *o, const char *name, int want_model)
{
    for (size_t i = 0; o && i < o->nbindings; i++)
        if (strcmp(o->bindings[i].name, name) == 0 &&
            (want_model ? o->bindings[i].model != NULL : o->bindings[i].table != NULL))
            return &o->bindings[i];
    return NULL;
}

/* The Web Service Input or Import Data table that the dataset at node ni
 * started from (for the model's input schema). */
static const rl_table *root_table(const rl_experiment *e, const value *vals, size_t ni, int depth)
{
    const node *nd = &e->nodes[ni];
    if (nd->def->kind == M_INPUT || nd->def->kind == M_IMPORT) return vals[ni * 2].table;
    if (depth > 1000) return NULL;
    for (int q = 0; q < nd->def->nin; q++)
        if (nd->src_node[q] >= 0 && nd->def->in[q].type == P_TABLE)
            return root_table(e, vals, (size_t)nd->src_node[q], depth + 1);
    return NULL;
}

static int run_node(const rl_experiment *e, size_t ni, value *vals, const rl_run_opts *o,
                    rl_error *err)
{
    const node *nd = &e->nodes[ni];
    value *out = &vals[ni * 2];
    const value *in0 = nd->src_node[0] >= 0 ? &vals[nd->src_node[0] * 2 + nd->src_port[0]] : NULL;
    const value *in1 = nd->src_node[1] >= 0 ? &vals[nd->src_node[1] * 2 + nd->src_port[1]] : NULL;
    int rc = RL_OK;
    switch (nd->def->kind) {
    case M_INPUT: {
        const rl_binding *b = find_binding(o, nd->name, 0);
        if (!b)
            return rl_error_set(err, RL_EINVAL, "web service input '%s' has no data; bind it "
                                "(relearn run --input %s=FILE)", nd->name, nd->name);
        out->table = rl_table_dup(b->table);
        if (!out->table) return rl_error_set(err, RL_ENOMEM, "out of memory");
        break;
    }
    case M_IMPORT: {
        rl_read_opts ro = {0};
        json_t *types = json_object_get(nd->params, "types");
        rl_type_override ov[64];
        const char *key;
        json_t *tv;
        json_object_foreach(types, key, tv)
        {
            if (ro.noverrides == 64) break;
            if (!json_is_string(tv) ||
                rl_type_parse(json_string_value(tv), &ov[ro.noverrides].type,
                              &ov[ro.noverrides].flags))
                return rl_error_set(err, RL_EINVAL, "node '%s' (Import Data): type of '%s' "
                                    "must be numeric, boolean, string or categorical", nd->id, key);
            ov[ro.noverrides++].column = key;
        }
        ro.overrides = ov;
        if ((rc = rl_table_read_file(nd->name, &ro, &out->table, err))) return rc;
        break;
    }
    case M_TRANSFORM: {
        rl_transform *tr = NULL;
        if ((rc = rl_transform_fit_apply(nd->module, nd->params, in0->table, &tr, &out->table,
                                         err)))
            break;
        rc = chain_extend(out, in0, tr);
        rl_transform_unref(tr);
        if (rc) return rl_error_set(err, RL_ENOMEM, "out of memory");
        out->label = in0->label;
        break;
    }
    case M_SPLIT: {
        if ((rc = rl_split(in0->table, nd->params, &out[0].table, &out[1].table, err))) break;
        if (chain_extend(&out[0], in0, NULL) || chain_extend(&out[1], in0, NULL))
            return rl_error_set(err, RL_ENOMEM, "out of memory");
        out[0].label = out[1].label = in0->label;
        break;
    }
    case M_LEARNER:
        out->learner = nd->learner;
        out->lparams = &nd->lparams;
        break;
    case M_TRAIN: {
        const value *lv = in0, *dv = in1;
        rl_train_spec spec = {e->name, lv->learner, lv->lparams,
                              json_string_value(json_object_get(nd->params, "label-column")),
                              dv->chain, dv->nchain, root_table(e, vals, ni, 0)};
        rc = rl_model_train(&spec, dv->table, &out->model, err);
        out->trained_here = 1;
        break;
    }
    case M_SCORE:
    case M_RESOURCE:
        if (nd->def->kind == M_RESOURCE) {
            const rl_binding *b = find_binding(o, nd->name, 1);
            if (!b)
                return rl_error_set(err, RL_EINVAL, "trained model resource '%s' is not bound",
                                    nd->name);
            out->model = rl_model_ref(b->model);
        } else {
            const rl_model *m = in0->model;
            size_t skip = in1->nchain;
            /* The dataset's transforms must be the model's first ones. */
            int prefix = skip <= rl_model_nchain(m);
            for (size_t i = 0; prefix && i < skip; i++)
                prefix = in1->chain[i] == rl_model_chain(m, i);
            if (!prefix)
                return rl_error_set(err, RL_EINVAL,
                                    "node '%s' (Score Model): its dataset went through "
                                    "transforms the model was not trained after; connect the "
                                    "dataset from the same branch as Train Model's, or the raw "
                                    "data",
                                    nd->id);
            if ((rc = rl_model_score(m, in1->table, skip, &out->table, err))) break;
            out->label = rl_model_label(m);
            out->scored_by = in0->model;
            out->scored_by_trained_here = in0->trained_here;
        }
        break;
    case M_EVALUATE: {
        const char *label = json_string_value(json_object_get(nd->params, "label-column"));
        if (!label) label = in0->label;
        if (in1)
            rc = rl_evaluate_compare(in0->table, in1->table, label, &out->eval, err);
        else
            rc = rl_evaluate(in0->table, label, &out->eval, err);
        /* A model trained in this run keeps its evaluation in its metadata. */
        if (!rc && !in1 && in0->scored_by && in0->scored_by_trained_here)
            rl_model_set_metrics(in0->scored_by, out->eval);
        break;
    }
    case M_OUTPUT: break;
    }
    if (rc) rl_error_wrap(err, "node '%s' (%s)", nd->id, nd->module);
    return rc;
}

static int add_output(rl_run_result *r, const char *name, const value *v, rl_error *err)
{
    rl_output *o = &r->outputs[r->noutputs];
    memset(o, 0, sizeof *o);
    o->name = rl_strdup(name);
    if (!o->name) return rl_error_set(err, RL_ENOMEM, "out of memory");
    r->noutputs++;
    if (v->table) {
        o->kind = RL_VALUE_TABLE;
        o->table = rl_table_dup(v->table);
        if (!o->table) return rl_error_set(err, RL_ENOMEM, "out of memory");
    } else if (v->model) {
        o->kind = RL_VALUE_MODEL;
        o->model = rl_model_ref(v->model);
    } else if (v->eval) {
        o->kind = RL_VALUE_EVALUATION;
        o->evaluation = json_incref(v->eval);
    } else {
        return rl_error_set(err, RL_EINVAL, "web service output '%s' is connected to an "
                            "untrained model; connect a dataset, trained model or evaluation",
                            name);
    }
    return RL_OK;
}

int rl_experiment_run(const rl_experiment *e, const rl_run_opts *opts, rl_run_result **out,
                      rl_error *err)
{
    value *vals = rl_calloc(e->nnodes * 2, sizeof *vals);
    rl_run_result *r = rl_calloc(1, sizeof *r);
    int rc = RL_OK;
    if (!vals || !r) goto oom;
    r->outputs = rl_calloc(rl_experiment_noutputs(e) + 1, sizeof *r->outputs);
    if (!r->outputs) goto oom;
    for (size_t k = 0; k < e->nnodes; k++) {
        if (opts && opts->cancelled && opts->cancelled(opts->ctx)) {
            rc = rl_error_set(err, RL_ECANCELED, "the run was cancelled");
            goto fail;
        }
        size_t ni = e->order[k];
        if ((rc = run_node(e, ni, vals, opts, err))) goto fail;
        const node *nd = &e->nodes[ni];
        if (nd->def->kind == M_OUTPUT &&
            (rc = add_output(r, nd->name, &vals[nd->src_node[0] * 2 + nd->src_port[0]], err)))
            goto fail;
        if (opts && opts->progress) opts->progress(opts->ctx, (double)(k + 1) / e->nnodes);
    }
    for (size_t i = 0; i < e->nnodes * 2; i++) value_fini(&vals[i]);
    rl_free(vals);
    *out = r;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory running the experiment");
fail:
    if (vals)
        for (size_t i = 0; i < e->nnodes * 2; i++) value_fini(&vals[i]);
    rl_free(vals);
    rl_run_result_free(r);
    return rc;
}

void rl_run_result_free(rl_run_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->noutputs; i++) {
        rl_free(r->outputs[i].name);
        rl_table_free(r->outputs[i].table);
        rl_model_unref(r->outputs[i].model);
        json_decref(r->outputs[i].evaluation);
    }
    rl_free(r->outputs);
    rl_free(r);
}

int rl_evaluation_to_table(const json_t *ev, rl_table **out, rl_error *err)
{
    rl_table *t = rl_table_new(1);
    if (!t) return rl_error_set(err, RL_ENOMEM, "out of memory");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ev, key, v)
    {
        rl_column *c = NULL;
        if (json_is_number(v)) {
            c = rl_column_new(key, RL_TYPE_NUMERIC, 1);
            if (c) c->num[0] = json_number_value(v);
        } else if (json_is_string(v)) {
            c = rl_column_new(key, RL_TYPE_STRING, 1);
            const char *s = json_string_value(v);
            if (c) {
                int32_t code = rl_levels_intern(c->levels, s, strlen(s));
                if (code < 0) {
                    rl_column_unref(c);
                    c = NULL;
                } else {
                    c->codes[0] = code;
                }
            }
        } else {
            continue; /* curves and matrices stay in the JSON form */
        }
        if (!c || rl_table_add(t, c, err)) {
            rl_table_free(t);
            return c ? err ? err->code : RL_ENOMEM : rl_error_set(err, RL_ENOMEM, "out of memory");
        }
    }
    *out = t;
    return RL_OK;
}
