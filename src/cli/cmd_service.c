/* cmd_service.c - the commands that talk to relearnd: publish, service
 * (including definition export and import), endpoint, key, blob and job
 * (docs/cli.md, the API in docs/api.md).
 *
 * Each command parses its options, opens an rl_client (client.h) with the
 * right credential -- the workspace token for management and /storage, an
 * endpoint key for batch jobs -- makes its calls and prints either
 * relearnd's JSON answer (--json) or a short human-readable form. Errors
 * leave through rl_cli_fail, so the HTTP status decides the exit code.
 *
 * Credentials and places come from options, else the environment:
 * --url / RELEARN_URL, --token / RELEARN_TOKEN, --key / RELEARN_KEY,
 * --workspace / RELEARN_WORKSPACE ("default").
 */
#include "base/crypto.h"
#include "base/fs.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/util.h"
#include "experiment/experiment.h"
#include "learners/learner.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MULTI 256
/* Management calls answer quickly; publish and transfers may take long. */
#define CALL_TIMEOUT_S 120

#define TOKEN_HINT                                                                                 \
    "the workspace token, from --token or RELEARN_TOKEN (relearnd writes the default "             \
    "workspace's token to DATA_DIR/admin-token)"
#define KEY_HINT                                                                                   \
    "the endpoint key, from --key or RELEARN_KEY (`relearn service show ID` shows the keys)"

#define COMMON_HELP                                                                                \
    "  --url URL            relearnd's base URL (default $RELEARN_URL, else\n"                     \
    "                       " RL_CLIENT_DEFAULT_URL ")\n"                                          \
    "  --token TOKEN        the workspace token (default $RELEARN_TOKEN)\n"                        \
    "  --workspace WS       the workspace (default $RELEARN_WORKSPACE, else default)\n"            \
    "  --json               print relearnd's JSON answer instead of a summary\n"

enum {
    OPT_URL = 1000,
    OPT_TOKEN,
    OPT_WORKSPACE,
    OPT_JSON,
    OPT_KEY,
    OPT_SERVICE,
};

#define COMMON_OPTS                                                                                \
    {"url", required_argument, 0, OPT_URL}, {"token", required_argument, 0, OPT_TOKEN},            \
        {"workspace", required_argument, 0, OPT_WORKSPACE}, {"json", no_argument, 0, OPT_JSON},    \
    {                                                                                              \
        "help", no_argument, 0, 'h'                                                                \
    }

/* The options every service command takes. */
typedef struct svc_opts {
    const char *url, *token, *workspace, *key;
    int json;
} svc_opts;

static const char *env_or(const char *given, const char *name, const char *def)
{
    if (given && *given) return given;
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Consumes a common option; returns 1 when c was one. */
static int common_opt(svc_opts *o, int c)
{
    switch (c) {
    case OPT_URL:
        o->url = optarg;
        return 1;
    case OPT_TOKEN:
        o->token = optarg;
        return 1;
    case OPT_WORKSPACE:
        o->workspace = optarg;
        return 1;
    case OPT_KEY:
        o->key = optarg;
        return 1;
    case OPT_JSON:
        o->json = 1;
        return 1;
    default:
        return 0;
    }
}

static void opts_finish(svc_opts *o)
{
    o->url = env_or(o->url, "RELEARN_URL", NULL);
    o->token = env_or(o->token, "RELEARN_TOKEN", NULL);
    o->workspace = env_or(o->workspace, "RELEARN_WORKSPACE", "default");
    o->key = env_or(o->key, "RELEARN_KEY", NULL);
}

/* A client of base (NULL: o->url) with the workspace token. */
static int token_client(const svc_opts *o, const char *base, long timeout, rl_client **out,
                        rl_error *err)
{
    if (!o->token)
        return rl_error_set(err, RL_EAUTH,
                            "no workspace token: pass --token TOKEN or set "
                            "RELEARN_TOKEN (relearnd writes the default workspace's token to "
                            "DATA_DIR/admin-token)");
    rl_client_opts co = {base ? base : o->url, o->token, TOKEN_HINT, timeout, 0};
    return rl_client_new(&co, out, err);
}

/* Builds a request target from fmt, where "%s" inserts text as is, "%e" one
 * path segment percent-encoded (slashes too), "%p" a container/path encoded
 * segment by segment. *out belongs to the caller (rl_free). */
static int vtarget(char **out, rl_error *err, const char *fmt, va_list ap)
{
    rl_buf b = RL_BUF_INIT;
    int rc = rl_buf_append(&b, "", 0);
    for (const char *f = fmt; *f && !rc; f++) {
        if (*f != '%') {
            rc = rl_buf_putc(&b, *f);
            continue;
        }
        f++;
        const char *arg = va_arg(ap, const char *);
        char *e = NULL;
        if (*f == 's') {
            rc = rl_buf_puts(&b, arg);
        } else {
            rc = *f == 'e' ? rl_client_escape(arg, &e, err) : rl_client_escape_path(arg, &e, err);
            if (!rc) rc = rl_buf_puts(&b, e);
            rl_free(e);
        }
    }
    if (rc) {
        rl_buf_fini(&b);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    *out = rl_buf_take(&b, NULL);
    return RL_OK;
}

static int target(char **out, rl_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vtarget(out, err, fmt, ap);
    va_end(ap);
    return rc;
}

/* One management call with the workspace token: method on the target made
 * from fmt (as target() makes it) with body (borrowed, may be NULL). *ans
 * (ans may be NULL) receives relearnd's answer, owned by the caller. With
 * object set, an answer other than a JSON object is an error. */
static int vtoken_call(const svc_opts *o, const char *method, const json_t *body, json_t **ans,
                       int object, rl_error *err, const char *fmt, va_list ap)
{
    rl_client *cl = NULL;
    char *t = NULL;
    json_t *a = NULL;
    int rc = token_client(o, NULL, CALL_TIMEOUT_S, &cl, err);
    if (!rc) rc = vtarget(&t, err, fmt, ap);
    if (!rc) rc = rl_client_json(cl, method, t, body, ans ? &a : NULL, NULL, err);
    if (!rc && object && !json_is_object(a))
        rc = rl_error_set(err, RL_EPARSE,
                          "relearnd answered %s %s with something other than "
                          "a JSON object",
                          method, t);
    if (!rc && ans) {
        *ans = a;
        a = NULL;
    }
    json_decref(a);
    rl_free(t);
    rl_client_free(cl);
    return rc;
}

static int token_call(const svc_opts *o, const char *method, const json_t *body, json_t **ans,
                      rl_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vtoken_call(o, method, body, ans, 0, err, fmt, ap);
    va_end(ap);
    return rc;
}

/* GET with the workspace token whose answer must be a JSON object. */
static int token_get_object(const svc_opts *o, json_t **ans, rl_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vtoken_call(o, "GET", NULL, ans, 1, err, fmt, ap);
    va_end(ap);
    return rc;
}

/* Prints j (borrowed) as the command's --json output. A bare string (a job
 * id) is printed as a JSON string too. */
static void print_json_borrowed(const json_t *j)
{
    if (!j) {
        printf("null\n");
        return;
    }
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
    fputc('\n', stdout);
}

/* The same for a value made for the output (json_pack...), which it
 * releases. */
static void print_json_take(json_t *j)
{
    print_json_borrowed(j);
    json_decref(j);
}

/* The next option of subcommand cmd (argv[0] is its name) that is its own
 * (set optind to 0 before the first call). Consumes the common options,
 * prints help for --help (*done = 0) and a usage error for an unknown option
 * (*done = 2). Returns the option, or -1 when there is none left or the
 * command ends here (then *done >= 0; it is left alone otherwise). */
static int next_opt(const char *cmd, const char *help, int argc, char **argv,
                    const struct option *opts, svc_opts *o, int *done)
{
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (common_opt(o, c)) continue;
        if (c == 'h') {
            fputs(help, stdout);
            *done = 0;
            return -1;
        }
        if (c == '?' || c == ':') {
            *done = rl_cli_usage(cmd, "unknown option");
            return -1;
        }
        return c;
    }
    return -1;
}

/* Checks that n positional arguments follow the options (else prints the
 * usage error msg) and completes o from the environment. Returns -1 to go
 * on, else the exit code. */
static int args_done(const char *cmd, int argc, int n, const char *msg, svc_opts *o)
{
    if (argc - optind != n) return rl_cli_usage(cmd, "%s", msg);
    opts_finish(o);
    return -1;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Checks and normalises "container/path" in place (a leading '/' is
 * dropped). Returns 0, or a usage error's exit code. */
static int blob_path_arg(const char *cmd, char **p)
{
    while (**p == '/')
        (*p)++;
    const char *slash = strchr(*p, '/');
    if (!slash || slash == *p || !slash[1])
        return rl_cli_usage(cmd,
                            "expected a blob as CONTAINER/PATH (like data/census.csv), got "
                            "'%s'",
                            *p);
    return 0;
}

/* A JSON value for --param text: a number, true/false, or a string. */
static json_t *param_value(const char *v)
{
    double d;
    if (!strcmp(v, "true")) return json_true();
    if (!strcmp(v, "false")) return json_false();
    if (!rl_cli_parse_double(v, &d)) {
        if (d == floor(d) && fabs(d) < 9e15) return json_integer((json_int_t)d);
        return json_real(d);
    }
    return json_string(v);
}

/* Prints the numbers of an evaluation on one line each. */
static void print_evaluation(const json_t *ev, const char *indent)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ev, k, v)
    {
        if (json_is_number(v))
            printf("%s%-32s %.6g\n", indent, k, json_number_value(v));
        else if (json_is_string(v))
            printf("%s%-32s %s\n", indent, k, json_string_value(v));
    }
}

/* ---- publish ---- */

static const char PUBLISH_HELP[] =
    "usage: relearn publish --name NAME DATA --label COL [--learner NAME]\n"
    "                       [--param KEY=VALUE]... [--description TEXT] [OPTIONS]\n"
    "       relearn publish --name NAME DATA --experiment EXPERIMENT.json [OPTIONS]\n\n"
    "Publishes a model as a web service: uploads DATA to relearnd's blob store\n"
    "(data/NAME-RANDOM.EXT), then creates the training web service and the\n"
    "predictive web service, trains the first model on DATA and binds it to the\n"
    "predictive service's default endpoint. Prints the services' ids, API\n"
    "locations, keys and the evaluation of the first model.\n\n"
    "Without --experiment the standard training experiment is used (Clean\n"
    "Missing Data, Normalize Data for linear learners, a stratified 75/25 Split\n"
    "Data, Train Model, Score Model, Evaluate Model); with it, the given training\n"
    "experiment (docs/experiments.md), checked here before anything is sent.\n\n"
    "  DATA                 CSV, TSV or ARFF file (by extension)\n"
    "  --name NAME          the predictive service's name (required)\n"
    "  --label COL          the column to predict (required without --experiment)\n"
    "  --learner NAME       a learner (`relearn modules`); default: relearnd's choice\n"
    "                       by the label\n"
    "  --param KEY=VALUE    a learner parameter (repeatable)\n"
    "  --description TEXT   the services' description\n"
    "  --experiment FILE    a training experiment (JSON) instead of the standard one\n" COMMON_HELP;

