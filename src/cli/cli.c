/* cli.c - command dispatch, help, and the mapping of errors to exit codes. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", rl_cmd_train, "train a model on a data file (the standard pipeline)"},
    {"score", rl_cmd_score, "score a data file with a trained model"},
    {"evaluate", rl_cmd_evaluate, "compute evaluation metrics of a scored data file"},
    {"run", rl_cmd_run, "run an experiment graph (JSON)"},
    {"model", rl_cmd_model, "inspect a trained model file (model show MODEL)"},
    {"generate", rl_cmd_generate, "generate census-like data (generate census ...)"},
    {"modules", rl_cmd_modules, "list modules, learners and their parameters"},
    {"publish", rl_cmd_publish, "publish a model as a web service on relearnd"},
    {"service", rl_cmd_service, "web services: list, show, export and import definitions"},
    {"endpoint", rl_cmd_endpoint, "endpoints: add, update-resource, history, rollback..."},
    {"key", rl_cmd_key, "regenerate an endpoint key (key regenerate SERVICE_ID)"},
    {"blob", rl_cmd_blob, "files in relearnd's blob store (blob put|get|ls|rm|sign)"},
    {"job", rl_cmd_job, "batch jobs (job submit|start|status|wait|list|cancel)"},
};

int rl_cli_is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: relearn COMMAND [OPTIONS]\n\n"
               "Train, score and evaluate models; run experiments; publish them as web\n"
               "services on relearnd and run batch jobs.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nRun `relearn COMMAND --help` for a command's options.\n"
               "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input data, 4 not found or I/O,\n"
               "5 refused by the server, 6 server busy.\n");
}

int rl_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (rl_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("relearn 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "relearn: unknown command '%s'; run `relearn --help` for the list\n", argv[1]);
    return 2;
}

int rl_cli_fail(const char *cmd, const rl_error *err)
{
    fprintf(stderr, "relearn %s: %s\n", cmd, err->msg[0] ? err->msg : rl_error_name(err->code));
    switch (err->code) {
    case RL_OK: return 0;
    case RL_EINVAL: return 2;
    case RL_EPARSE:
    case RL_ESCHEMA:
    case RL_EFORMAT: return 3;
    case RL_ENOTFOUND:
    case RL_EIO: return 4;
    case RL_EAUTH:
    case RL_EFORBIDDEN: return 5;
    case RL_EBUSY: return 6;
    default: return 1;
    }
}

int rl_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "relearn %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see `relearn %s --help`\n", cmd);
    return 2;
}

void rl_cli_print_json(json_t *j)
{
    if (!j) return;
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    fputc('\n', stdout);
    json_decref(j);
}
