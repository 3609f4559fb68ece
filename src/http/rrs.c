/* rrs.c - request-response scoring: POST {ApiLocation}/execute, and the help
 * and swagger documents of a service.
 *
 * A request's rows become a table typed by the model's input schema, the
 * service's predictive experiment runs on it (on this thread alone), and the
 * outputs are answered in the request's format: classic (ColumnNames and
 * Values) or swagger (rows as objects). Values are answered as text, exactly
 * as `relearn score` writes them. Reading an input into a table is
 * rl_rrs_parse_input (http/parse.h), pure, which the fuzz harness runs alone.
 */
#include "http/internal.h"
#include "http/parse.h"
#include "base/mem.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- request rows -> table ---- */

static int is_missing_text(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '?') || (n == 2 && s[0] == 'N' && s[1] == 'A');
}

/* The type of column `name`: the model's schema type, else numeric when every
 * value is a JSON number, else string. */
static rl_type column_type(const rl_model *m, const char *name, json_t *const *cells,
                           size_t n, size_t stride)
{
    for (size_t i = 0; m && i < rl_model_ninputs(m); i++)
        if (strcmp(rl_model_input_name(m, i), name) == 0) return rl_model_input_type(m, i);
    for (size_t i = 0; i < n; i++) {
        json_t *v = cells[i * stride];
        if (v && !json_is_null(v) && !json_is_number(v)) return RL_TYPE_STRING;
    }
    return RL_TYPE_NUMERIC;
}

static int set_cell(rl_column *c, size_t row, json_t *v, const char *input, rl_error *err)
{
    char buf[40];
    const char *s = NULL;
    size_t n = 0;
    if (!v || json_is_null(v)) return RL_OK;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
        if (is_missing_text(s, n)) return RL_OK;
    }
    switch (c->type) {
    case RL_TYPE_NUMERIC:
        if (json_is_number(v)) {
            c->num[row] = json_number_value(v);
            return RL_OK;
        }
        if (s && rl_parse_number(s, n, &c->num[row])) return RL_OK;
        break;
    case RL_TYPE_BOOLEAN:
        if (json_is_boolean(v)) {
            c->num[row] = json_is_true(v);
            return RL_OK;
        }
        if (json_is_number(v) && (json_number_value(v) == 0 || json_number_value(v) == 1)) {
            c->num[row] = json_number_value(v);
            return RL_OK;
        }
        if (s && (!strcasecmp(s, "true") || !strcmp(s, "1"))) {
            c->num[row] = 1;
            return RL_OK;
        }
        if (s && (!strcasecmp(s, "false") || !strcmp(s, "0"))) {
            c->num[row] = 0;
            return RL_OK;
        }
        break;
    case RL_TYPE_STRING: {
        if (json_is_number(v)) {
            n = rl_format_double(buf, json_number_value(v));
            s = buf;
        } else if (json_is_boolean(v)) {
            s = json_is_true(v) ? "true" : "false";
            n = strlen(s);
        }
        if (!s) break;
        int32_t code = rl_levels_intern(c->levels, s, n);
        if (code < 0) return rl_error_set(err, RL_ENOMEM, "out of memory");
        c->codes[row] = code;
        return RL_OK;
    }
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    int rc = rl_error_set(err, RL_ESCHEMA, "%s: column '%s', row %zu: %.64s is not %s", input,
                          c->name, row + 1, text ? text : "the value",
                          c->type == RL_TYPE_BOOLEAN ? "true or false" : "a number");
    free(text);
    return rc;
}