static int check_data_ext(const char *cmd, const char *path)
{
    const char *ext = rl_path_ext(path);
    if (strcasecmp(ext, "csv") && strcasecmp(ext, "tsv") && strcasecmp(ext, "arff"))
        return rl_cli_usage(cmd, "%s must be a .csv, .tsv or .arff file", path);
    return 0;
}

/* "data/<slug of name>-<16 hex>.<ext>": a fresh blob for DATA. */
static int data_blob_path(const char *name, const char *data, char **out, rl_error *err)
{
    char hex[17];
    int rc = rl_random_hex(8, hex, sizeof hex, err);
    if (rc) return rc;
    char slug[41];
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof slug - 1; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch))
            slug[n++] = (char)tolower(ch);
        else if (n && slug[n - 1] != '-')
            slug[n++] = '-';
    }
    while (n && slug[n - 1] == '-')
        n--;
    slug[n] = '\0';
    char ext[16];
    snprintf(ext, sizeof ext, "%s", rl_path_ext(data));
    for (char *e = ext; *e; e++)
        *e = (char)tolower((unsigned char)*e);
    return target(out, err, "data/%s-%s.%s", n ? slug : "dataset", hex, ext);
}

static void print_service_summary(const char *role, const json_t *s)
{
    if (!json_is_object(s)) return;
    printf("%s %s  %s\n", role, jstr(s, "Id"), jstr(s, "Name"));
    printf("  ApiLocation   %s\n", jstr(s, "ApiLocation"));
    if (*jstr(s, "HelpLocation")) printf("  HelpLocation  %s\n", jstr(s, "HelpLocation"));
    printf("  PrimaryKey    %s\n", jstr(s, "PrimaryKey"));
    printf("  SecondaryKey  %s\n", jstr(s, "SecondaryKey"));
}

int rl_cmd_publish(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"label", required_argument, 0, 'l'},
                                         {"learner", required_argument, 0, 'L'},
                                         {"param", required_argument, 0, 'p'},
                                         {"description", required_argument, 0, 'd'},
                                         {"experiment", required_argument, 0, 'x'},
                                         COMMON_OPTS,
                                         {0, 0, 0, 0}};
    svc_opts o = {0};
    const char *name = NULL, *label = NULL, *learner = NULL, *desc = NULL, *exp_path = NULL;
    char *pname[MAX_MULTI], *pval[MAX_MULTI];
    size_t np = 0;
    int c, r = -1;
    optind = 0;
    while ((c = next_opt("publish", PUBLISH_HELP, argc, argv, opts, &o, &r)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 'L':
            learner = optarg;
            break;
        case 'p':
            if (np == MAX_MULTI) return rl_cli_usage("publish", "too many --param options");
            if (rl_cli_split_binding("publish", "VALUE", optarg, &pname[np], &pval[np])) return 2;
            np++;
            break;
        case 'd':
            desc = optarg;
            break;
        case 'x':
            exp_path = optarg;
            break;
        }
    }
    if (r >= 0) return r;
    if (argc - optind != 1)
        return rl_cli_usage("publish", optind >= argc ? "DATA is required"
                                                      : "exactly one DATA file is expected");
    if (!name || !*name) return rl_cli_usage("publish", "--name is required");
    if (!label && !exp_path)
        return rl_cli_usage("publish", "--label (or --experiment) is required");
    const char *data = argv[optind];
    if (check_data_ext("publish", data)) return 2;
    opts_finish(&o);

    rl_error err;
    rl_error_clear(&err);
    const rl_learner_kind *kind = NULL;
    rl_client *cl = NULL;
    json_t *body = NULL, *params = NULL, *exp = NULL, *ans = NULL;
    char *blob = NULL, *t_blob = NULL, *t_ws = NULL;
    int rc = RL_OK, uploaded = 0;

    if (learner && !(kind = rl_learner_find(learner))) {
        rc = rl_error_set(&err, RL_EINVAL, "unknown learner '%s'; `relearn modules` lists them",
                          learner);
        goto done;
    }
    if (!(params = json_object())) goto oom;
    rl_params lp;
    if (kind) rl_params_default(kind, &lp);
    for (size_t i = 0; i < np; i++) {
        if (kind && (rc = rl_params_set(kind, &lp, pname[i], pval[i], &err))) goto done;
        if (json_object_set_new(params, pname[i], param_value(pval[i]))) goto oom;
    }
    if (exp_path) {
        json_error_t je;
        exp = json_load_file(exp_path, 0, &je);
        if (!exp) {
            rc = rl_error_set(&err,
                              json_error_code(&je) == json_error_cannot_open_file ? RL_ENOTFOUND
                                                                                  : RL_EPARSE,
                              "%s:%d:%d: %s", exp_path, je.line, je.column, je.text);
            goto done;
        }
        rl_experiment_opts eo = {exp_path, NULL, 0};
        rl_experiment *e = NULL;
        if ((rc = rl_experiment_parse_json(exp, &eo, &e, &err))) goto done;
        rl_experiment_free(e);
    }
    if ((rc = token_client(&o, NULL, 0, &cl, &err))) goto done;
    if ((rc = data_blob_path(name, data, &blob, &err))) goto done;
    if ((rc = target(&t_blob, &err, "/storage/%p", blob))) goto done;
    if ((rc = rl_client_upload(cl, "PUT", t_blob, data, NULL, &err))) {
        rl_error_wrap(&err, "uploading %s to %s", data, blob);
        goto done;
    }
    uploaded = 1;
    body = json_pack("{s:s, s:{s:s}}", "Name", name, "TrainingData", "RelativeLocation", blob);
    if (!body) goto oom;
    if (desc && json_object_set_new(body, "Description", json_string(desc))) goto oom;
    if (label && json_object_set_new(body, "Label", json_string(label))) goto oom;
    if (kind && json_object_set_new(body, "Learner", json_string(kind->name))) goto oom;
    if (json_object_size(params) && json_object_set(body, "Parameters", params)) goto oom;
    if (exp && json_object_set(body, "Experiment", exp)) goto oom;
    if ((rc = target(&t_ws, &err, "/workspaces/%e/webservices", o.workspace))) goto done;
    if ((rc = rl_client_json(cl, "POST", t_ws, body, &ans, NULL, &err))) goto done;
    uploaded = 0; /* the services use it now */

    if (o.json) {
        print_json_borrowed(ans);
    } else {
        printf("published '%s' in workspace %s (training data %s)\n\n", name, o.workspace, blob);
        print_service_summary("predictive service", json_object_get(ans, "PredictiveService"));
        printf("\n");
        print_service_summary("training service", json_object_get(ans, "TrainingService"));
        const json_t *ev = json_object_get(ans, "Evaluation");
        if (json_is_object(ev) && json_object_size(ev)) {
            printf("\nevaluation of the first model:\n");
            print_evaluation(ev, "  ");
        }
    }
    goto done;
oom:
    rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
done:
    if (uploaded) /* best effort: do not leave the upload of a failed publish behind */
        rl_client_json(cl, "DELETE", t_blob, NULL, NULL, NULL, NULL);
    rl_client_free(cl);
    json_decref(body);
    json_decref(params);
    json_decref(exp);
    json_decref(ans);
    rl_free(blob);
    rl_free(t_blob);
    rl_free(t_ws);
    return rc ? rl_cli_fail("publish", &err) : 0;
}

/* ---- service ---- */

static const char SERVICE_HELP[] =
    "usage: relearn service list [OPTIONS]\n"
    "       relearn service show ID [OPTIONS]\n"
    "       relearn service export ID [--out FILE.json] [OPTIONS]\n"
    "       relearn service import ID FILE.json [OPTIONS]\n"
    "       relearn service update ID FILE.json [OPTIONS]\n\n"
    "Lists the web services of a workspace, or shows one with its endpoints\n"
    "(API locations, keys, bound model); exports a predictive service's\n"
    "definition as JSON and puts an edited one back (import and update are the\n"
    "same call). Run `relearn service SUBCOMMAND --help`.\n";
static const char SERVICE_LIST_HELP[] =
    "usage: relearn service list [OPTIONS]\n\n"
    "Lists the workspace's web services: id, kind (training or predictive), name,\n"
    "creation time.\n\n" COMMON_HELP;
static const char SERVICE_SHOW_HELP[] =
    "usage: relearn service show ID [OPTIONS]\n\n"
    "Shows a web service and its endpoints. With --json, relearnd's answer for\n"
    "the service with its endpoints added as \"Endpoints\".\n\n" COMMON_HELP;

/* Parses the common options of a subcommand (argv[0] is its name), and
 * nothing else. Returns -1 to go on, else an exit code. */
static int parse_common(const char *cmd, const char *help, int argc, char **argv, svc_opts *o)
{
    static const struct option opts[] = {COMMON_OPTS, {0, 0, 0, 0}};
    int r = -1;
    optind = 0;
    while (next_opt(cmd, help, argc, argv, opts, o, &r) != -1)
        continue; /* opts has none of its own */
    return r;
}

/* The same with npos positional arguments expected, and o completed from
 * the environment. */
static int parse_simple(const char *cmd, const char *help, int argc, char **argv, svc_opts *o,
                        int npos)
{
    int r = parse_common(cmd, help, argc, argv, o);
    if (r >= 0) return r;
    if (argc - optind != npos && npos == 0) return rl_cli_usage(cmd, "expected no argument");
    if (argc - optind != npos)
        return rl_cli_usage(cmd, "expected %d argument%s", npos, npos == 1 ? "" : "s");
    opts_finish(o);
    return -1;
}

/* Prints relearnd's answer to a GET for a person; args are the command's
 * positional arguments. */
typedef void show_fn(const svc_opts *o, char **args, const json_t *ans);

/* Runs a subcommand that takes npos (at most 2) positional arguments, GETs
 * the target made from fmt with the workspace and them (as target() makes
 * it) and prints the answer: as it is with --json, else through show. */
static int get_and_show(const char *cmd, const char *help, int argc, char **argv, int npos,
                        const char *fmt, show_fn *show)
{
    svc_opts o = {0};
    int r = parse_simple(cmd, help, argc, argv, &o, npos);
    if (r >= 0) return r;
    char **args = argv + optind;
    rl_error err;
    rl_error_clear(&err);
    json_t *ans = NULL;
    int rc = token_call(&o, "GET", NULL, &ans, &err, fmt, o.workspace, npos > 0 ? args[0] : NULL,
                        npos > 1 ? args[1] : NULL);
    if (!rc && o.json) print_json_borrowed(ans);
    if (!rc && !o.json) show(&o, args, ans);
    json_decref(ans);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

static void print_service_line(const json_t *s)
{
    printf("%-34s %-10s %-24s %s\n", jstr(s, "Id"), jstr(s, "Kind"), jstr(s, "CreationTime"),
           jstr(s, "Name"));
}

static void show_services(const svc_opts *o, char **args, const json_t *ans)
{
    (void)args;
    if (!json_array_size(ans)) {
        printf("no web services in workspace %s; publish one with `relearn publish`\n",
               o->workspace);
        return;
    }
    printf("%-34s %-10s %-24s %s\n", "ID", "KIND", "CREATED", "NAME");
    size_t i;
    json_t *s;
    json_array_foreach(ans, i, s) print_service_line(s);
}

static int service_list(int argc, char **argv)
{
    return get_and_show("service list", SERVICE_LIST_HELP, argc, argv, 0,
                        "/workspaces/%e/webservices", show_services);
}

static void print_endpoint(const json_t *e)
{
    printf("\nendpoint %s\n", jstr(e, "Name"));
    printf("  ApiLocation   %s\n", jstr(e, "ApiLocation"));
    printf("  HelpLocation  %s\n", jstr(e, "HelpLocation"));
    printf("  PrimaryKey    %s\n", jstr(e, "PrimaryKey"));
    printf("  SecondaryKey  %s\n", jstr(e, "SecondaryKey"));
    const json_t *v = json_object_get(e, "Version");
    if (json_is_integer(v)) printf("  Version       %lld\n", (long long)json_integer_value(v));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(e, "Resources"), i, r)
    {
        const json_t *loc = json_object_get(r, "Location");
        printf("  resource      %s (%s): %s\n", jstr(r, "Name"), jstr(r, "Kind"),
               jstr(loc, "RelativeLocation"));
    }
}

