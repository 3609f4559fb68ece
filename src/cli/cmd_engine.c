/* cmd_engine.c - the engine's commands: train, score, evaluate, run, model,
 * generate, modules. Each parses its options, calls the engine and reports
 * through rl_cli_fail. */
#include "base/fs.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/util.h"
#include "data/census.h"
#include "data/io.h"
#include "experiment/experiment.h"
#include "learners/learner.h"
#include "model/model.h"
#include "modules/evaluate.h"
#include "modules/split.h"
#include "modules/transform.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_MULTI 256

/* --type COL=TYPE options, collected. */
typedef struct type_opts {
    rl_type_override ov[MAX_MULTI];
    size_t n;
} type_opts;

static int add_type(const char *cmd, type_opts *t, char *arg)
{
    char *eq = strrchr(arg, '=');
    if (!eq || eq == arg || t->n == MAX_MULTI)
        return rl_cli_usage(cmd, "--type takes COLUMN=TYPE (numeric, boolean, string or "
                                 "categorical), got '%s'",
                            arg);
    *eq = '\0';
    if (rl_type_parse(eq + 1, &t->ov[t->n].type, &t->ov[t->n].flags))
        return rl_cli_usage(cmd, "unknown type '%s' for column '%s' (use numeric, boolean, "
                                 "string or categorical)",
                            eq + 1, arg);
    t->ov[t->n++].column = arg;
    return 0;
}

static int read_table(const char *path, const type_opts *t, rl_table **out, rl_error *err)
{
    rl_read_opts o = {0};
    o.overrides = t ? t->ov : NULL;
    o.noverrides = t ? t->n : 0;
    return rl_table_read_file(path, &o, out, err);
}

/* Writes JSON to path ("-": stdout). */
static int write_json(const char *path, json_t *j, rl_error *err)
{
    if (strcmp(path, "-") == 0) {
        rl_cli_print_json(json_incref(j));
        return RL_OK;
    }
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    if (!text) return rl_error_set(err, RL_ENOMEM, "out of memory");
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = rl_file_write_atomic(path, text, n + 1, 0, err);
    free(text);
    return rc;
}

/* ---- train ---- */

static const char TRAIN_HELP[] =
    "usage: relearn train DATA --label COL [--learner NAME] [--param KEY=VALUE]...\n"
    "                     --model-out MODEL [--test-fraction F] [--seed S]\n"
    "                     [--evaluation-out EVAL.json] [--type COL=TYPE]... [--name NAME]\n"
    "                     [--json] [--quiet]\n\n"
    "Trains a model with the standard pipeline: Clean Missing Data (numeric columns\n"
    "with the mean, others with the mode, fitted on the training rows), Normalize\n"
    "Data (z-score of numeric features, for linear learners), Train Model. With\n"
    "--test-fraction, a seeded random share of the rows is held out, scored and\n"
    "evaluated, and the metrics are stored in the model.\n\n"
    "  DATA                 CSV, TSV or ARFF file (by extension)\n"
    "  --label COL          the column to predict\n"
    "  --learner NAME       a learner (`relearn modules`); default: two-class or\n"
    "                       multiclass boosted decision tree by the label's values,\n"
    "                       boosted decision tree regression for a numeric label\n"
    "                       with many values\n"
    "  --param KEY=VALUE    a learner parameter (repeatable)\n"
    "  --model-out MODEL    where to write the trained model (.ilearner)\n"
    "  --test-fraction F    share of rows held out for evaluation (0 <= F < 1; 0)\n"
    "  --seed S             seed of the split (0)\n"
    "  --evaluation-out F   write the evaluation JSON there (needs --test-fraction)\n"
    "  --type COL=TYPE      force a column's type: numeric, boolean, string, categorical\n"
    "  --name NAME          the model's name (default: the data file's name)\n"
    "  --json               print a JSON summary on stdout\n"
    "  --quiet              print nothing on success\n";

static int is_linear(const rl_learner_kind *k)
{
    return strcmp(k->library, "xgboost") != 0;
}

/* Appends a fitted transform of module with params to the chain, replacing
 * *t with its output. Skipped when the selector matches no column. */