/* Builds a table from columns names[ncols] and cells (row-major, stride ncols). */
static int build_table(const rl_model *m, const char *input, json_t *const *names, size_t ncols,
                       json_t *const *cells, size_t nrows, rl_table **out, rl_error *err)
{
    rl_table *t = rl_table_new(nrows);
    if (!t) return rl_error_set(err, RL_ENOMEM, "out of memory");
    for (size_t j = 0; j < ncols; j++) {
        const char *name = json_string_value(names[j]);
        if (!name || !*name) {
            rl_table_free(t);
            return rl_error_set(err, RL_EINVAL, "%s: column name %zu must be a non-empty string",
                                input, j + 1);
        }
        rl_column *c = rl_column_new(name, column_type(m, name, cells + j, nrows, ncols), nrows);
        if (!c) {
            rl_table_free(t);
            return rl_error_set(err, RL_ENOMEM, "out of memory");
        }
        int rc = RL_OK;
        for (size_t i = 0; i < nrows && !rc; i++) rc = set_cell(c, i, cells[i * ncols + j], input, err);
        if (rc) {
            rl_column_unref(c);
            rl_table_free(t);
            return rc;
        }
        if ((rc = rl_table_add(t, c, err))) { /* a duplicate column name */
            rl_table_free(t);
            return rl_error_set(err, RL_EINVAL, "%s: column '%s' appears twice", input, name);
        }
    }
    *out = t;
    return RL_OK;
}

int rl_rrs_parse_input(const json_t *in, const rl_model *m, const char *name,
                       const rl_rrs_limits *lim, rl_table **out, rl_error *err)
{
    size_t max_rows = lim->max_rows, max_cols = lim->max_columns;
    json_t **cells = NULL, **names = NULL;
    size_t nrows = 0, ncols = 0;
    int rc = RL_OK;
    if (json_is_object(in)) { /* classic */
        json_t *cn = json_object_get(in, "ColumnNames"), *vals = json_object_get(in, "Values");
        if (!json_is_array(cn) || !json_is_array(vals))
            return rl_error_set(err, RL_EINVAL, "%s needs \"ColumnNames\" (an array of names) "
                                "and \"Values\" (an array of rows)", name);
        ncols = json_array_size(cn);
        nrows = json_array_size(vals);
        if (nrows > max_rows)
            return rl_error_set(err, RL_ETOOBIG, "%s has %zu rows; at most %zu are allowed in "
                                "one request (use a batch job for more)", name, nrows, max_rows);
        if (ncols > max_cols)
            return rl_error_set(err, RL_ETOOBIG, "%s has %zu columns; at most %zu are allowed "
                                "(relearnd --max-columns)", name, ncols, max_cols);
        /* Every row has ncols values before anything is allocated: the
         * cells are then no more than the values the body holds. */
        for (size_t i = 0; i < nrows; i++) {
            json_t *row = json_array_get(vals, i);
            if (!json_is_array(row) || json_array_size(row) != ncols)
                return rl_error_set(err, RL_EINVAL, "%s: row %zu has %zu values, ColumnNames "
                                    "has %zu", name, i + 1,
                                    json_is_array(row) ? json_array_size(row) : 0, ncols);
        }
        names = rl_calloc(ncols ? ncols : 1, sizeof *names);
        cells = rl_calloc(nrows * ncols + 1, sizeof *cells);
        if (!names || !cells) goto oom;
        for (size_t j = 0; j < ncols; j++) names[j] = json_array_get(cn, j);
        for (size_t i = 0; i < nrows; i++)
            for (size_t j = 0; j < ncols; j++)
                cells[i * ncols + j] = json_array_get(json_array_get(vals, i), j);
    } else if (json_is_array(in)) { /* swagger: rows as objects */
        nrows = json_array_size(in);
        if (nrows > max_rows)
            return rl_error_set(err, RL_ETOOBIG, "%s has %zu rows; at most %zu are allowed in "
                                "one request (use a batch job for more)", name, nrows, max_rows);
        /* Columns: the keys of the rows, in first-seen order. */
        json_t *seen = json_object();
        json_t *order = json_array();
        for (size_t i = 0; i < nrows; i++) {
            json_t *row = json_array_get(in, i);
            if (!json_is_object(row)) {
                json_decref(seen);
                json_decref(order);
                return rl_error_set(err, RL_EINVAL, "%s: row %zu must be an object of column: "
                                    "value", name, i + 1);
            }
            const char *k;
            json_t *v;
            json_object_foreach(row, k, v)
            {
                if (!json_object_get(seen, k)) {
                    json_object_set_new(seen, k, json_true());
                    json_array_append_new(order, json_string(k));
                }
            }
            if (json_array_size(order) > max_cols) {
                json_decref(seen);
                json_decref(order);
                return rl_error_set(err, RL_ETOOBIG, "%s: its rows name more than %zu columns "
                                    "(relearnd --max-columns)", name, max_cols);
            }
        }
        ncols = json_array_size(order);
        /* Rows may leave columns out: bound the table they make. */
        size_t max_cells = lim->max_cells;
        if (nrows && ncols > max_cells / nrows) {
            json_decref(seen);
            json_decref(order);
            return rl_error_set(err, RL_ETOOBIG, "%s: %zu rows by %zu columns make more than "
                                "%zu cells; send fewer rows or columns per call", name, nrows,
                                ncols, max_cells);
        }
        names = rl_calloc(ncols ? ncols : 1, sizeof *names);
        cells = rl_calloc(nrows * ncols + 1, sizeof *cells);
        if (names && cells) {
            for (size_t j = 0; j < ncols; j++) names[j] = json_array_get(order, j);
            for (size_t i = 0; i < nrows; i++)
                for (size_t j = 0; j < ncols; j++)
                    cells[i * ncols + j] = json_object_get(json_array_get(in, i),
                                                           json_string_value(names[j]));
            rc = build_table(m, name, names, ncols, cells, nrows, out, err);
        } else {
            rc = rl_error_set(err, RL_ENOMEM, "out of memory");
        }
        json_decref(seen);
        json_decref(order); /* names borrowed from it: used above only */
        rl_free(names);
        rl_free(cells);
        return rc;
    } else {
        return rl_error_set(err, RL_EINVAL, "input %s must be an object with ColumnNames and "
                            "Values, or (format=swagger) an array of rows", name);
    }
    rc = build_table(m, name, names, ncols, cells, nrows, out, err);
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory");
done:
    rl_free(names);
    rl_free(cells);
    return rc;
}