static int service_show(int argc, char **argv)
{
    svc_opts o = {0};
    int r = parse_simple("service show", SERVICE_SHOW_HELP, argc, argv, &o, 1);
    if (r >= 0) return r;
    const char *id = argv[optind];
    rl_error err;
    rl_error_clear(&err);
    json_t *svc = NULL, *eps = NULL;
    int rc = token_get_object(&o, &svc, &err, "/workspaces/%e/webservices/%e", o.workspace, id);
    if (!rc)
        rc = token_call(&o, "GET", NULL, &eps, &err, "/workspaces/%e/webservices/%e/endpoints",
                        o.workspace, id);
    if (!rc) {
        if (json_object_set(svc, "Endpoints", eps ? eps : json_null()))
            rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
    }
    if (!rc && o.json) print_json_borrowed(svc);
    if (!rc && !o.json) {
        printf("%s  %s  %s\n", jstr(svc, "Id"), jstr(svc, "Kind"), jstr(svc, "Name"));
        if (*jstr(svc, "Description")) printf("  Description   %s\n", jstr(svc, "Description"));
        printf("  Created       %s\n", jstr(svc, "CreationTime"));
        const json_t *p = json_object_get(svc, "Partner");
        if (json_is_object(p))
            printf("  Partner       %s  %s  %s\n", jstr(p, "Id"), jstr(p, "Kind"), jstr(p, "Name"));
        else if (json_is_string(p))
            printf("  Partner       %s\n", json_string_value(p));
        size_t i;
        json_t *e;
        json_array_foreach(eps, i, e) print_endpoint(e);
    }
    json_decref(svc);
    json_decref(eps);
    return rc ? rl_cli_fail("service show", &err) : 0;
}

/* Runs subcommand argv[1] of group from subs; argv[0] is the group's name. */
typedef struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
} subcommand;

static int dispatch(const char *group, const char *help, const subcommand *subs, size_t n, int argc,
                    char **argv)
{
    if (argc < 2) {
        fputs(help, stderr);
        return 2;
    }
    if (rl_cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        fputs(help, stdout);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], subs[i].name)) return subs[i].fn(argc - 1, argv + 1);
    rl_buf names = RL_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        rl_buf_printf(&names, "%s%s", i ? ", " : "", subs[i].name);
    int rc = rl_cli_usage(group, "unknown subcommand '%s' (use %s)", argv[1],
                          names.data ? names.data : "");
    rl_buf_fini(&names);
    return rc;
}

/* ---- service export, import, update: new-style definitions ---- */

static const char SERVICE_EXPORT_HELP[] =
    "usage: relearn service export ID [--out FILE.json] [OPTIONS]\n\n"
    "Exports the definition of predictive service ID as JSON, in the shape of\n"
    "Azure ML's new web services (GET .../webservices/ID/definition): title,\n"
    "description, realtime configuration, diagnostics, input and output\n"
    "schema, example request, assets (the trained model is the Resource asset\n"
    "whose locationInfo.uri points at its .ilearner) and the graph. Keys are\n"
    "never exported. Edit it and put it back with `relearn service import`.\n\n"
    "  --out FILE.json      write it there (replaced atomically) instead of to\n"
    "                       standard output\n" COMMON_HELP;
static const char SERVICE_IMPORT_HELP[] =
    "usage: relearn service import ID FILE.json [OPTIONS]\n"
    "       relearn service update ID FILE.json [OPTIONS]\n\n"
    "Puts an edited definition (as `relearn service export` wrote it) back into\n"
    "predictive service ID (PUT .../webservices/ID/definition). Studio's steps\n"
    "\"import\" (read the JSON) and \"update\" (apply it) are one call here: both\n"
    "names do exactly the same. A changed trained-model uri is fetched, verified\n"
    "and loaded before the default endpoint switches to it; an invalid\n"
    "definition is refused whole with every problem listed, and nothing\n"
    "changes. Prints the title and the trained model now in service (--json:\n"
    "the definition relearnd answers).\n\n"
    "  FILE.json            the definition (JSON object with \"properties\")\n" COMMON_HELP;

/* The trained model's uri in a definition, or "". */
static const char *definition_model_uri(const json_t *def)
{
    const char *k;
    json_t *a;
    json_object_foreach(json_object_get(json_object_get(def, "properties"), "assets"), k, a)
    {
        if (!strcmp(jstr(a, "type"), "Resource"))
            return jstr(json_object_get(a, "locationInfo"), "uri");
    }
    return "";
}

static int service_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "service export", *out = NULL;
    svc_opts o = {0};
    int c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, SERVICE_EXPORT_HELP, argc, argv, opts, &o, &r)) != -1)
        if (c == 'o') out = optarg;
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 1, "the service ID is required", &o)) >= 0) return r;
    const char *id = argv[optind];
    rl_error err;
    rl_error_clear(&err);
    char *text = NULL;
    json_t *def = NULL;
    int rc = token_get_object(&o, &def, &err, "/workspaces/%e/webservices/%e/definition",
                              o.workspace, id);
    if (!rc && out) {
        text = json_dumps(def, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        if (!text) rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
        size_t n = text ? strlen(text) : 0;
        if (!rc) text[n] = '\n'; /* json_dumps leaves room for its NUL */
        if (!rc) rc = rl_file_write_atomic(out, text, n + 1, 0, &err);
        if (!rc && !o.json)
            printf("exported the definition of service %s (%s) to %s\n  trained model %s\n", id,
                   jstr(json_object_get(def, "properties"), "title"), out,
                   definition_model_uri(def));
    }
    if (!rc && (!out || o.json)) print_json_borrowed(def);
    free(text);
    json_decref(def);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

/* import and update: the same PUT. */
static int service_put_definition(int argc, char **argv, const char *cmd)
{
    svc_opts o = {0};
    int r = parse_simple(cmd, SERVICE_IMPORT_HELP, argc, argv, &o, 2);
    if (r >= 0) return r;
    const char *id = argv[optind], *file = argv[optind + 1];
    rl_error err;
    rl_error_clear(&err);
    json_t *def = NULL, *ans = NULL;
    json_error_t je;
    int rc = RL_OK;
    if (!(def = json_load_file(file, 0, &je)) &&
        json_error_code(&je) == json_error_cannot_open_file)
        rc = rl_error_set(&err, RL_ENOTFOUND, "%s", je.text);
    else if (!def)
        rc = rl_error_set(&err, RL_EPARSE, "%s:%d:%d: %s", file, je.line, je.column, je.text);
    else if (!json_is_object(json_object_get(def, "properties")))
        rc = rl_error_set(&err, RL_EPARSE,
                          "%s is not a web-service definition: it needs "
                          "\"properties\" (write one with `relearn service export %s`)",
                          file, id);
    if (!rc)
        rc = token_call(&o, "PUT", def, &ans, &err, "/workspaces/%e/webservices/%e/definition",
                        o.workspace, id);
    if (!rc && o.json) print_json_borrowed(ans);
    if (!rc && !o.json)
        printf("updated service %s (%s) from %s\n  trained model %s\n", id,
               jstr(json_object_get(ans, "properties"), "title"), file, definition_model_uri(ans));
    json_decref(def);
    json_decref(ans);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

static int service_import(int argc, char **argv)
{
    return service_put_definition(argc, argv, "service import");
}

static int service_update(int argc, char **argv)
{
    return service_put_definition(argc, argv, "service update");
}

int rl_cmd_service(int argc, char **argv)
{
    static const subcommand subs[] = {{"list", service_list},
                                      {"show", service_show},
                                      {"export", service_export},
                                      {"import", service_import},
                                      {"update", service_update}};
    return dispatch("service", SERVICE_HELP, subs, 5, argc, argv);
}

/* ---- key ---- */

static const char KEY_HELP[] =
    "usage: relearn key regenerate SERVICE_ID [--endpoint NAME] [--which primary|secondary]\n"
    "                              [OPTIONS]\n\n"
    "Replaces an endpoint's primary or secondary key with a new one; the old key\n"
    "stops working at once. Prints the new key.\n\n"
    "  --endpoint NAME      the endpoint (default: default)\n"
    "  --which KEY          primary (default) or secondary\n" COMMON_HELP;

static int key_regenerate(int argc, char **argv)
{
    static const struct option opts[] = {{"endpoint", required_argument, 0, 'e'},
                                         {"which", required_argument, 0, 'w'},
                                         COMMON_OPTS,
                                         {0, 0, 0, 0}};
    const char *cmd = "key regenerate", *endpoint = "default", *which = "primary";
    svc_opts o = {0};
    int c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, KEY_HELP, argc, argv, opts, &o, &r)) != -1) {
        if (c == 'e') {
            endpoint = optarg;
        } else if (c == 'w') {
            if (strcmp(optarg, "primary") && strcmp(optarg, "secondary"))
                return rl_cli_usage(cmd, "--which is primary or secondary, got '%s'", optarg);
            which = optarg;
        }
    }
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 1, "SERVICE_ID is required", &o)) >= 0) return r;
    const char *id = argv[optind];
    rl_error err;
    rl_error_clear(&err);
    json_t *body = json_pack("{s:s}", "KeyName", which), *ans = NULL;
    int rc = body ? token_call(&o, "POST", body, &ans, &err,
                               "/workspaces/%e/webservices/%e/endpoints/%e/regeneratekeys",
                               o.workspace, id, endpoint)
                  : rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc) {
        const char *k = jstr(ans, strcmp(which, "primary") ? "SecondaryKey" : "PrimaryKey");
        if (o.json) {
            print_json_borrowed(ans);
        } else if (!*k) {
            rc = rl_error_set(&err, RL_EPARSE, "relearnd's answer has no %s key", which);
        } else {
            printf("new %s key of %s endpoint %s (the old one no longer works):\n%s\n", which, id,
                   endpoint, k);
        }
    }
    json_decref(body);
    json_decref(ans);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

int rl_cmd_key(int argc, char **argv)
{
    static const subcommand subs[] = {{"regenerate", key_regenerate}};
    return dispatch("key", KEY_HELP, subs, 1, argc, argv);
}

/* ---- blob ---- */

