/* cli.h - the `relearn` command line: commands, their options and the one
 * place where errors become messages and exit codes.
 *
 * Each command is a function taking its own argv (argv[0] is the command
 * name); it parses options with getopt_long, prints --help, and returns an
 * exit code. Errors leave through rl_cli_fail(), which prints
 * "relearn COMMAND: MESSAGE" to stderr and maps the error code to the exit
 * code below.
 *
 * Exit codes: 0 success; 1 other failure; 2 usage (bad option or parameter);
 * 3 bad input data or file (parse, schema, format); 4 not found or I/O;
 * 5 refused by the server (authentication, permission); 6 server busy.
 *
 * Thread safety: main thread only.
 */
#ifndef RL_CLI_CLI_H
#define RL_CLI_CLI_H

#include "base/error.h"

#include <jansson.h>

/* The whole CLI: argv as main() received it. Returns the exit code. */
int rl_cli_main(int argc, char **argv);

/* Prints err for command cmd and returns its exit code. */
int rl_cli_fail(const char *cmd, const rl_error *err);
/* Prints a usage error ("relearn CMD: MSG; see relearn CMD --help") and returns 2. */
int rl_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints j to stdout (indented, a newline after) and takes its reference. */
void rl_cli_print_json(json_t *j);
/* Whether s is exactly "--help" or "-h". */
int rl_cli_is_help(const char *s);

/* Commands (cmd_engine.c). */
int rl_cmd_train(int argc, char **argv);
int rl_cmd_score(int argc, char **argv);
int rl_cmd_evaluate(int argc, char **argv);
int rl_cmd_run(int argc, char **argv);
int rl_cmd_model(int argc, char **argv);
int rl_cmd_generate(int argc, char **argv);
int rl_cmd_modules(int argc, char **argv);

/* Commands that talk to relearnd (cmd_service.c, over client.h). */
int rl_cmd_publish(int argc, char **argv);
int rl_cmd_service(int argc, char **argv);
int rl_cmd_key(int argc, char **argv);
int rl_cmd_blob(int argc, char **argv);
int rl_cmd_job(int argc, char **argv);
int rl_cmd_endpoint(int argc, char **argv);

#endif