static int pipeline_step(const char *module, json_t *params, rl_table **t,
                         rl_transform **chain, size_t *n, rl_error *err)
{
    rl_table *next = NULL;
    rl_transform *tr = NULL;
    int rc = rl_transform_fit_apply(module, params, *t, &tr, &next, err);
    json_decref(params);
    if (rc) return rc;
    chain[(*n)++] = tr;
    rl_table_free(*t);
    *t = next;
    return RL_OK;
}

static int has_type(const rl_table *t, const char *label, int numeric)
{
    for (size_t j = 0; j < rl_table_ncols(t); j++) {
        const rl_column *c = rl_table_col(t, j);
        if (strcmp(c->name, label) == 0) continue;
        if ((c->type == RL_TYPE_NUMERIC) == numeric) return 1;
    }
    return 0;
}

int rl_cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"label", required_argument, 0, 'l'},     {"learner", required_argument, 0, 'L'},
        {"param", required_argument, 0, 'p'},     {"model-out", required_argument, 0, 'o'},
        {"test-fraction", required_argument, 0, 'f'}, {"seed", required_argument, 0, 's'},
        {"evaluation-out", required_argument, 0, 'e'}, {"type", required_argument, 0, 't'},
        {"name", required_argument, 0, 'n'},      {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *label = NULL, *learner = NULL, *model_out = NULL, *eval_out = NULL,
               *name = NULL;
    char *params[MAX_MULTI];
    size_t nparams = 0;
    double fraction = 0;
    unsigned long long seed = 0;
    int json_out = 0, quiet = 0, c;
    type_opts types = {.n = 0};
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': label = optarg; break;
        case 'L': learner = optarg; break;
        case 'p':
            if (nparams == MAX_MULTI) return rl_cli_usage("train", "too many --param options");
            params[nparams++] = optarg;
            break;
        case 'o': model_out = optarg; break;
        case 'f':
            if (rl_cli_parse_double(optarg, &fraction) || fraction < 0 || fraction >= 1)
                return rl_cli_usage("train", "--test-fraction must be a number in [0, 1), got "
                                             "'%s'",
                                    optarg);
            break;
        case 's':
            if (rl_cli_parse_u64(optarg, &seed))
                return rl_cli_usage("train", "--seed must be a non-negative integer, got '%s'",
                                    optarg);
            break;
        case 'e': eval_out = optarg; break;
        case 't':
            if (add_type("train", &types, optarg)) return 2;
            break;
        case 'n': name = optarg; break;
        case 'j': json_out = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(TRAIN_HELP, stdout); return 0;
        default: return rl_cli_usage("train", "unknown option");
        }
    }
    if (optind != argc - 1)
        return rl_cli_usage("train", optind >= argc ? "DATA is required"
                                                    : "exactly one DATA file is expected");
    if (!label) return rl_cli_usage("train", "--label is required");
    if (!model_out) return rl_cli_usage("train", "--model-out is required");
    if (eval_out && fraction == 0)
        return rl_cli_usage("train", "--evaluation-out needs --test-fraction (e.g. 0.25)");
    const char *data = argv[optind];

    rl_error err;
    rl_error_clear(&err);
    rl_table *all = NULL, *train = NULL, *test = NULL, *scored = NULL, *work = NULL;
    rl_transform *chain[4] = {0};
    size_t nchain = 0;
    rl_model *m = NULL;
    json_t *eval = NULL;
    int rc;
    double t0 = rl_cli_now_s();

    if ((rc = read_table(data, &types, &all, &err))) goto fail;
    long li = rl_table_find(all, label);
    if (li < 0) {
        rl_buf cols = RL_BUF_INIT;
        for (size_t j = 0; j < rl_table_ncols(all) && j < 50; j++)
            rl_buf_printf(&cols, "%s'%s'", j ? ", " : "", rl_table_col(all, j)->name);
        rc = rl_error_set(&err, RL_ESCHEMA, "%s has no column '%s'; its columns are %s", data,
                          label, cols.data ? cols.data : "(none)");
        rl_buf_fini(&cols);
        goto fail;
    }
    const rl_learner_kind *kind =
        learner ? rl_learner_find(learner) : rl_learner_default_for(rl_table_col(all, (size_t)li));
    if (!kind) {
        rc = rl_error_set(&err, RL_EINVAL, "unknown learner '%s'; `relearn modules` lists them",
                          learner);
        goto fail;
    }
    rl_params lp;
    rl_params_default(kind, &lp);
    for (size_t i = 0; i < nparams; i++) {
        char *eq = strchr(params[i], '=');
        if (!eq) {
            rc = rl_error_set(&err, RL_EINVAL, "--param takes KEY=VALUE, got '%s'", params[i]);
            goto fail;
        }
        *eq = '\0';
        if ((rc = rl_params_set(kind, &lp, params[i], eq + 1, &err))) goto fail;
    }
    if (fraction > 0) {
        json_t *sp = json_pack("{s:f, s:b, s:I}", "fraction", 1.0 - fraction, "randomized-split",
                               1, "random-seed", (json_int_t)seed);
        rc = rl_split(all, sp, &train, &test, &err);
        json_decref(sp);
        if (rc) goto fail;
        if (!rl_table_nrows(train) || !rl_table_nrows(test)) {
            rc = rl_error_set(&err, RL_EINVAL, "--test-fraction %g leaves %s rows empty; use more "
                              "data or another fraction", fraction,
                              rl_table_nrows(train) ? "the test" : "the training");
            goto fail;
        }
    } else {
        train = rl_table_dup(all);
        if (!train) goto oom;
    }

    /* The standard pipeline, fitted on the training rows. */
    work = rl_table_dup(train);
    if (!work) goto oom;
    if (has_type(work, label, 1) &&
        (rc = pipeline_step("Clean Missing Data",
                            json_pack("{s:{s:[s], s:[s]}, s:s}", "columns", "types", "numeric",
                                      "exclude", label, "cleaning-mode", "replace-with-mean"),
                            &work, chain, &nchain, &err)))
        goto fail;
    if (has_type(work, label, 0) &&
        (rc = pipeline_step("Clean Missing Data",
                            json_pack("{s:{s:[s,s], s:[s]}, s:s}", "columns", "types", "string",
                                      "boolean", "exclude", label, "cleaning-mode",
                                      "replace-with-mode"),
                            &work, chain, &nchain, &err)))
        goto fail;
    if (is_linear(kind) && has_type(work, label, 1) &&
        (rc = pipeline_step("Normalize Data",
                            json_pack("{s:{s:[s], s:[s]}, s:s}", "columns", "types", "numeric",
                                      "exclude", label, "transformation-method", "zscore"),
                            &work, chain, &nchain, &err)))
        goto fail;

    const char *base = strrchr(data, '/');
    rl_train_spec spec = {name ? name : base ? base + 1 : data, kind, &lp, label, chain, nchain,
                          train};
    double t1 = rl_cli_now_s();
    if ((rc = rl_model_train(&spec, work, &m, &err))) goto fail;
    double train_s = rl_cli_now_s() - t1;

    if (test) {
        if ((rc = rl_model_score(m, test, 0, &scored, &err))) goto fail;
        if ((rc = rl_evaluate(scored, label, &eval, &err))) goto fail;
        rl_model_set_metrics(m, eval);
        if (eval_out && (rc = write_json(eval_out, eval, &err))) goto fail;
    }
    if ((rc = rl_model_save_file(m, model_out, &err))) goto fail;

    json_t *summary = json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:O}", "model", model_out,
                                "learner", kind->name, "training_rows",
                                (json_int_t)rl_table_nrows(train), "test_rows",
                                (json_int_t)(test ? rl_table_nrows(test) : 0), "train_seconds",
                                train_s, "total_seconds", rl_cli_now_s() - t0, "evaluation",
                                eval ? eval : json_null());
    if (json_out) {
        rl_cli_print_json(summary);
    } else {
        json_decref(summary);
        if (!quiet) {
            fprintf(stderr, "relearn train: %s on %zu rows in %.2f s -> %s\n", kind->name,
                    rl_table_nrows(train), train_s, model_out);
            json_t *auc = json_object_get(eval, "AUC");
            json_t *acc = json_object_get(eval, "Overall accuracy");
            json_t *r2 = json_object_get(eval, "Coefficient of Determination");
            if (auc || acc || r2)
                fprintf(stderr, "relearn train: %s %.4f on %zu test rows\n",
                        auc ? "AUC" : acc ? "Overall accuracy" : "Coefficient of Determination",
                        json_number_value(auc ? auc : acc ? acc : r2), rl_table_nrows(test));
        }
    }
    rc = 0;
    goto done;