static const char BLOB_HELP[] =
    "usage: relearn blob put LOCAL CONTAINER/PATH\n"
    "       relearn blob get CONTAINER/PATH [LOCAL|-]\n"
    "       relearn blob ls CONTAINER[/PREFIX]\n"
    "       relearn blob rm CONTAINER/PATH\n"
    "       relearn blob sign CONTAINER/PATH [--permissions r] [--expiry-seconds N]\n\n"
    "Moves files to and from relearnd's blob store with the workspace token.\n"
    "Containers are 3-63 lowercase letters, digits and hyphens. Files are\n"
    "streamed, never held in memory. Run `relearn blob SUBCOMMAND --help`.\n";
static const char BLOB_PUT_HELP[] =
    "usage: relearn blob put LOCAL CONTAINER/PATH [OPTIONS]\n\n"
    "Uploads the file LOCAL to the blob CONTAINER/PATH (replacing it atomically).\n\n" COMMON_HELP;
static const char BLOB_GET_HELP[] =
    "usage: relearn blob get CONTAINER/PATH [LOCAL|-] [OPTIONS]\n\n"
    "Downloads a blob to LOCAL (default: its file name in the current directory),\n"
    "or to standard output with '-'. LOCAL is replaced only once the whole blob\n"
    "arrived.\n\n" COMMON_HELP;
static const char BLOB_LS_HELP[] =
    "usage: relearn blob ls CONTAINER[/PREFIX] [OPTIONS]\n\n"
    "Lists the blobs of a container whose paths start with PREFIX: size, time of\n"
    "the last change, name.\n\n" COMMON_HELP;
static const char BLOB_RM_HELP[] =
    "usage: relearn blob rm CONTAINER/PATH [OPTIONS]\n\n"
    "Deletes a blob. A model file an endpoint serves is refused.\n\n" COMMON_HELP;
static const char BLOB_SIGN_HELP[] =
    "usage: relearn blob sign CONTAINER/PATH [--permissions PERMS] [--expiry-seconds N]\n"
    "                         [OPTIONS]\n\n"
    "Makes a signed URL for one blob that works without the token: PERMS is any\n"
    "of r (read), w (write), d (delete); default r, for 3600 seconds. Prints the\n"
    "URL (--json: relearnd's answer with the SasBlobToken).\n\n"
    "  --permissions PERMS  r, w, d or a combination (default r)\n"
    "  --expiry-seconds N   how long the URL works (default 3600)\n" COMMON_HELP;

static int blob_put(int argc, char **argv)
{
    svc_opts o = {0};
    int r = parse_simple("blob put", BLOB_PUT_HELP, argc, argv, &o, 2);
    if (r >= 0) return r;
    const char *local = argv[optind];
    char *path = argv[optind + 1];
    if (blob_path_arg("blob put", &path)) return 2;
    rl_error err;
    rl_error_clear(&err);
    rl_client *cl = NULL;
    char *t = NULL;
    json_t *ans = NULL;
    struct stat sb;
    int rc = token_client(&o, NULL, 0, &cl, &err);
    if (!rc) rc = target(&t, &err, "/storage/%p", path);
    if (!rc) rc = rl_client_upload(cl, "PUT", t, local, &ans, &err);
    if (!rc) {
        long long size = stat(local, &sb) == 0 ? (long long)sb.st_size : -1;
        if (o.json) {
            if (!json_is_object(ans)) {
                json_decref(ans);
                ans = json_pack("{s:s, s:I}", "Path", path, "Size", (json_int_t)size);
            }
            print_json_borrowed(ans);
        } else {
            printf("uploaded %s to %s (%lld bytes)\n", local, path, size);
        }
    }
    json_decref(ans);
    rl_free(t);
    rl_client_free(cl);
    return rc ? rl_cli_fail("blob put", &err) : 0;
}

static int blob_get(int argc, char **argv)
{
    svc_opts o = {0};
    int r = parse_common("blob get", BLOB_GET_HELP, argc, argv, &o);
    if (r >= 0) return r;
    if (argc - optind < 1 || argc - optind > 2)
        return rl_cli_usage("blob get", "expected CONTAINER/PATH [LOCAL|-]");
    opts_finish(&o);
    char *path = argv[optind];
    if (blob_path_arg("blob get", &path)) return 2;
    const char *local = argc - optind == 2 ? argv[optind + 1] : strrchr(path, '/') + 1;
    if (!*local) return rl_cli_usage("blob get", "'%s' names no file; give LOCAL", path);
    if (o.json && !strcmp(local, "-"))
        return rl_cli_usage("blob get", "--json and '-' both want standard output");
    rl_error err;
    rl_error_clear(&err);
    rl_client *cl = NULL;
    char *t = NULL;
    uint64_t size = 0;
    int rc = token_client(&o, NULL, 0, &cl, &err);
    if (!rc) rc = target(&t, &err, "/storage/%p", path);
    if (!rc) rc = rl_client_download(cl, t, local, &size, &err);
    if (!rc && strcmp(local, "-")) {
        if (o.json)
            print_json_take(json_pack("{s:s, s:s, s:I}", "Path", path, "Local", local, "Size",
                                      (json_int_t)size));
        else
            printf("downloaded %s to %s (%llu bytes)\n", path, local, (unsigned long long)size);
    }
    rl_free(t);
    rl_client_free(cl);
    return rc ? rl_cli_fail("blob get", &err) : 0;
}

static int blob_ls(int argc, char **argv)
{
    svc_opts o = {0};
    int r = parse_simple("blob ls", BLOB_LS_HELP, argc, argv, &o, 1);
    if (r >= 0) return r;
    char *arg = argv[optind];
    while (*arg == '/')
        arg++;
    char *slash = strchr(arg, '/');
    const char *prefix = NULL;
    if (slash) {
        *slash = '\0';
        prefix = slash + 1;
    }
    if (!*arg) return rl_cli_usage("blob ls", "expected CONTAINER[/PREFIX]");
    rl_error err;
    rl_error_clear(&err);
    json_t *ans = NULL;
    int rc = prefix && *prefix
                 ? token_call(&o, "GET", NULL, &ans, &err, "/storage/%e?prefix=%e", arg, prefix)
                 : token_call(&o, "GET", NULL, &ans, &err, "/storage/%e", arg);
    if (!rc && o.json) print_json_borrowed(ans);
    if (!rc && !o.json) {
        size_t i;
        json_t *b;
        json_array_foreach(ans, i, b)
        {
            json_t *sz = json_object_get(b, "Size");
            printf("%12lld  %-24s %s\n",
                   json_is_integer(sz) ? (long long)json_integer_value(sz) : -1LL,
                   jstr(b, "LastModified"), jstr(b, "Name"));
        }
    }
    json_decref(ans);
    return rc ? rl_cli_fail("blob ls", &err) : 0;
}

static int blob_rm(int argc, char **argv)
{
    svc_opts o = {0};
    int r = parse_simple("blob rm", BLOB_RM_HELP, argc, argv, &o, 1);
    if (r >= 0) return r;
    char *path = argv[optind];
    if (blob_path_arg("blob rm", &path)) return 2;
    rl_error err;
    rl_error_clear(&err);
    int rc = token_call(&o, "DELETE", NULL, NULL, &err, "/storage/%p", path);
    if (!rc && o.json) print_json_take(json_pack("{s:s, s:b}", "Path", path, "Deleted", 1));
    if (!rc && !o.json) printf("deleted %s\n", path);
    return rc ? rl_cli_fail("blob rm", &err) : 0;
}

static int blob_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"permissions", required_argument, 0, 'p'},
                                         {"expiry-seconds", required_argument, 0, 'x'},
                                         COMMON_OPTS,
                                         {0, 0, 0, 0}};
    const char *cmd = "blob sign", *perms = "r";
    svc_opts o = {0};
    unsigned long long expiry = 3600;
    int c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, BLOB_SIGN_HELP, argc, argv, opts, &o, &r)) != -1) {
        if (c == 'p') {
            if (!*optarg || strspn(optarg, "rwd") != strlen(optarg))
                return rl_cli_usage(cmd, "--permissions is made of r, w and d, got '%s'", optarg);
            perms = optarg;
        } else if (c == 'x') {
            if (rl_cli_parse_u64(optarg, &expiry) || expiry == 0 || expiry > 100000000ULL)
                return rl_cli_usage(cmd,
                                    "--expiry-seconds must be 1 to 100000000, got "
                                    "'%s'",
                                    optarg);
        }
    }
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 1, "CONTAINER/PATH is required", &o)) >= 0) return r;
    char *path = argv[optind];
    if (blob_path_arg(cmd, &path)) return 2;
    rl_error err;
    rl_error_clear(&err);
    rl_client *cl = NULL;
    char *t = NULL;
    json_t *body = json_pack("{s:s, s:s, s:I}", "Path", path, "Permissions", perms, "ExpirySeconds",
                             (json_int_t)expiry),
           *ans = NULL;
    int rc = body ? token_client(&o, NULL, CALL_TIMEOUT_S, &cl, &err)
                  : rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc) rc = rl_client_json(cl, "POST", "/storage/sign", body, &ans, NULL, &err);
    if (!rc && !json_string_value(json_object_get(ans, "SasBlobToken")))
        rc = rl_error_set(&err, RL_EPARSE,
                          "relearnd's answer to POST /storage/sign has no "
                          "SasBlobToken");
    if (!rc && o.json) print_json_borrowed(ans);
    if (!rc && !o.json) {
        rc = target(&t, &err, "%s/storage/%p%s", rl_client_base_url(cl), path,
                    jstr(ans, "SasBlobToken"));
        if (!rc) printf("%s\n", t);
    }
    json_decref(body);
    json_decref(ans);
    rl_free(t);
    rl_client_free(cl);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

int rl_cmd_blob(int argc, char **argv)
{
    static const subcommand subs[] = {{"put", blob_put},
                                      {"get", blob_get},
                                      {"ls", blob_ls},
                                      {"rm", blob_rm},
                                      {"sign", blob_sign}};
    return dispatch("blob", BLOB_HELP, subs, 5, argc, argv);
}

/* ---- job ---- */

#define JOB_SERVICE_HELP                                                                           \
    "  --service S          the service: its ApiLocation URL, or its id (then\n"                   \
    "                       URL/workspaces/WS/services/ID)\n"                                      \
    "  --key KEY            the endpoint key (default $RELEARN_KEY; without one, the\n"            \
    "                       default endpoint's primary key is looked up with the\n"                \
    "                       workspace token)\n"

static const char JOB_HELP[] =
    "usage: relearn job submit SERVICE --input NAME=CONTAINER/PATH... [--output NAME=...]...\n"
    "                          [--param KEY=VALUE]... [--start]\n"
    "       relearn job start|status|cancel ID --service S\n"
    "       relearn job list --service S\n"
    "       relearn job wait ID --service S [--timeout SECONDS]\n\n"
    "Runs batch jobs (BES) of a web service: a predictive service scores files,\n"
    "a training service retrains the model. Jobs read and write blobs of\n"
    "relearnd's store. Run `relearn job SUBCOMMAND --help`.\n";