/* ---- table -> answer ---- */

static int put_json_string(rl_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (rl_buf_reserve(b, n + 2)) return RL_ENOMEM;
    rl_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            if (rl_buf_append(b, esc, 2)) return RL_ENOMEM;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (rl_buf_append(b, esc, 6)) return RL_ENOMEM;
        } else if (rl_buf_putc(b, (char)c)) {
            return RL_ENOMEM;
        }
    }
    return rl_buf_putc(b, '"');
}

static const char *studio_type(rl_type t)
{
    return t == RL_TYPE_NUMERIC ? "Numeric" : t == RL_TYPE_BOOLEAN ? "Boolean" : "String";
}

static int put_cell(rl_buf *b, const rl_column *c, size_t i)
{
    char tmp[40];
    size_t n;
    const char *s = rl_column_text(c, i, tmp, &n);
    if (rl_column_is_missing(c, i)) return rl_buf_puts(b, "null");
    return put_json_string(b, s, n);
}

static int put_table(rl_buf *b, const rl_table *t, int swagger, int details)
{
    size_t nc = rl_table_ncols(t), nr = rl_table_nrows(t);
    int rc = 0;
    if (swagger) {
        rc |= rl_buf_putc(b, '[');
        for (size_t i = 0; i < nr; i++) {
            rc |= rl_buf_puts(b, i ? ",{" : "{");
            for (size_t j = 0; j < nc; j++) {
                const rl_column *c = rl_table_col(t, j);
                if (j) rc |= rl_buf_putc(b, ',');
                rc |= put_json_string(b, c->name, strlen(c->name));
                rc |= rl_buf_putc(b, ':');
                rc |= put_cell(b, c, i);
            }
            rc |= rl_buf_putc(b, '}');
        }
        rc |= rl_buf_putc(b, ']');
        return rc ? RL_ENOMEM : RL_OK;
    }
    rc |= rl_buf_puts(b, "{\"type\":\"DataTable\",\"value\":{\"ColumnNames\":[");
    for (size_t j = 0; j < nc; j++) {
        if (j) rc |= rl_buf_putc(b, ',');
        rc |= put_json_string(b, rl_table_col(t, j)->name, strlen(rl_table_col(t, j)->name));
    }
    rc |= rl_buf_putc(b, ']');
    if (details) {
        rc |= rl_buf_puts(b, ",\"ColumnTypes\":[");
        for (size_t j = 0; j < nc; j++) {
            if (j) rc |= rl_buf_putc(b, ',');
            rc |= put_json_string(b, studio_type(rl_table_col(t, j)->type),
                                  strlen(studio_type(rl_table_col(t, j)->type)));
        }
        rc |= rl_buf_putc(b, ']');
    }
    rc |= rl_buf_puts(b, ",\"Values\":[");
    for (size_t i = 0; i < nr; i++) {
        rc |= rl_buf_puts(b, i ? ",[" : "[");
        for (size_t j = 0; j < nc; j++) {
            if (j) rc |= rl_buf_putc(b, ',');
            rc |= put_cell(b, rl_table_col(t, j), i);
        }
        rc |= rl_buf_putc(b, ']');
    }
    rc |= rl_buf_puts(b, "]}}");
    return rc ? RL_ENOMEM : RL_OK;
}

