/* client.h - a small HTTP client of relearnd's API (docs/api.md), over libcurl.
 *
 * The idea: the CLI's service commands speak JSON to relearnd and stream
 * files to and from its blob store. An rl_client holds the base URL (from the
 * caller, else $RELEARN_URL, else http://127.0.0.1:8080), one bearer
 * credential (a workspace token or an endpoint key) and one reusable curl
 * handle, so consecutive calls share a kept-alive connection. File bodies are
 * read and written in chunks (CURLOPT_READFUNCTION / WRITEFUNCTION): a 100 MB
 * blob never sits in memory.
 *
 * Errors: a non-2xx answer becomes an rl_error whose code follows the HTTP
 * status (400 RL_EINVAL, 401 RL_EAUTH, 403 RL_EFORBIDDEN, 404 RL_ENOTFOUND,
 * 409 RL_ESTATE, 413 RL_ETOOBIG, 503 RL_EBUSY, other 5xx RL_EINTERNAL) and
 * whose message carries the daemon's {"error": {"code", "message",
 * "details"}} text, the call, and a hint. A daemon that cannot be reached is
 * RL_EIO ("cannot reach relearnd at URL: is it running? ...").
 *
 * Targets: every call takes a target that is either a path starting with '/'
 * (joined to the base URL) or an absolute http:// or https:// URL (used as
 * is, e.g. a service's ApiLocation). Callers escape path segments with
 * rl_client_escape_path() before building targets.
 *
 * Dependencies: libcurl, jansson, base/. Users: src/cli/cmd_service.c.
 * Ownership: the client owns its curl handle and copies of the URL and token;
 * JSON answers belong to the caller. Thread safety: a client belongs to one
 * thread at a time; distinct clients may be used from distinct threads.
 */
#ifndef RL_CLI_CLIENT_H
#define RL_CLI_CLIENT_H

#include "base/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The base URL when neither the caller nor $RELEARN_URL gives one. */
#define RL_CLIENT_DEFAULT_URL "http://127.0.0.1:8080"

typedef struct rl_client rl_client;

typedef struct rl_client_opts {
    /* Base URL of relearnd, http:// or https://; NULL or "": $RELEARN_URL,
     * else RL_CLIENT_DEFAULT_URL. Trailing slashes are dropped. */
    const char *url;
    /* Sent as "Authorization: Bearer TOKEN"; NULL: no credential. */
    const char *token;
    /* How the user gives that credential ("--token or RELEARN_TOKEN"), added
     * to 401/403 messages; NULL: no hint. Copied. */
    const char *token_hint;
    /* Limit on a whole request in seconds; 0: none (long transfers). */
    long timeout_s;
    /* Limit on connecting in seconds; 0: 10. */
    long connect_timeout_s;
} rl_client_opts;

/* Creates a client. RL_EINVAL for a base URL that is not http(s) or a token
 * with characters a header cannot carry; RL_ENOMEM; RL_ELIB when libcurl
 * cannot start. *out belongs to the caller (rl_client_free). */
int rl_client_new(const rl_client_opts *o, rl_client **out, rl_error *err);

/* Frees c and its connection; NULL is fine. */
void rl_client_free(rl_client *c);

/* The base URL without a trailing slash; borrowed from c. */
const char *rl_client_base_url(const rl_client *c);

/* Changes the limit on a whole request (seconds, 0: none) for later calls. */
void rl_client_set_timeout(rl_client *c, long timeout_s);

/* Sends method (GET, POST, PUT, PATCH, DELETE) to target with body (may be
 * NULL: no body) as JSON. On a 2xx answer *out (may be NULL when the caller
 * does not want it) receives the parsed answer, any JSON value, or NULL for an
 * empty body (204); *status (may be NULL) the HTTP status. A non-2xx answer
 * is an error as described above; a 2xx answer that is not JSON RL_EPARSE. */
int rl_client_json(rl_client *c, const char *method, const char *target, const json_t *body,
                   json_t **out, long *status, rl_error *err);

/* Sends the regular file at local_path as the body of method (usually PUT)
 * to target, streamed with a Content-Length. *out (may be NULL) as for
 * rl_client_json. RL_ENOTFOUND / RL_EIO when the file cannot be opened or
 * read. */
int rl_client_upload(rl_client *c, const char *method, const char *target, const char *local_path,
                     json_t **out, rl_error *err);

/* GETs target into local_path, or standard output when local_path is "-".
 * A file is written to a temporary name beside it and renamed over
 * local_path only when the whole body arrived: on any error local_path is
 * untouched. *size (may be NULL) receives the byte count. */
int rl_client_download(rl_client *c, const char *target, const char *local_path, uint64_t *size,
                       rl_error *err);

/* ---- pieces, exposed for tests ---- */

/* Joins base (trailing slashes ignored) and target (a path starting with '/',
 * or an absolute http(s) URL returned as is) into *out (rl_free). RL_EINVAL
 * for any other target. */
int rl_client_url_join(const char *base, const char *target, char **out, rl_error *err);

/* Percent-encodes s as one URL component (RFC 3986 unreserved characters
 * stay) into *out (rl_free). */
int rl_client_escape(const char *s, char **out, rl_error *err);

/* Percent-encodes each '/'-separated segment of path, keeping the slashes
 * ("my data/a b.csv" -> "my%20data/a%20b.csv"), into *out (rl_free). */
int rl_client_escape_path(const char *path, char **out, rl_error *err);

/* The rl error code of an HTTP status (RL_OK for 2xx). */
int rl_client_status_code(long status);

/* Fills err for a non-2xx answer: status, the answer's len bytes of body
 * (relearnd's JSON error, or anything else), the call (method and url, whose
 * query string is left out of the message) and the credential hint (may be
 * NULL). retry_after_s > 0 is mentioned for 503. Returns the error code. */
int rl_client_http_error(long status, const char *body, size_t len, const char *method,
                         const char *url, const char *token_hint, long retry_after_s,
                         rl_error *err);

/* Fills err for a libcurl failure (a CURLcode) while calling url; detail is
 * libcurl's error buffer (may be NULL or ""). Connection refused gives
 * RL_EIO "cannot reach relearnd at URL: is it running? ...". Returns the
 * error code. */
int rl_client_transport_error(int curl_code, const char *url, const char *detail, rl_error *err);

#endif