static const char JOB_SUBMIT_HELP[] =
    "usage: relearn job submit SERVICE --input NAME=CONTAINER/PATH... [--output NAME=C/P]...\n"
    "                          [--param KEY=VALUE]... [--start] [OPTIONS]\n\n"
    "Creates a batch job of SERVICE (its ApiLocation URL or its id) and prints\n"
    "its id; with --start also starts it (else `relearn job start`).\n\n"
    "  --input NAME=C/P     the blob for Web Service Input NAME (repeatable);\n"
    "                       NAME=@FILE uploads the local FILE first, to the blob\n"
    "                       jobs/RANDOM/NAME.EXT (needs the workspace token)\n"
    "  --output NAME=C/P    where Web Service Output NAME goes (default\n"
    "                       jobs/JOB/NAME.EXT)\n"
    "  --param KEY=VALUE    a global parameter of the web service (repeatable)\n"
    "  --start              start the job at once\n" JOB_SERVICE_HELP COMMON_HELP;
static const char JOB_START_HELP[] = "usage: relearn job start ID --service S [OPTIONS]\n\n"
                                     "Starts a submitted job.\n\n" JOB_SERVICE_HELP COMMON_HELP;
static const char JOB_STATUS_HELP[] =
    "usage: relearn job status ID --service S [OPTIONS]\n\n"
    "Shows a job's status, progress, outputs (with read URLs) and, for a failed\n"
    "job, why.\n\n" JOB_SERVICE_HELP COMMON_HELP;
static const char JOB_CANCEL_HELP[] =
    "usage: relearn job cancel ID --service S [OPTIONS]\n\n"
    "Cancels a job that has not finished.\n\n" JOB_SERVICE_HELP COMMON_HELP;
static const char JOB_LIST_HELP[] = "usage: relearn job list --service S [OPTIONS]\n\n"
                                    "Lists the service's jobs.\n\n" JOB_SERVICE_HELP COMMON_HELP;
static const char JOB_WAIT_HELP[] =
    "usage: relearn job wait ID --service S [--timeout SECONDS] [--interval SECONDS]\n"
    "                        [OPTIONS]\n\n"
    "Waits until the job is Finished, Failed or Cancelled, showing its progress on\n"
    "standard error (a bar on a terminal, else a line per change). Exits 0 when it\n"
    "Finished, 1 with the reason when it Failed or was Cancelled or the timeout\n"
    "passed. Prints the outputs, or the final status with --json.\n\n"
    "  --timeout SECONDS    give up after this long (default: wait as long as it takes)\n"
    "  --interval SECONDS   time between polls (default 0.5)\n" JOB_SERVICE_HELP COMMON_HELP;

#define JOB_OPTS                                                                                   \
    {"service", required_argument, 0, OPT_SERVICE}, {"key", required_argument, 0, OPT_KEY},        \
        COMMON_OPTS

/* Where a service's BES lives and who it is. */
typedef struct service_ref {
    char *api;  /* its ApiLocation, without trailing slash */
    char *base; /* relearnd's base URL for /storage and management; NULL: o->url */
    char *ws;   /* workspace, when known */
    char *id;   /* service id, when known */
} service_ref;

static void service_ref_fini(service_ref *s)
{
    rl_free(s->api);
    rl_free(s->base);
    rl_free(s->ws);
    rl_free(s->id);
}

/* A decoded copy of n bytes of URL text (percent-escapes resolved). */
static char *unescape_dup(const char *s, size_t n)
{
    int len = 0;
    char *u = curl_easy_unescape(NULL, s, (int)n, &len);
    if (!u) return NULL;
    char *d = rl_strndup(u, (size_t)len);
    curl_free(u);
    return d;
}

static int resolve_service(const svc_opts *o, const char *s, service_ref *out, rl_error *err)
{
    service_ref r = {0};
    int rc = RL_OK;
    if (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8)) {
        size_t n = strlen(s);
        while (n && s[n - 1] == '/')
            n--;
        if (!(r.api = rl_strndup(s, n))) goto oom;
        /* PREFIX/workspaces/WS/services/ID tells where relearnd is. */
        const char *w = NULL;
        for (const char *p = strstr(r.api, "/workspaces/"); p; p = strstr(p + 1, "/workspaces/"))
            w = p;
        const char *sv = w ? strchr(w + 12, '/') : NULL;
        if (w && sv && !strncmp(sv, "/services/", 10) && sv[10] && !strchr(sv + 10, '/')) {
            r.base = rl_strndup(r.api, (size_t)(w - r.api));
            r.ws = unescape_dup(w + 12, (size_t)(sv - (w + 12)));
            r.id = unescape_dup(sv + 10, strlen(sv + 10));
            if (!r.base || !r.ws || !r.id) goto oom;
        }
    } else {
        if (!*s || strchr(s, '/'))
            return rl_error_set(err, RL_EINVAL,
                                "the service must be its ApiLocation (http://...) "
                                "or its id, got '%s'",
                                s);
        const char *base = o->url ? o->url : RL_CLIENT_DEFAULT_URL;
        size_t n = strlen(base);
        while (n && base[n - 1] == '/')
            n--;
        char *b = rl_strndup(base, n);
        if (!b) goto oom;
        rc = target(&r.api, err, "%s/workspaces/%e/services/%e", b, o->workspace, s);
        rl_free(b);
        if (rc) goto fail;
        if (!(r.ws = rl_strdup(o->workspace)) || !(r.id = rl_strdup(s))) goto oom;
    }
    *out = r;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory");
fail:
    service_ref_fini(&r);
    return rc;
}

/* The endpoint key: --key / RELEARN_KEY, else the default endpoint's primary
 * key read with the workspace token. *out belongs to the caller. */
static int endpoint_key(const svc_opts *o, const service_ref *s, char **out, rl_error *err)
{
    if (o->key) {
        *out = rl_strdup(o->key);
        return *out ? RL_OK : rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    if (!o->token || !s->id)
        return rl_error_set(err, RL_EAUTH,
                            "job commands need the endpoint key: pass --key KEY "
                            "or set RELEARN_KEY (`relearn service show ID` shows the keys)%s",
                            s->id ? ", or give the workspace token to look it up" : "");
    svc_opts ob = *o; /* relearnd where the service is */
    if (s->base) ob.url = s->base;
    json_t *ep = NULL;
    int rc = token_call(&ob, "GET", NULL, &ep, err,
                        "/workspaces/%e/webservices/%e/endpoints/default", s->ws, s->id);
    if (rc) rl_error_wrap(err, "looking up the key of service %s (or pass --key)", s->id);
    const char *k = json_string_value(json_object_get(ep, "PrimaryKey"));
    if (!rc && !k)
        rc = rl_error_set(err, RL_EPARSE,
                          "the endpoint of service %s shows no PrimaryKey; "
                          "pass --key",
                          s->id);
    if (!rc && !(*out = rl_strdup(k))) rc = rl_error_set(err, RL_ENOMEM, "out of memory");
    json_decref(ep);
    return rc;
}

/* A client for the service's BES with its endpoint key. */
static int key_client(const svc_opts *o, const service_ref *s, long timeout, rl_client **out,
                      rl_error *err)
{
    char *key = NULL;
    int rc = endpoint_key(o, s, &key, err);
    if (rc) return rc;
    rl_client_opts co = {s->api, key, KEY_HINT, timeout, 0};
    rc = rl_client_new(&co, out, err);
    rl_free(key);
    return rc;
}

/* Resolves service (--service or SERVICE) into *s and opens a client for its
 * BES with the endpoint key: what every job command starts with. *s is
 * filled even on failure (service_ref_fini it). */
static int job_client(const svc_opts *o, const char *service, service_ref *s, rl_client **out,
                      rl_error *err)
{
    int rc = resolve_service(o, service, s, err);
    return rc ? rc : key_client(o, s, CALL_TIMEOUT_S, out, err);
}

/* Uploads a local file for input NAME to jobs/<random>/NAME.<ext>; *blob
 * receives the container/path. */
static int upload_input(const svc_opts *o, const service_ref *s, const char *name,
                        const char *local, char **blob, rl_error *err)
{
    char hex[17];
    char *path = NULL, *t = NULL;
    rl_client *cl = NULL;
    const char *ext = rl_path_ext(local);
    int rc = rl_random_hex(8, hex, sizeof hex, err);
    if (!rc) rc = target(&path, err, "jobs/%s/%s%s%s", hex, name, *ext ? "." : "", ext);
    if (!rc) rc = target(&t, err, "/storage/%p", path);
    if (!rc) rc = token_client(o, s->base, 0, &cl, err);
    if (!rc) rc = rl_client_upload(cl, "PUT", t, local, NULL, err);
    if (rc) {
        rl_error_wrap(err, "uploading %s for input %s", local, name);
        rl_free(path);
    } else {
        fprintf(stderr, "relearn job submit: uploaded %s to %s\n", local, path);
        *blob = path;
    }
    rl_free(t);
    rl_client_free(cl);
    return rc;
}

/* Parses a job subcommand's options. *service and *timeout / *interval are
 * only set by the options that exist in opts. Returns -1 to go on. */
static int parse_job(const char *cmd, const char *help, int argc, char **argv,
                     const struct option *opts, svc_opts *o, const char **service, int npos,
                     double *timeout, double *interval)
{
    int c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, help, argc, argv, opts, o, &r)) != -1) {
        double v;
        switch (c) {
        case OPT_SERVICE:
            *service = optarg;
            break;
        case 't':
        case 'i':
            if (rl_cli_parse_double(optarg, &v) || v < 0 || (c == 'i' && v < 0.05) || v > 1e7)
                return rl_cli_usage(cmd, "--%s takes a number of seconds%s, got '%s'",
                                    c == 't' ? "timeout" : "interval",
                                    c == 'i' ? " (at least 0.05)" : "", optarg);
            *(c == 't' ? timeout : interval) = v;
            break;
        }
    }
    if (r >= 0) return r;
    if (argc - optind != npos)
        return rl_cli_usage(cmd, npos ? "the job ID is required" : "expected no argument");
    if (!*service) return rl_cli_usage(cmd, "--service is required (an ApiLocation or an id)");
    opts_finish(o);
    return -1;
}

static const char *API = "?api-version=2.0";

static void print_status(const char *id, const json_t *st)
{
    double p = json_number_value(json_object_get(st, "Progress"));
    printf("job %s: %s (%.0f%%)\n", id, jstr(st, "StatusCode"), 100 * p);
    if (*jstr(st, "CreatedAt")) printf("  created   %s\n", jstr(st, "CreatedAt"));
    if (*jstr(st, "StartTime")) printf("  started   %s\n", jstr(st, "StartTime"));
    if (*jstr(st, "EndTime")) printf("  ended     %s\n", jstr(st, "EndTime"));
    const char *k;
    json_t *r;
    json_object_foreach(json_object_get(st, "Results"), k, r)
    {
        printf("  output %s: %s\n", k, jstr(r, "RelativeLocation"));
        if (*jstr(r, "BaseLocation"))
            printf("    %s%s%s\n", jstr(r, "BaseLocation"), jstr(r, "RelativeLocation"),
                   jstr(r, "SasBlobToken"));
    }
    if (*jstr(st, "Details")) printf("  details   %s\n", jstr(st, "Details"));
}