/* ---- the route ---- */

enum MHD_Result rl_route_rrs(rl_req *r, rl_served *sv)
{
    enum MHD_Result reply;
    /* A call counted at its headers had its key checked for sv then. */
    if (r->call_sv != sv && rl_auth_endpoint(r, sv, &reply)) return reply;
    if (sv->kind != RL_SERVICE_PREDICTIVE)
        return rl_reply_error(r, 400, "NotAPredictiveService",
                              "this is a training web service: it answers batch jobs only "
                              "(POST .../jobs)");
    const char *fmt = rl_query(r, "format");
    int swagger = fmt && !strcasecmp(fmt, "swagger");
    const char *det = rl_query(r, "details");
    int details = det && !strcasecmp(det, "true");
    if (fmt && !swagger)
        return rl_reply_error(r, 400, "BadFormat", "format takes \"swagger\" (rows as objects); "
                              "leave it out for ColumnNames and Values");
    if (det && !details && strcasecmp(det, "false") != 0)
        return rl_reply_error(r, 400, "BadDetails", "details takes \"true\" or \"false\"");

    if (r->over_limit) /* counted when it arrived (server.c, count_call) */
        return rl_reply_error(r, 503, "RequestThrottled",
                              "endpoint '%s' is serving its maximum of %d concurrent calls; "
                              "retry after a moment",
                              sv->endpoint, sv->max_concurrent);
    rl_error err;
    rl_error_clear(&err);
    rl_model *m = NULL;
    rl_run_result *res = NULL;
    rl_binding bind[16];
    rl_table *tables[16] = {0};
    size_t nbind = 0;
    rl_buf out = RL_BUF_INIT;
    json_t *body = rl_body_json(r, &reply);
    if (!body) goto done_reply;
    if (rl_served_model(r->srv, sv, &m, &err)) {
        reply = rl_reply_error(r, 500, "ModelUnavailable", "the endpoint's model could not be "
                               "loaded: %s", err.msg);
        goto done_reply;
    }
    pthread_mutex_lock(&sv->lock);
    const rl_experiment *e = sv->experiment; /* immutable while sv lives */
    pthread_mutex_unlock(&sv->lock);
    json_t *inputs = json_object_get(body, "Inputs");
    json_t *params = json_object_get(body, "GlobalParameters");
    if (params && !json_is_null(params) &&
        (!json_is_object(params) || json_object_size(params) > 0)) {
        /* relearn's experiments declare no web service parameters (as BES). */
        reply = rl_reply_error(r, 400, "InvalidGlobalParameters", "\"GlobalParameters\" must be "
                               "an empty object: this web service has no parameters");
        goto done_reply;
    }
    if (!json_is_object(inputs)) {
        reply = rl_reply_error(r, 400, "MissingInputs", "the body needs \"Inputs\": {\"%s\": "
                               "...}", rl_experiment_ninputs(e) ? rl_experiment_input(e, 0)
                                                                : "input1");
        goto done_reply;
    }
    /* Swagger rows may leave columns out: bound the table they make, not
     * only the body (half a cell per byte of --max-body). */
    rl_rrs_limits lim = {r->srv->cfg.max_rows, r->srv->cfg.max_columns, r->srv->cfg.max_body / 2};
    for (size_t i = 0; i < rl_experiment_ninputs(e) && nbind < 15; i++) {
        const char *name = rl_experiment_input(e, i);
        json_t *in = json_object_get(inputs, name);
        if (!in) {
            reply = rl_reply_error(r, 400, "MissingInput", "\"Inputs\" lacks \"%s\", the web "
                                   "service's input", name);
            goto done_reply;
        }
        if (rl_rrs_parse_input(in, m, name, &lim, &tables[nbind], &err)) goto fail;
        bind[nbind].name = name;
        bind[nbind].table = tables[nbind];
        bind[nbind].model = NULL;
        nbind++;
    }
    const char *key;
    json_t *v;
    json_object_foreach(inputs, key, v)
    {
        size_t k = 0;
        while (k < nbind && strcmp(bind[k].name, key)) k++;
        if (k == nbind) {
            reply = rl_reply_error(r, 400, "UnknownInput", "\"Inputs\" has \"%s\", which is not "
                                   "an input of this web service", key);
            goto done_reply;
        }
    }
    for (size_t i = 0; i < rl_experiment_nresources(e) && nbind < 16; i++) {
        bind[nbind].name = rl_experiment_resource(e, i);
        bind[nbind].table = NULL;
        bind[nbind].model = m;
        nbind++;
    }
    rl_run_opts ro = {bind, nbind, NULL, NULL, NULL};
    if (rl_experiment_run(e, &ro, &res, &err)) goto fail;
    int rc = rl_buf_puts(&out, swagger ? "{\"Results\":{" : "{\"Results\":{");
    for (size_t i = 0; i < res->noutputs && !rc; i++) {
        const rl_output *o = &res->outputs[i];
        if (i) rc |= rl_buf_putc(&out, ',');
        rc |= put_json_string(&out, o->name, strlen(o->name));
        rc |= rl_buf_putc(&out, ':');
        if (o->kind == RL_VALUE_TABLE) {
            rc |= put_table(&out, o->table, swagger, details);
        } else if (o->kind == RL_VALUE_EVALUATION) {
            char *ev = json_dumps(o->evaluation, JSON_COMPACT | JSON_REAL_PRECISION(17));
            rc |= ev ? rl_buf_puts(&out, ev) : RL_ENOMEM;
            free(ev);
        } else {
            rc |= rl_buf_puts(&out, "null");
        }
    }
    rc |= rl_buf_puts(&out, "}}");
    if (rc) {
        rl_error_set(&err, RL_ENOMEM, "out of memory writing the answer");
        goto fail;
    }
    size_t len;
    char *text = rl_buf_take(&out, &len);
    reply = rl_reply_text(r, 200, "application/json; charset=utf-8", text, len);
    goto done_reply;
fail:
    reply = rl_reply_rl_error(r, &err, NULL);
done_reply:
    for (size_t i = 0; i < 16; i++) rl_table_free(tables[i]);
    rl_run_result_free(res);
    rl_model_unref(m);
    rl_buf_fini(&out);
    json_decref(body);
    return reply;
}

