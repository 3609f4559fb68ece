/* error.h - the one error convention of relearn.
 *
 * Every fallible function returns an int: RL_OK (0) on success or a negative
 * RL_E* code, and fills the rl_error passed as its last argument with a message
 * that says what went wrong, where (file, line, column, field, route) and how
 * to fix it. The error argument may be NULL when the caller only wants the code.
 * Out-parameters are written only on success.
 *
 * Errors become user-visible in exactly two places: rl_cli_fail() maps them to
 * CLI messages and exit codes, the HTTP layer to a status and JSON body.
 *
 * Thread safety: an rl_error belongs to its caller; nothing here is global.
 */
#ifndef RL_BASE_ERROR_H
#define RL_BASE_ERROR_H

#include <stddef.h>

enum {
    RL_OK = 0,
    RL_ENOMEM = -1,     /* out of memory */
    RL_EINVAL = -2,     /* bad argument or parameter given by the user */
    RL_EIO = -3,        /* a file or socket could not be read or written */
    RL_EPARSE = -4,     /* malformed input data (CSV, TSV, ARFF, JSON) */
    RL_EFORMAT = -5,    /* a file of ours that is truncated, corrupt, foreign or newer */
    RL_ENOTFOUND = -6,  /* a named thing (file, column, service, job) does not exist */
    RL_ESCHEMA = -7,    /* data whose columns or types do not fit what is expected */
    RL_ELIB = -8,       /* a third-party library (XGBoost, liblinear, LAPACK) failed */
    RL_EEXIST = -9,     /* the named thing exists already */
    RL_ESTATE = -10,    /* the operation is not allowed in the current state */
    RL_EAUTH = -11,     /* missing or wrong credentials */
    RL_EFORBIDDEN = -12,/* credentials of something else */
    RL_ETOOBIG = -13,   /* input over a configured limit */
    RL_EBUSY = -14,     /* throttled or temporarily unavailable */
    RL_EINTERNAL = -15, /* a fault of relearn itself */
    RL_ECANCELED = -16, /* the operation was cancelled */
};

#define RL_ERROR_MSG_MAX 1024

typedef struct rl_error {
    int code;                   /* RL_OK or one of RL_E* */
    char msg[RL_ERROR_MSG_MAX]; /* NUL-terminated, never empty when code != RL_OK */
} rl_error;

/* Clears err (code RL_OK, empty message). err may be NULL. */
void rl_error_clear(rl_error *err);

/* Sets err to code and a printf-formatted message; returns code so that
 * callers can write `return rl_error_set(err, RL_EINVAL, "...", ...);`.
 * err may be NULL. */
int rl_error_set(rl_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts a printf-formatted context before err's message ("reading x.csv: ...").
 * Returns err->code. err may be NULL. */
int rl_error_wrap(rl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A short stable name for a code ("invalid-argument", "parse-error", ...). */
const char *rl_error_name(int code);

#endif