static int job_submit(int argc, char **argv)
{
    static const struct option opts[] = {{"input", required_argument, 0, 'I'},
                                         {"output", required_argument, 0, 'O'},
                                         {"param", required_argument, 0, 'p'},
                                         {"start", no_argument, 0, 's'},
                                         JOB_OPTS,
                                         {0, 0, 0, 0}};
    svc_opts o = {0};
    char *in_n[MAX_MULTI], *in_v[MAX_MULTI], *out_n[MAX_MULTI], *out_v[MAX_MULTI];
    char *p_n[MAX_MULTI], *p_v[MAX_MULTI];
    size_t nin = 0, nout = 0, np = 0;
    int start = 0, c, r = -1;
    const char *cmd = "job submit";
    optind = 0;
    while ((c = next_opt(cmd, JOB_SUBMIT_HELP, argc, argv, opts, &o, &r)) != -1) {
        switch (c) {
        case 'I':
            if (nin == MAX_MULTI) return rl_cli_usage(cmd, "too many --input options");
            if (rl_cli_split_binding(cmd, "CONTAINER/PATH", optarg, &in_n[nin], &in_v[nin]))
                return 2;
            if (in_v[nin][0] != '@' && blob_path_arg(cmd, &in_v[nin])) return 2;
            nin++;
            break;
        case 'O':
            if (nout == MAX_MULTI) return rl_cli_usage(cmd, "too many --output options");
            if (rl_cli_split_binding(cmd, "CONTAINER/PATH", optarg, &out_n[nout], &out_v[nout]) ||
                blob_path_arg(cmd, &out_v[nout]))
                return 2;
            nout++;
            break;
        case 'p':
            if (np == MAX_MULTI) return rl_cli_usage(cmd, "too many --param options");
            if (rl_cli_split_binding(cmd, "VALUE", optarg, &p_n[np], &p_v[np])) return 2;
            np++;
            break;
        case 's':
            start = 1;
            break;
        }
    }
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 1, "SERVICE (an ApiLocation or an id) is required", &o)) >= 0)
        return r;
    for (size_t i = 0; i < nin; i++)
        if (in_v[i][0] == '@' && !in_v[i][1])
            return rl_cli_usage(cmd, "--input %s=@ needs a file name after '@'", in_n[i]);

    rl_error err;
    rl_error_clear(&err);
    service_ref s = {0};
    rl_client *cl = NULL;
    char *uploads[MAX_MULTI] = {0};
    char *t = NULL, *ts = NULL;
    json_t *body = NULL, *ans = NULL;
    const char *id = NULL;
    /* Check the key before uploading anything. */
    int rc = job_client(&o, argv[optind], &s, &cl, &err);
    if (rc) goto done;
    body = json_pack("{s:{}, s:{}, s:{}}", "Inputs", "Outputs", "GlobalParameters");
    if (!body) goto oom;
    for (size_t i = 0; i < nin; i++) {
        const char *blob = in_v[i];
        if (blob[0] == '@') {
            if ((rc = upload_input(&o, &s, in_n[i], blob + 1, &uploads[i], &err))) goto done;
            blob = uploads[i];
        }
        if (json_object_set_new(json_object_get(body, "Inputs"), in_n[i],
                                json_pack("{s:s}", "RelativeLocation", blob)))
            goto oom;
    }
    for (size_t i = 0; i < nout; i++)
        if (json_object_set_new(json_object_get(body, "Outputs"), out_n[i],
                                json_pack("{s:s}", "RelativeLocation", out_v[i])))
            goto oom;
    for (size_t i = 0; i < np; i++)
        if (json_object_set_new(json_object_get(body, "GlobalParameters"), p_n[i],
                                json_string(p_v[i])))
            goto oom;
    if ((rc = target(&t, &err, "%s/jobs%s", s.api, API))) goto done;
    if ((rc = rl_client_json(cl, "POST", t, body, &ans, NULL, &err))) goto done;
    id = json_string_value(ans);
    if (!id) {
        rc =
            rl_error_set(&err, RL_EPARSE, "relearnd answered POST %s/jobs without a job id", s.api);
        goto done;
    }
    if (start) {
        if ((rc = target(&ts, &err, "%s/jobs/%e/start%s", s.api, id, API))) goto done;
        if ((rc = rl_client_json(cl, "POST", ts, NULL, NULL, NULL, &err))) {
            rl_error_wrap(&err, "job %s was submitted but not started", id);
            goto done;
        }
    }
    if (o.json)
        print_json_take(
            json_pack("{s:s, s:s, s:b}", "Id", id, "ApiLocation", s.api, "Started", start));
    else
        printf("%s\n", id);
    goto done;
oom:
    rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
done:
    for (size_t i = 0; i < nin; i++)
        rl_free(uploads[i]);
    json_decref(body);
    json_decref(ans);
    rl_free(t);
    rl_free(ts);
    rl_client_free(cl);
    service_ref_fini(&s);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