oom:
    rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
fail:
    rc = rl_cli_fail("train", &err);
done:
    for (size_t i = 0; i < nchain; i++) rl_transform_unref(chain[i]);
    rl_table_free(all);
    rl_table_free(train);
    rl_table_free(test);
    rl_table_free(work);
    rl_table_free(scored);
    rl_model_unref(m);
    json_decref(eval);
    return rc;
}

/* ---- score ---- */

static const char SCORE_HELP[] =
    "usage: relearn score MODEL DATA [--out SCORED] [--type COL=TYPE]...\n\n"
    "Scores DATA with MODEL: the fitted transforms are replayed, and the input\n"
    "columns are written followed by \"Scored Labels\" and the scored\n"
    "probabilities. The output format follows --out's extension (.csv, .tsv,\n"
    ".arff); without --out, CSV goes to standard output.\n";

int rl_cmd_score(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"type", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = "-";
    type_opts types = {.n = 0};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't':
            if (add_type("score", &types, optarg)) return 2;
            break;
        case 'h': fputs(SCORE_HELP, stdout); return 0;
        default: return rl_cli_usage("score", "unknown option");
        }
    }
    if (argc - optind != 2) return rl_cli_usage("score", "MODEL and DATA are required");
    rl_error err;
    rl_error_clear(&err);
    rl_model *m = NULL;
    rl_table *in = NULL, *scored = NULL;
    int rc = rl_model_load_file(argv[optind], &m, &err);
    if (!rc) rc = read_table(argv[optind + 1], &types, &in, &err);
    if (!rc) rc = rl_model_score(m, in, 0, &scored, &err);
    if (!rc) rc = rl_table_write_file(out, RL_FMT_AUTO, scored, &err);
    rl_model_unref(m);
    rl_table_free(in);
    rl_table_free(scored);
    return rc ? rl_cli_fail("score", &err) : 0;
}