/* ---- help and swagger ---- */

static json_t *example_row(const rl_model *m)
{
    json_t *row = json_object();
    for (size_t i = 0; m && i < rl_model_ninputs(m); i++) {
        rl_type t = rl_model_input_type(m, i);
        json_object_set_new(row, rl_model_input_name(m, i),
                            t == RL_TYPE_NUMERIC ? json_integer(0)
                            : t == RL_TYPE_BOOLEAN ? json_false()
                                                   : json_string("value"));
    }
    return row;
}

enum MHD_Result rl_route_help(rl_req *r, rl_served *sv, int swagger)
{
    enum MHD_Result reply;
    if (rl_auth_endpoint(r, sv, &reply)) return reply;
    if (strcmp(r->method, "GET") != 0)
        return rl_reply_error(r, 405, "MethodNotAllowed", "the help takes GET");
    rl_model *m = NULL;
    rl_error err;
    if (rl_served_model(r->srv, sv, &m, &err)) m = NULL; /* the help works without it */
    const rl_experiment *e = sv->experiment;
    char api[1024];
    snprintf(api, sizeof api, "%s/workspaces/%s/services/%s", r->srv->public_url,
             sv->workspace_id, sv->api_id);
    json_t *inputs = json_array(), *cols = json_array();
    for (size_t i = 0; m && i < rl_model_ninputs(m); i++)
        json_array_append_new(cols, json_pack("{s:s, s:s}", "Name", rl_model_input_name(m, i),
                                              "Type", studio_type(rl_model_input_type(m, i))));
    for (size_t i = 0; i < rl_experiment_ninputs(e); i++)
        json_array_append_new(inputs, json_pack("{s:s, s:O}", "Name", rl_experiment_input(e, i),
                                                "Columns", cols));
    json_t *outputs = json_array();
    for (size_t i = 0; i < rl_experiment_noutputs(e); i++)
        json_array_append_new(outputs, json_string(rl_experiment_output(e, i)));
    json_t *ex_row = example_row(m);
    const char *in0 = rl_experiment_ninputs(e) ? rl_experiment_input(e, 0) : "input1";
    json_t *doc;
    if (!swagger) {
        json_t *names = json_array(), *vals = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(ex_row, k, v)
        {
            json_array_append_new(names, json_string(k));
            json_array_append(vals, v);
        }
        doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:{s:{s:{s:o, s:[o]}}, s:{}}}", "Name",
                        rl_experiment_name(e), "Kind", sv->kind == RL_SERVICE_PREDICTIVE
                                                           ? "predictive"
                                                           : "training",
                        "RequestResponse", sv->kind == RL_SERVICE_PREDICTIVE
                                               ? "POST " : "not available (training service)",
                        "Batch", "POST jobs?api-version=2.0", "Inputs", inputs, "Outputs",
                        outputs, "ExampleRequest", "Inputs", in0, "ColumnNames", names, "Values",
                        vals, "GlobalParameters");
        char url[1200];
        snprintf(url, sizeof url, "POST %s/execute?api-version=2.0", api);
        if (sv->kind == RL_SERVICE_PREDICTIVE)
            json_object_set_new(doc, "RequestResponse", json_string(url));
        snprintf(url, sizeof url, "POST %s/jobs?api-version=2.0", api);
        json_object_set_new(doc, "Batch", json_string(url));
        json_decref(ex_row);
        json_decref(cols);
    } else {
        json_t *props = json_object();
        for (size_t i = 0; m && i < rl_model_ninputs(m); i++) {
            rl_type t = rl_model_input_type(m, i);
            json_object_set_new(props, rl_model_input_name(m, i),
                                json_pack("{s:s}", "type", t == RL_TYPE_NUMERIC ? "number"
                                                           : t == RL_TYPE_BOOLEAN ? "boolean"
                                                                                  : "string"));
        }
        char host[600];
        const char *h = strstr(r->srv->public_url, "://");
        snprintf(host, sizeof host, "%s", h ? h + 3 : r->srv->public_url);
        char base[800];
        snprintf(base, sizeof base, "/workspaces/%s/services/%s", sv->workspace_id, sv->api_id);
        char path[900];
        snprintf(path, sizeof path, "%s/execute", base);
        doc = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:[s], s:{s:{s:{s:s, s:[s], s:[s], "
                        "s:[{s:s, s:s, s:b, s:{s:s, s:{s:{s:s, s:o}}}}], s:{s:{s:s}}}}}}",
                        "swagger", "2.0", "info", "title", rl_experiment_name(e), "version",
                        "2.0", "host", host, "basePath", "/", "schemes", "http", "paths", path,
                        "post", "summary", "Score rows (request-response)", "consumes",
                        "application/json", "produces", "application/json", "parameters", "in",
                        "body", "name", "body", "required", 1, "schema", "type", "object",
                        "properties", "Inputs", "type", "object", "example", ex_row, "responses",
                        "200", "description", "the scored rows");
        json_decref(props);
        json_decref(inputs);
        json_decref(outputs);
        json_decref(cols);
    }
    rl_model_unref(m);
    return rl_reply_json(r, 200, doc);
}