/* start, status, cancel: one call on one job. */
static int job_one(int argc, char **argv, const char *cmd, const char *help, const char *method,
                   const char *suffix)
{
    static const struct option opts[] = {JOB_OPTS, {0, 0, 0, 0}};
    svc_opts o = {0};
    const char *service = NULL;
    int r = parse_job(cmd, help, argc, argv, opts, &o, &service, 1, NULL, NULL);
    if (r >= 0) return r;
    const char *id = argv[optind];
    rl_error err;
    rl_error_clear(&err);
    service_ref s = {0};
    rl_client *cl = NULL;
    char *t = NULL;
    json_t *ans = NULL;
    int rc = job_client(&o, service, &s, &cl, &err);
    if (!rc) rc = target(&t, &err, "%s/jobs/%e%s%s", s.api, id, suffix, API);
    if (!rc) rc = rl_client_json(cl, method, t, NULL, &ans, NULL, &err);
    if (!rc) {
        int is_status = !strcmp(method, "GET");
        if (o.json && is_status)
            print_json_borrowed(ans);
        else if (o.json)
            print_json_take(json_pack("{s:s, s:b}", "Id", id,
                                      strcmp(method, "DELETE") ? "Started" : "Cancelled", 1));
        else if (is_status)
            print_status(id, ans);
        else
            printf("%s job %s\n", strcmp(method, "DELETE") ? "started" : "cancelled", id);
    }
    json_decref(ans);
    rl_free(t);
    rl_client_free(cl);
    service_ref_fini(&s);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

static int job_start(int argc, char **argv)
{
    return job_one(argc, argv, "job start", JOB_START_HELP, "POST", "/start");
}

static int job_status(int argc, char **argv)
{
    return job_one(argc, argv, "job status", JOB_STATUS_HELP, "GET", "");
}

static int job_cancel(int argc, char **argv)
{
    return job_one(argc, argv, "job cancel", JOB_CANCEL_HELP, "DELETE", "");
}

static int job_list(int argc, char **argv)
{
    static const struct option opts[] = {JOB_OPTS, {0, 0, 0, 0}};
    svc_opts o = {0};
    const char *service = NULL;
    int r = parse_job("job list", JOB_LIST_HELP, argc, argv, opts, &o, &service, 0, NULL, NULL);
    if (r >= 0) return r;
    rl_error err;
    rl_error_clear(&err);
    service_ref s = {0};
    rl_client *cl = NULL;
    char *t = NULL;
    json_t *ans = NULL;
    int rc = job_client(&o, service, &s, &cl, &err);
    if (!rc) rc = target(&t, &err, "%s/jobs%s", s.api, API);
    if (!rc) rc = rl_client_json(cl, "GET", t, NULL, &ans, NULL, &err);
    if (!rc && o.json) print_json_borrowed(ans);
    if (!rc && !o.json) {
        if (!json_array_size(ans))
            printf("no jobs\n");
        else
            printf("%-34s %-10s %8s  %s\n", "ID", "STATUS", "PROGRESS", "CREATED");
        size_t i;
        json_t *j;
        json_array_foreach(ans, i, j)
        {
            printf("%-34s %-10s %7.0f%%  %s\n", jstr(j, "Id"), jstr(j, "StatusCode"),
                   100 * json_number_value(json_object_get(j, "Progress")), jstr(j, "CreatedAt"));
        }
    }
    json_decref(ans);
    rl_free(t);
    rl_client_free(cl);
    service_ref_fini(&s);
    return rc ? rl_cli_fail("job list", &err) : 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* Draws the progress of a job on standard error. */
static void show_progress(int tty, const char *id, const char *status, double p, int *last_pct,
                          char *last_status, size_t last_size)
{
    int pct = (int)floor(p * 100 + 0.5);
    if (tty) {
        char bar[21];
        int full = (int)floor(p * 20 + 0.5);
        for (int i = 0; i < 20; i++)
            bar[i] = i < full ? '#' : '-';
        bar[20] = '\0';
        fprintf(stderr, "\r[%s] %3d%%  %-12s", bar, pct, status);
        fflush(stderr);
    } else if (pct != *last_pct || strcmp(status, last_status)) {
        fprintf(stderr, "job %s: %s %d%%\n", id, status, pct);
    }
    *last_pct = pct;
    snprintf(last_status, last_size, "%s", status);
}

static int job_wait(int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, 0, 't'},
                                         {"interval", required_argument, 0, 'i'},
                                         JOB_OPTS,
                                         {0, 0, 0, 0}};
    svc_opts o = {0};
    const char *service = NULL, *cmd = "job wait";
    double timeout = 0, interval = 0.5;
    int r = parse_job(cmd, JOB_WAIT_HELP, argc, argv, opts, &o, &service, 1, &timeout, &interval);
    if (r >= 0) return r;
    const char *id = argv[optind];
    rl_error err;
    rl_error_clear(&err);
    service_ref s = {0};
    rl_client *cl = NULL;
    char *t = NULL;
    json_t *st = NULL;
    int tty = isatty(STDERR_FILENO), last_pct = -1, drawn = 0;
    char last_status[32] = "";
    double t0 = rl_cli_now_s(), failing_since = -1;
    int rc = job_client(&o, service, &s, &cl, &err);
    if (!rc) rc = target(&t, &err, "%s/jobs/%e%s", s.api, id, API);
    while (!rc) {
        json_decref(st);
        st = NULL;
        rl_error e1;
        rl_error_clear(&e1);
        int r1 = rl_client_json(cl, "GET", t, NULL, &st, NULL, &e1);
        double now = rl_cli_now_s();
        if (r1 == RL_EIO || r1 == RL_EBUSY) {
            /* relearnd restarting or busy: jobs survive restarts, so wait a
             * while before giving up. */
            if (failing_since < 0) failing_since = now;
            if (now - failing_since > 30) {
                err = e1;
                rc = r1;
                break;
            }
        } else if (r1) {
            err = e1;
            rc = r1;
            break;
        } else {
            failing_since = -1;
            const char *code = jstr(st, "StatusCode");
            double p = json_number_value(json_object_get(st, "Progress"));
            if (!strcmp(code, "Finished")) p = 1;
            p = p < 0 ? 0 : p > 1 ? 1 : p;
            show_progress(tty, id, code, p, &last_pct, last_status, sizeof last_status);
            drawn = 1;
            if (!strcmp(code, "Finished")) break;
            if (!strcmp(code, "Failed") || !strcmp(code, "Cancelled")) {
                rc = rl_error_set(&err, strcmp(code, "Failed") ? RL_ECANCELED : RL_ESTATE,
                                  "job %s %s%s%s", id,
                                  !strcmp(code, "Failed") ? "failed" : "was cancelled",
                                  *jstr(st, "Details") ? ": " : "", jstr(st, "Details"));
                break;
            }
        }
        if (timeout > 0 && now - t0 >= timeout) {
            rc = rl_error_set(&err, RL_ESTATE,
                              "job %s is still %s after %g s; wait again, or "
                              "`relearn job cancel %s`",
                              id, *last_status ? last_status : "unseen", timeout, id);
            break;
        }
        double left = timeout > 0 ? timeout - (now - t0) : interval;
        sleep_s(left < interval ? (left > 0 ? left : 0) : interval);
    }
    if (tty && drawn) fputc('\n', stderr);
    if (st && (rc == RL_OK || rc == RL_ESTATE || rc == RL_ECANCELED)) {
        if (o.json)
            print_json_borrowed(st);
        else if (!rc)
            print_status(id, st);
    }
    json_decref(st);
    rl_free(t);
    rl_client_free(cl);
    service_ref_fini(&s);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

int rl_cmd_job(int argc, char **argv)
{
    static const subcommand subs[] = {{"submit", job_submit}, {"start", job_start},
                                      {"status", job_status}, {"cancel", job_cancel},
                                      {"list", job_list},     {"wait", job_wait}};
    return dispatch("job", JOB_HELP, subs, 6, argc, argv);
}

/* ---- endpoint ---- */

#define ENDPOINT_ARGS                                                                              \
    "  SERVICE              the predictive web service's id (`relearn service list`)\n"            \
    "  NAME                 the endpoint: 1 to 24 lowercase letters, digits and inner\n"           \
    "                       hyphens; \"default\" is the service's own\n"

static const char ENDPOINT_HELP[] =
    "usage: relearn endpoint add SERVICE NAME [--description TEXT] [--throttle Low|High]\n"
    "                            [--max-concurrent-calls N] [--update]\n"
    "       relearn endpoint list SERVICE\n"
    "       relearn endpoint show SERVICE NAME\n"
    "       relearn endpoint rm SERVICE NAME\n"
    "       relearn endpoint refresh SERVICE NAME [--overwrite-resources]\n"
    "       relearn endpoint update-resource SERVICE NAME --location URL|CONTAINER/PATH\n"
    "                            [--resource-name NAME] [--sas-token TOKEN]\n"
    "       relearn endpoint history SERVICE NAME\n"
    "       relearn endpoint rollback SERVICE NAME [--to SEQ]\n\n"
    "Manages the endpoints of a predictive web service: each has its own URL,\n"
    "keys, throttle and trained model. Added endpoints stay on their model until\n"
    "it is updated (update-resource: a retrained model, e.g. a training job's\n"
    "output1), refreshed from the service or rolled back; the default endpoint\n"
    "follows the service. Run `relearn endpoint SUBCOMMAND --help`.\n";
static const char ENDPOINT_ADD_HELP[] =
    "usage: relearn endpoint add SERVICE NAME [--description TEXT] [--throttle Low|High]\n"
    "                            [--max-concurrent-calls N] [--update] [OPTIONS]\n\n"
    "Adds an endpoint to predictive service SERVICE (PUT .../endpoints/NAME). It\n"
    "gets its own ApiLocation and keys and starts with the service's current\n"
    "model. Prints it with its keys. A NAME that exists is refused unless\n"
    "--update is given: then only the settings given change (relearnd's PUT is\n"
    "create-or-update; keys, URL and model stay).\n\n" ENDPOINT_ARGS
    "  --description TEXT   what it is for (at most 1024 characters)\n"
    "  --throttle LEVEL     Low or High (default High)\n"
    "  --max-concurrent-calls N\n"
    "                       calls served at once, 1 to 200 (default 4 for Low, 20\n"
    "                       for High); past it relearnd answers 503\n"
    "  --update             change the settings of an existing endpoint\n" COMMON_HELP;
static const char ENDPOINT_LIST_HELP[] =
    "usage: relearn endpoint list SERVICE [OPTIONS]\n\n"
    "Lists the endpoints of SERVICE (default first): name, version, maximum\n"
    "concurrent calls, throttle level and the model file each serves.\n\n" COMMON_HELP;
static const char ENDPOINT_SHOW_HELP[] =
    "usage: relearn endpoint show SERVICE NAME [OPTIONS]\n\n"
    "Shows one endpoint: ApiLocation, keys, settings, version and model.\n\n" ENDPOINT_ARGS
        COMMON_HELP;
static const char ENDPOINT_RM_HELP[] =
    "usage: relearn endpoint rm SERVICE NAME [OPTIONS]\n\n"
    "Deletes an endpoint; its URL and keys stop working at once. The default\n"
    "endpoint cannot be deleted while the service has others (HTTP 409).\n\n" ENDPOINT_ARGS
        COMMON_HELP;
static const char ENDPOINT_REFRESH_HELP[] =
    "usage: relearn endpoint refresh SERVICE NAME [--overwrite-resources] [OPTIONS]\n\n"
    "Brings the endpoint back to the service's current experiment. With\n"
    "--overwrite-resources it also takes the service's current trained model\n"
    "(the default endpoint's); without, it keeps its own.\n\n" ENDPOINT_ARGS
    "  --overwrite-resources  take the service's current model too\n" COMMON_HELP;
static const char ENDPOINT_UPDATE_HELP[] =
    "usage: relearn endpoint update-resource SERVICE NAME --location URL|CONTAINER/PATH\n"
    "                            [--resource-name NAME] [--sas-token TOKEN] [OPTIONS]\n\n"
    "Update Resource: puts a retrained model in service on an added endpoint\n"
    "(PATCH .../endpoints/NAME). relearnd fetches, verifies and loads it and\n"
    "checks that the endpoint's input can feed it before the switch; any refusal\n"
    "leaves the old model serving. The default endpoint cannot be patched: update\n"
    "it through the service's definition (`relearn service export` / `import`).\n\n" ENDPOINT_ARGS
    "  --location L         the model: the URL a training job's status gives for it\n"
    "                       (BaseLocation, RelativeLocation and SasBlobToken joined,\n"
    "                       as `relearn job status` prints it), or CONTAINER/PATH of\n"
    "                       a blob in the workspace's store\n"
    "  --resource-name NAME the resource to update (default: the service's, like\n"
    "                       \"census [trained model]\")\n"
    "  --sas-token TOKEN    the signed token of the location (default: the one in\n"
    "                       the URL, if any)\n" COMMON_HELP;
static const char ENDPOINT_HISTORY_HELP[] =
    "usage: relearn endpoint history SERVICE NAME [OPTIONS]\n\n"
    "Lists every model change of the endpoint: sequence number, time, action\n"
    "(publish, update-resource, definition-update, rollback, refresh), the\n"
    "retraining job that made the model, the model file and its SHA-256, and\n"
    "its AUC or accuracy when the evaluation has one (--json: the evaluation\n"
    "in full).\n\n" ENDPOINT_ARGS COMMON_HELP;
static const char ENDPOINT_ROLLBACK_HELP[] =
    "usage: relearn endpoint rollback SERVICE NAME [--to SEQ] [OPTIONS]\n\n"
    "Puts an earlier model of the endpoint back in service: the one of history\n"
    "entry SEQ, or by default the latest earlier model that differs from the\n"
    "one serving. It is verified and swapped in like an update.\n\n" ENDPOINT_ARGS
    "  --to SEQ             the history entry to go back to (`relearn endpoint\n"
    "                       history`)\n" COMMON_HELP;

/* The target of endpoint name of service id, with suffix ("" or "/history"...). */
static int endpoint_req(const svc_opts *o, const char *method, const char *id, const char *name,
                        const char *suffix, const json_t *body, json_t **ans, rl_error *err)
{
    return token_call(o, method, body, ans, err, "/workspaces/%e/webservices/%e/endpoints/%e%s",
                      o->workspace, id, name, suffix);
}

static void print_endpoint_full(const json_t *e)
{
    print_endpoint(e);
    if (*jstr(e, "Description")) printf("  Description   %s\n", jstr(e, "Description"));
    const json_t *m = json_object_get(e, "MaxConcurrentCalls");
    printf("  Throttle      %s, at most %lld concurrent calls\n", jstr(e, "ThrottleLevel"),
           json_is_integer(m) ? (long long)json_integer_value(m) : -1LL);
    printf("  Created       %s\n", jstr(e, "CreationTime"));
}

/* The model file an endpoint object serves, or "-". */
static const char *endpoint_model(const json_t *e)
{
    const char *m =
        jstr(json_object_get(json_array_get(json_object_get(e, "Resources"), 0), "Location"),
             "RelativeLocation");
    return *m ? m : "-";
}

/* Runs one management call on an endpoint and prints the endpoint object it
 * answers (what says how: "added", "refreshed"...). */
static int endpoint_call(const char *cmd, const svc_opts *o, const char *id, const char *name,
                         const char *method, const char *suffix, json_t *body, const char *what)
{
    rl_error err;
    rl_error_clear(&err);
    json_t *ans = NULL;
    int rc = body ? endpoint_req(o, method, id, name, suffix, body, &ans, &err)
                  : rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc && o->json) print_json_borrowed(ans);
    if (!rc && !o->json) {
        printf("%s endpoint %s of service %s", what, name, id);
        const json_t *v = json_object_get(ans, "Version");
        if (json_is_integer(v))
            printf(": version %lld, model %s", (long long)json_integer_value(v),
                   endpoint_model(ans));
        printf("\n");
        if (json_is_object(ans)) print_endpoint_full(ans);
    }
    json_decref(ans);
    json_decref(body);
    return rc ? rl_cli_fail(cmd, &err) : 0;
}

static int endpoint_add(int argc, char **argv)
{
    static const struct option opts[] = {{"description", required_argument, 0, 'd'},
                                         {"throttle", required_argument, 0, 't'},
                                         {"max-concurrent-calls", required_argument, 0, 'm'},
                                         {"update", no_argument, 0, 'u'},
                                         COMMON_OPTS,
                                         {0, 0, 0, 0}};
    const char *cmd = "endpoint add", *desc = NULL, *throttle = NULL;
    unsigned long long max_calls = 0;
    int update = 0, c, r = -1;
    svc_opts o = {0};
    optind = 0;
    while ((c = next_opt(cmd, ENDPOINT_ADD_HELP, argc, argv, opts, &o, &r)) != -1) {
        switch (c) {
        case 'd':
            desc = optarg;
            break;
        case 't':
            if (strcasecmp(optarg, "Low") && strcasecmp(optarg, "High"))
                return rl_cli_usage(cmd, "--throttle is Low or High, got '%s'", optarg);
            throttle = strcasecmp(optarg, "Low") ? "High" : "Low";
            break;
        case 'm':
            if (rl_cli_parse_u64(optarg, &max_calls) || max_calls < 1 || max_calls > 200)
                return rl_cli_usage(cmd, "--max-concurrent-calls must be 1 to 200, got '%s'",
                                    optarg);
            break;
        case 'u':
            update = 1;
            break;
        }
    }
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 2, "expected SERVICE NAME", &o)) >= 0) return r;
    const char *id = argv[optind], *name = argv[optind + 1];
    rl_error err;
    rl_error_clear(&err);
    json_t *body = json_object();
    int rc = body ? RL_OK : rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc && desc && json_object_set_new(body, "Description", json_string(desc)))
        rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc && throttle && json_object_set_new(body, "ThrottleLevel", json_string(throttle)))
        rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc && max_calls &&
        json_object_set_new(body, "MaxConcurrentCalls", json_integer((json_int_t)max_calls)))
        rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc && !update) { /* PUT would change an existing one: look first */
        rl_error e1;
        rl_error_clear(&e1);
        int found = endpoint_req(&o, "GET", id, name, "", NULL, NULL, &e1);
        if (found == RL_OK) {
            rc = rl_error_set(&err, RL_EEXIST,
                              "service %s has an endpoint '%s' already; pass "
                              "--update to change its settings, or choose another name",
                              id, name);
        } else if (found != RL_ENOTFOUND) { /* no token, no such service, no access... */
            err = e1;
            rc = found;
        }
    }
    if (rc) {
        json_decref(body);
        return rl_cli_fail(cmd, &err);
    }
    return endpoint_call(cmd, &o, id, name, "PUT", "", body, update ? "saved" : "added");
}