/* ---- evaluate ---- */

static const char EVALUATE_HELP[] =
    "usage: relearn evaluate SCORED --label COL [--out EVAL.json]\n\n"
    "Computes Evaluate Model's metrics for a scored data file (as written by\n"
    "`relearn score`): two-class, multiclass or regression, by the scored columns.\n"
    "Prints the JSON, or writes it to --out.\n";

int rl_cmd_evaluate(int argc, char **argv)
{
    static const struct option opts[] = {{"label", required_argument, 0, 'l'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *label = NULL, *out = "-";
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': label = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(EVALUATE_HELP, stdout); return 0;
        default: return rl_cli_usage("evaluate", "unknown option");
        }
    }
    if (argc - optind != 1) return rl_cli_usage("evaluate", "SCORED is required");
    if (!label) return rl_cli_usage("evaluate", "--label is required");
    rl_error err;
    rl_error_clear(&err);
    rl_table *t = NULL;
    json_t *ev = NULL;
    int rc = read_table(argv[optind], NULL, &t, &err);
    if (!rc) rc = rl_evaluate(t, label, &ev, &err);
    if (!rc) rc = write_json(out, ev, &err);
    rl_table_free(t);
    json_decref(ev);
    return rc ? rl_cli_fail("evaluate", &err) : 0;
}

/* ---- run ---- */

