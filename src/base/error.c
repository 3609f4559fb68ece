/* error.c - rl_error: codes, messages and context. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rl_error_clear(rl_error *err)
{
    if (!err) return;
    err->code = RL_OK;
    err->msg[0] = '\0';
}

int rl_error_set(rl_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    if (!err->msg[0]) snprintf(err->msg, sizeof err->msg, "%s", rl_error_name(code));
    return code;
}

int rl_error_wrap(rl_error *err, const char *fmt, ...)
{
    if (!err) return RL_EINTERNAL;
    char out[RL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
    /* ": " and as much of the old message as fits; truncation is fine. */
    size_t room = sizeof out - 1 - used;
    size_t oldlen = strlen(err->msg);
    if (room >= 2) {
        memcpy(out + used, ": ", 2);
        used += 2;
        room -= 2;
        size_t k = oldlen < room ? oldlen : room;
        memcpy(out + used, err->msg, k);
        used += k;
    }
    out[used] = '\0';
    memcpy(err->msg, out, used + 1);
    return err->code;
}

const char *rl_error_name(int code)
{
    switch (code) {
    case RL_OK: return "ok";
    case RL_ENOMEM: return "out-of-memory";
    case RL_EINVAL: return "invalid-argument";
    case RL_EIO: return "io-error";
    case RL_EPARSE: return "parse-error";
    case RL_EFORMAT: return "bad-format";
    case RL_ENOTFOUND: return "not-found";
    case RL_ESCHEMA: return "schema-mismatch";
    case RL_ELIB: return "library-error";
    case RL_EEXIST: return "already-exists";
    case RL_ESTATE: return "wrong-state";
    case RL_EAUTH: return "unauthorized";
    case RL_EFORBIDDEN: return "forbidden";
    case RL_ETOOBIG: return "too-big";
    case RL_EBUSY: return "busy";
    case RL_EINTERNAL: return "internal-error";
    case RL_ECANCELED: return "canceled";
    default: return "unknown-error";
    }
}