static void show_endpoints(const svc_opts *o, char **args, const json_t *ans)
{
    (void)o;
    (void)args;
    printf("%-24s %7s %8s %-8s %s\n", "NAME", "VERSION", "MAXCALLS", "THROTTLE", "MODEL");
    size_t i;
    json_t *e;
    json_array_foreach(ans, i, e)
    {
        printf("%-24s %7lld %8lld %-8s %s\n", jstr(e, "Name"),
               (long long)json_integer_value(json_object_get(e, "Version")),
               (long long)json_integer_value(json_object_get(e, "MaxConcurrentCalls")),
               jstr(e, "ThrottleLevel"), endpoint_model(e));
    }
}

static int endpoint_list(int argc, char **argv)
{
    return get_and_show("endpoint list", ENDPOINT_LIST_HELP, argc, argv, 1,
                        "/workspaces/%e/webservices/%e/endpoints", show_endpoints);
}

static void show_endpoint(const svc_opts *o, char **args, const json_t *ans)
{
    (void)o;
    printf("service %s", args[0]);
    print_endpoint_full(ans);
}

static int endpoint_show(int argc, char **argv)
{
    return get_and_show("endpoint show", ENDPOINT_SHOW_HELP, argc, argv, 2,
                        "/workspaces/%e/webservices/%e/endpoints/%e", show_endpoint);
}

static int endpoint_rm(int argc, char **argv)
{
    svc_opts o = {0};
    int r = parse_simple("endpoint rm", ENDPOINT_RM_HELP, argc, argv, &o, 2);
    if (r >= 0) return r;
    const char *id = argv[optind], *name = argv[optind + 1];
    rl_error err;
    rl_error_clear(&err);
    int rc = endpoint_req(&o, "DELETE", id, name, "", NULL, NULL, &err);
    if (!rc && o.json)
        print_json_take(
            json_pack("{s:s, s:s, s:b}", "WebServiceId", id, "Name", name, "Deleted", 1));
    if (!rc && !o.json) printf("deleted endpoint %s of service %s\n", name, id);
    return rc ? rl_cli_fail("endpoint rm", &err) : 0;
}

static int endpoint_refresh(int argc, char **argv)
{
    static const struct option opts[] = {
        {"overwrite-resources", no_argument, 0, 'w'}, COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "endpoint refresh";
    svc_opts o = {0};
    int overwrite = 0, c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, ENDPOINT_REFRESH_HELP, argc, argv, opts, &o, &r)) != -1)
        if (c == 'w') overwrite = 1;
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 2, "expected SERVICE NAME", &o)) >= 0) return r;
    return endpoint_call(cmd, &o, argv[optind], argv[optind + 1], "POST", "/refresh",
                         json_pack("{s:b}", "OverwriteResources", overwrite), "refreshed");
}

/* {"BaseLocation", "RelativeLocation", "SasBlobToken"} of --location (a URL
 * of relearnd's blob store, or CONTAINER/PATH) and --sas-token. Returns NULL
 * after printing a usage error. */
static json_t *location_arg(const char *cmd, char *loc, const char *token)
{
    json_t *j = json_object();
    char *rel = NULL;
    const char *tok = token;
    if (!j) return NULL;
    if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8)) {
        /* BASE/storage/ + CONTAINER/PATH + ?TOKEN, as a job status gives them */
        const char *host = strstr(loc, "://") + 3;
        const char *st = strstr(host, "/storage/");
        const char *q = strchr(loc, '?');
        if (!st || (q && q < st) || !st[9] || st + 9 == q) {
            rl_cli_usage(cmd,
                         "--location '%.*s' is not a URL of relearnd's blob store "
                         "(http://HOST/storage/CONTAINER/PATH[?TOKEN])",
                         (int)strcspn(loc, "?"), loc);
            json_decref(j);
            return NULL;
        }
        char *base = rl_strndup(loc, (size_t)(st + 9 - loc));
        rel = unescape_dup(st + 9, q ? (size_t)(q - (st + 9)) : strlen(st + 9));
        if (!base || !rel || json_object_set_new(j, "BaseLocation", json_string(base))) {
            rl_free(base);
            goto oom;
        }
        rl_free(base);
        if (!tok && q) tok = q;
    } else {
        if (blob_path_arg(cmd, &loc)) {
            json_decref(j);
            return NULL;
        }
        if (!(rel = rl_strdup(loc))) goto oom;
    }
    if (json_object_set_new(j, "RelativeLocation", json_string(rel))) goto oom;
    if (tok && *tok) {
        char *t = NULL;
        if (target(&t, NULL, "%s%s", *tok == '?' ? "" : "?", tok) ||
            json_object_set_new(j, "SasBlobToken", json_string(t))) {
            rl_free(t);
            goto oom;
        }
        rl_free(t);
    }
    rl_free(rel);
    return j;
oom:
    fprintf(stderr, "relearn %s: out of memory\n", cmd);
    rl_free(rel);
    json_decref(j);
    return NULL;
}

static int endpoint_update_resource(int argc, char **argv)
{
    static const struct option opts[] = {{"location", required_argument, 0, 'l'},
                                         {"resource-name", required_argument, 0, 'r'},
                                         {"sas-token", required_argument, 0, 's'},
                                         COMMON_OPTS,
                                         {0, 0, 0, 0}};
    const char *cmd = "endpoint update-resource", *resource = NULL, *token = NULL;
    char *loc = NULL;
    svc_opts o = {0};
    int c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, ENDPOINT_UPDATE_HELP, argc, argv, opts, &o, &r)) != -1) {
        switch (c) {
        case 'l':
            loc = optarg;
            break;
        case 'r':
            resource = optarg;
            break;
        case 's':
            token = optarg;
            break;
        }
    }
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 2, "expected SERVICE NAME", &o)) >= 0) return r;
    if (!loc) return rl_cli_usage(cmd, "--location is required");
    const char *id = argv[optind], *name = argv[optind + 1];
    json_t *location = location_arg(cmd, loc, token);
    if (!location) return 2;
    rl_error err;
    rl_error_clear(&err);
    json_t *svc = NULL, *body = NULL;
    int rc = RL_OK;
    if (!resource) { /* the service's one updatable resource */
        rc = token_call(&o, "GET", NULL, &svc, &err, "/workspaces/%e/webservices/%e", o.workspace,
                        id);
        if (rc) rl_error_wrap(&err, "looking up the resource name of service %s", id);
        /* A training service has none: relearnd says so. */
        resource = jstr(svc, "ResourceName");
    }
    if (!rc)
        body = json_pack("{s:[{s:s, s:O}]}", "Resources", "Name", resource, "Location", location);
    r = rc ? rl_cli_fail(cmd, &err)
           : endpoint_call(cmd, &o, id, name, "PATCH", "", body, "updated");
    json_decref(svc);
    json_decref(location);
    return r;
}

/* The headline metric of an evaluation, into out ("" when none). */
static void headline_metric(const json_t *ev, char *out, size_t size)
{
    static const char *const names[] = {"AUC", "Accuracy", "Overall Accuracy",
                                        "Coefficient of Determination"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const json_t *v = json_object_get(ev, names[i]);
        if (json_is_number(v)) {
            snprintf(out, size, "%s %.4f", names[i], json_number_value(v));
            return;
        }
    }
}

static void show_history(const svc_opts *o, char **args, const json_t *ans)
{
    (void)o;
    (void)args;
    printf("%-4s %-20s %-17s %-32s %s\n", "SEQ", "TIME", "ACTION", "JOB", "MODEL");
    size_t i;
    json_t *h;
    json_array_foreach(ans, i, h)
    {
        const json_t *m = json_object_get(h, "Model");
        char metric[64];
        headline_metric(json_object_get(h, "Evaluation"), metric, sizeof metric);
        printf("%-4lld %-20s %-17s %-32s %s\n",
               (long long)json_integer_value(json_object_get(h, "Seq")), jstr(h, "Time"),
               jstr(h, "Action"), *jstr(h, "JobId") ? jstr(h, "JobId") : "-",
               json_is_object(m) ? jstr(m, "RelativeLocation") : "-");
        printf("     by %s", jstr(h, "Credential"));
        if (json_is_object(m)) printf(", sha256 %s", jstr(m, "Sha256"));
        if (*metric) printf(", %s", metric);
        printf("\n");
    }
}

static int endpoint_history(int argc, char **argv)
{
    return get_and_show("endpoint history", ENDPOINT_HISTORY_HELP, argc, argv, 2,
                        "/workspaces/%e/webservices/%e/endpoints/%e/history", show_history);
}

static int endpoint_rollback(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, 0, 't'}, COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "endpoint rollback";
    unsigned long long seq = 0;
    svc_opts o = {0};
    int c, r = -1;
    optind = 0;
    while ((c = next_opt(cmd, ENDPOINT_ROLLBACK_HELP, argc, argv, opts, &o, &r)) != -1) {
        if (c == 't' && (rl_cli_parse_u64(optarg, &seq) || seq == 0 || seq > (1ULL << 53)))
            return rl_cli_usage(cmd,
                                "--to takes the SEQ of a history entry (1, 2, ...), "
                                "got '%s'",
                                optarg);
    }
    if (r >= 0) return r;
    if ((r = args_done(cmd, argc, 2, "expected SERVICE NAME", &o)) >= 0) return r;
    return endpoint_call(cmd, &o, argv[optind], argv[optind + 1], "POST", "/rollback",
                         seq ? json_pack("{s:I}", "Seq", (json_int_t)seq) : json_object(),
                         "rolled back");
}

int rl_cmd_endpoint(int argc, char **argv)
{
    static const subcommand subs[] = {
        {"add", endpoint_add},         {"list", endpoint_list},
        {"show", endpoint_show},       {"rm", endpoint_rm},
        {"refresh", endpoint_refresh}, {"update-resource", endpoint_update_resource},
        {"history", endpoint_history}, {"rollback", endpoint_rollback}};
    return dispatch("endpoint", ENDPOINT_HELP, subs, 8, argc, argv);
}