static const char RUN_HELP[] =
    "usage: relearn run EXPERIMENT.json [--input NAME=FILE]... [--output NAME=FILE]...\n"
    "                   [--predictive-out FILE.json]\n\n"
    "Validates and runs an experiment graph (docs/experiments.md).\n"
    "  --input NAME=FILE    data for Web Service Input NAME (CSV, TSV, ARFF), or a\n"
    "                       trained model (.ilearner) for Trained Model resource NAME\n"
    "  --output NAME=FILE   where Web Service Output NAME goes: a dataset by the\n"
    "                       extension (.csv, .tsv, .arff), a trained model (.ilearner),\n"
    "                       evaluation results (.json, or .csv for one row of metrics)\n"
    "  --predictive-out F   also write the predictive experiment (Set Up Web Service)\n"
    "Outputs without --output are printed: evaluations as JSON, a lone dataset as CSV.\n";

static int write_output(const rl_output *o, const char *file, rl_error *err)
{
    const char *ext = rl_path_ext(file);
    switch (o->kind) {
    case RL_VALUE_TABLE:
        if (!strcasecmp(ext, "ilearner") || !strcasecmp(ext, "json"))
            return rl_error_set(err, RL_EINVAL, "output '%s' is a dataset; write it to a .csv, "
                                ".tsv or .arff file, not '%s'", o->name, file);
        return rl_table_write_file(file, RL_FMT_AUTO, o->table, err);
    case RL_VALUE_MODEL:
        if (strcasecmp(ext, "ilearner") != 0)
            return rl_error_set(err, RL_EINVAL, "output '%s' is a trained model; write it to a "
                                ".ilearner file, not '%s'", o->name, file);
        return rl_model_save_file(o->model, file, err);
    case RL_VALUE_EVALUATION:
        if (!strcasecmp(ext, "json") || !strcmp(file, "-")) return write_json(file, o->evaluation, err);
        if (rl_format_from_path(file) != RL_FMT_AUTO) {
            rl_table *t;
            int rc = rl_evaluation_to_table(o->evaluation, &t, err);
            if (rc) return rc;
            rc = rl_table_write_file(file, RL_FMT_AUTO, t, err);
            rl_table_free(t);
            return rc;
        }
        return rl_error_set(err, RL_EINVAL, "output '%s' is an evaluation; write it to a .json "
                            "or .csv file, not '%s'", o->name, file);
    }
    return rl_error_set(err, RL_EINTERNAL, "output '%s' has no value", o->name);
}

int rl_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                         {"output", required_argument, 0, 'o'},
                                         {"predictive-out", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char *in_name[MAX_MULTI], *in_file[MAX_MULTI], *out_name[MAX_MULTI], *out_file[MAX_MULTI];
    size_t nin = 0, nout = 0;
    const char *predictive_out = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (nin == MAX_MULTI ||
                rl_cli_split_binding("run", "FILE", optarg, &in_name[nin], &in_file[nin]))
                return 2;
            nin++;
            break;
        case 'o':
            if (nout == MAX_MULTI ||
                rl_cli_split_binding("run", "FILE", optarg, &out_name[nout], &out_file[nout]))
                return 2;
            nout++;
            break;
        case 'p': predictive_out = optarg; break;
        case 'h': fputs(RUN_HELP, stdout); return 0;
        default: return rl_cli_usage("run", "unknown option");
        }
    }
    if (argc - optind != 1) return rl_cli_usage("run", "EXPERIMENT.json is required");
    rl_error err;
    rl_error_clear(&err);
    rl_experiment *e = NULL, *pred = NULL;
    rl_binding b[MAX_MULTI];
    rl_table *tables[MAX_MULTI] = {0};
    rl_model *models[MAX_MULTI] = {0};
    rl_run_result *res = NULL;
    int rc = rl_experiment_load_file(argv[optind], 1, &e, &err);
    if (rc) goto done;
    for (size_t i = 0; i < nin; i++) {
        b[i].name = in_name[i];
        b[i].table = NULL;
        b[i].model = NULL;
        if (!strcasecmp(rl_path_ext(in_file[i]), "ilearner")) {
            if ((rc = rl_model_load_file(in_file[i], &models[i], &err))) goto done;
            b[i].model = models[i];
        } else {
            if ((rc = read_table(in_file[i], NULL, &tables[i], &err))) goto done;
            b[i].table = tables[i];
        }
    }
    for (size_t i = 0; i < nout; i++) {
        size_t k = 0;
        while (k < rl_experiment_noutputs(e) && strcmp(rl_experiment_output(e, k), out_name[i]))
            k++;
        if (k == rl_experiment_noutputs(e)) {
            rc = rl_error_set(&err, RL_EINVAL, "--output %s: the experiment has no Web Service "
                              "Output of that name", out_name[i]);
            goto done;
        }
    }
    if (predictive_out) {
        if ((rc = rl_experiment_to_predictive(e, &pred, &err))) goto done;
        json_t *pj = rl_experiment_to_json(pred);
        rc = pj ? write_json(predictive_out, pj, &err) : rl_error_set(&err, RL_ENOMEM, "out of memory");
        json_decref(pj);
        if (rc) goto done;
    }
    rl_run_opts ro = {b, nin, NULL, NULL, NULL};
    if ((rc = rl_experiment_run(e, &ro, &res, &err))) goto done;
    size_t unbound_tables = 0;
    for (size_t k = 0; k < res->noutputs; k++) {
        const rl_output *o = &res->outputs[k];
        const char *file = NULL;
        for (size_t i = 0; i < nout; i++)
            if (!strcmp(out_name[i], o->name)) file = out_file[i];
        if (file) {
            if ((rc = write_output(o, file, &err))) goto done;
        } else if (o->kind == RL_VALUE_EVALUATION) {
            rl_cli_print_json(json_incref(o->evaluation));
        } else if (o->kind == RL_VALUE_TABLE && ++unbound_tables == 1 && res->noutputs == 1) {
            if ((rc = rl_table_write_file("-", RL_FMT_CSV, o->table, &err))) goto done;
        } else {
            rc = rl_error_set(&err, RL_EINVAL, "output '%s' needs a file: add --output %s=FILE%s",
                              o->name, o->name,
                              o->kind == RL_VALUE_MODEL ? " (a .ilearner)" : "");
            goto done;
        }
    }
