/* reply.c - every answer leaves through here: JSON bodies, empty answers, and
 * errors in Studio's shape with the one table from rl_error codes to HTTP
 * statuses and Studio's error classes.
 *
 * Error messages quote what the client sent (paths, names); bytes that are
 * not UTF-8 are replaced with '?' first, so that a hostile path still gets
 * its 4xx in JSON rather than a failed json_pack. */
#include "http/internal.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rl_status_of(int code)
{
    switch (code) {
    case RL_OK: return 200;
    case RL_EINVAL:
    case RL_EPARSE:
    case RL_ESCHEMA:
    case RL_EFORMAT: return 400;
    case RL_EAUTH: return 401;
    case RL_EFORBIDDEN: return 403;
    case RL_ENOTFOUND: return 404;
    case RL_EEXIST:
    case RL_ESTATE: return 409;
    case RL_ETOOBIG: return 413;
    case RL_EBUSY: return 503;
    default: return 500;
    }
}

const char *rl_class_of(int status)
{
    switch (status) {
    case 400: return "BadArgument";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 503: return "RequestThrottled";
    default: return "InternalError";
    }
}

static const char *class_message(int status)
{
    switch (status) {
    case 400: return "Invalid argument provided.";
    case 401: return "Authorization is missing or invalid.";
    case 403: return "The credential does not grant access to this resource.";
    case 404: return "The resource was not found.";
    case 405: return "The method is not allowed on this resource.";
    case 409: return "The request conflicts with the resource's current state.";
    case 413: return "The request body is too large.";
    case 415: return "The request's content type is not supported.";
    case 503: return "Too many concurrent requests; retry later.";
    default: return "The server failed to handle the request.";
    }
}

/* Length of the well-formed UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80) return c ? 1 : 0;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void rl_utf8_scrub(char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t len = utf8_len((const unsigned char *)s + i, n - i);
        if (!len) {
            s[i] = '?';
            len = 1;
        }
        i += len;
    }
}

static enum MHD_Result queue(rl_req *r, int status, struct MHD_Response *resp, const char *ctype)
{
    if (!resp) return MHD_NO;
    if (ctype) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == 503) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->answered = 1;
    return rc;
}

enum MHD_Result rl_reply_text(rl_req *r, int status, const char *ctype, char *data, size_t len)
{
    /* data was allocated with rl_malloc (malloc) or jansson (malloc): free() it. */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE
                                                                            : MHD_RESPMEM_PERSISTENT);
    if (!resp) free(data);
    r->sent = len;
    return queue(r, status, resp, ctype);
}

enum MHD_Result rl_reply_json(rl_req *r, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (!text) return rl_reply_error(r, 500, "OutOfMemory", "out of memory writing the answer");
    return rl_reply_text(r, status, "application/json; charset=utf-8", text, strlen(text));
}

enum MHD_Result rl_reply_empty(rl_req *r, int status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (char *)"",
                                                                MHD_RESPMEM_PERSISTENT);
    r->sent = 0;
    return queue(r, status, resp, NULL);
}

enum MHD_Result rl_reply_error(rl_req *r, int status, const char *detail_code, const char *fmt,
                               ...)
{
    char msg[RL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rl_utf8_scrub(msg); /* quoted paths and names; also a character cut by the limit */
    json_t *j = json_pack("{s:{s:s, s:s, s:[{s:s, s:s}]}}", "error", "code", rl_class_of(status),
                          "message", class_message(status), "details", "code",
                          detail_code ? detail_code : rl_class_of(status), "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        static const char oom[] = "{\"error\":{\"code\":\"InternalError\",\"message\":\"out of "
                                  "memory\",\"details\":[]}}";
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        return queue(r, 500, resp, "application/json");
    }
    return rl_reply_text(r, status, "application/json; charset=utf-8", text, strlen(text));
}

static const char *detail_of(int code)
{
    switch (code) {
    case RL_EINVAL: return "BadParameterValue";
    case RL_EPARSE: return "InputParseError";
    case RL_ESCHEMA: return "InputSchemaMismatch";
    case RL_EFORMAT: return "InvalidFileFormat";
    case RL_ENOTFOUND: return "ResourceNotFound";
    case RL_EEXIST: return "AlreadyExists";
    case RL_ESTATE: return "InvalidState";
    case RL_EAUTH: return "InvalidCredential";
    case RL_EFORBIDDEN: return "CredentialOfAnotherResource";
    case RL_ETOOBIG: return "LimitExceeded";
    case RL_EBUSY: return "TooManyRequests";
    case RL_ECANCELED: return "Cancelled";
    default: return "InternalError";
    }
}

enum MHD_Result rl_reply_rl_error(rl_req *r, const rl_error *err, const char *detail_code)
{
    int status = rl_status_of(err->code);
    if (!detail_code) detail_code = detail_of(err->code);
    return rl_reply_error(r, status, detail_code, "%s", err->msg);
}