done:
    for (size_t i = 0; i < nin; i++) {
        rl_table_free(tables[i]);
        rl_model_unref(models[i]);
    }
    rl_run_result_free(res);
    rl_experiment_free(e);
    rl_experiment_free(pred);
    return rc ? rl_cli_fail("run", &err) : 0;
}

/* ---- model show ---- */

int rl_cmd_model(int argc, char **argv)
{
    if (argc >= 2 && rl_cli_is_help(argv[1])) {
        fputs("usage: relearn model show MODEL\n\nPrints a trained model's schema, learner, "
              "parameters, label, transforms and\ntraining metadata as JSON.\n",
              stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "show") != 0)
        return rl_cli_usage("model", "expected `relearn model show MODEL`");
    rl_error err;
    rl_error_clear(&err);
    rl_model *m;
    if (rl_model_load_file(argv[2], &m, &err)) return rl_cli_fail("model", &err);
    rl_cli_print_json(rl_model_describe(m));
    rl_model_unref(m);
    return 0;
}

/* ---- generate census ---- */

static const char GENERATE_HELP[] =
    "usage: relearn generate census [--rows N] [--seed S] [--shift X] [--out FILE]\n\n"
    "Writes deterministic census-like data (the Adult sample's columns, missing\n"
    "values, and the binary label income). --shift (0..1, default 0) moves the\n"
    "distribution so that a model retrained on it differs. Defaults: 32561 rows,\n"
    "seed 1, CSV on standard output.\n";

int rl_cmd_generate(int argc, char **argv)
{
    static const struct option opts[] = {{"rows", required_argument, 0, 'r'},
                                         {"seed", required_argument, 0, 's'},
                                         {"shift", required_argument, 0, 'x'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    unsigned long long rows = 32561, seed = 1;
    double shift = 0;
    const char *out = "-";
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (rl_cli_parse_u64(optarg, &rows) || rows == 0 || rows > 1000000000ULL)
                return rl_cli_usage("generate", "--rows must be 1 to 1000000000, got '%s'",
                                    optarg);
            break;
        case 's':
            if (rl_cli_parse_u64(optarg, &seed))
                return rl_cli_usage("generate", "--seed must be a non-negative integer");
            break;
        case 'x':
            if (rl_cli_parse_double(optarg, &shift) || shift < 0 || shift > 1)
                return rl_cli_usage("generate", "--shift must be a number in [0, 1]");
            break;
        case 'o': out = optarg; break;
        case 'h': fputs(GENERATE_HELP, stdout); return 0;
        default: return rl_cli_usage("generate", "unknown option");
        }
    }
    if (argc - optind != 1 || strcmp(argv[optind], "census") != 0)
        return rl_cli_usage("generate", "the only generator is `census`");
    rl_error err;
    rl_error_clear(&err);
    rl_table *t = NULL;
    int rc = rl_census_generate((size_t)rows, seed, shift, &t, &err);
    if (!rc) rc = rl_table_write_file(out, RL_FMT_AUTO, t, &err);
    rl_table_free(t);
    return rc ? rl_cli_fail("generate", &err) : 0;
}

/* ---- modules ---- */

int rl_cmd_modules(int argc, char **argv)
{
    if (argc >= 2 && rl_cli_is_help(argv[1])) {
        fputs("usage: relearn modules [--json]\n\nLists the modules experiments can use and "
              "every learner with its parameters.\n",
              stdout);
        return 0;
    }
    static const char *const modules[] = {
        "Web Service Input", "Web Service Output", "Import Data", "Select Columns in Dataset",
        "Edit Metadata", "Clean Missing Data", "Normalize Data", "Split Data", "Train Model",
        "Score Model", "Evaluate Model", "Trained Model"};
    json_t *j = json_object(), *mods = json_array(), *learners = json_array();
    for (size_t i = 0; i < sizeof modules / sizeof *modules; i++)
        json_array_append_new(mods, json_string(modules[i]));
    for (const rl_learner_kind *const *k = rl_learner_all(); *k; k++) {
        json_t *ps = json_array();
        for (size_t i = 0; i < (*k)->nparams; i++) {
            const rl_param_spec *s = &(*k)->params[i];
            json_t *p = json_pack("{s:s, s:s}", "name", s->name, "help", s->help ? s->help : "");
            if (s->type == RL_PARAM_ENUM) {
                json_t *ch = json_array();
                for (const char *const *c = s->choices; *c; c++)
                    json_array_append_new(ch, json_string(*c));
                json_object_set_new(p, "choices", ch);
                json_object_set_new(p, "default", json_string(s->choices[(int)s->def]));
            } else if (s->type == RL_PARAM_BOOL) {
                json_object_set_new(p, "default", json_boolean(s->def != 0));
            } else {
                json_object_set_new(p, "default", json_real(s->def));
                json_object_set_new(p, "min", json_real(s->min));
                json_object_set_new(p, "max", json_real(s->max));
            }
            json_array_append_new(ps, p);
        }
        json_array_append_new(learners,
                              json_pack("{s:s, s:s, s:s, s:o}", "name", (*k)->name, "module",
                                        (*k)->studio_name, "library", (*k)->library, "params",
                                        ps));
    }
    json_object_set_new(j, "modules", mods);
    json_object_set_new(j, "learners", learners);
    if (argc >= 2 && strcmp(argv[1], "--json") == 0) {
        rl_cli_print_json(j);
        return 0;
    }
    printf("Modules:\n");
    for (size_t i = 0; i < json_array_size(mods); i++)
        printf("  %s\n", json_string_value(json_array_get(mods, i)));
    printf("\nLearners (module name; --learner NAME; --param KEY=VALUE):\n");
    size_t i;
    json_t *l;
    json_array_foreach(learners, i, l)
    {
        printf("  %s (%s, %s)\n", json_string_value(json_object_get(l, "name")),
               json_string_value(json_object_get(l, "module")),
               json_string_value(json_object_get(l, "library")));
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(l, "params"), k, p)
        {
            char *def = json_dumps(json_object_get(p, "default"), JSON_ENCODE_ANY);
            printf("      %-42s default %-8s %s\n", json_string_value(json_object_get(p, "name")),
                   def ? def : "", json_string_value(json_object_get(p, "help")));
            free(def);
        }
    }
    json_decref(j);
    return 0;
}
