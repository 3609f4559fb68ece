/* server.c - relearnd's lifecycle, libmicrohttpd callbacks and routing.
 *
 * Requests arrive on libmicrohttpd's thread pool. The first callback of a
 * request allocates its rl_req and refuses early what can be refused from
 * the headers (a declared body over the limit); body chunks are buffered (or,
 * for blob uploads, streamed to a temporary file of the blob store); the last
 * callback routes. The completion notice writes the request's log line and
 * frees the rl_req.
 *
 * Limits (docs/api.md, "Limits"): libmicrohttpd bounds connections, idle
 * time and each connection's memory (the request line and headers: over it
 * it answers 414 or 431 itself); the first callback refuses a declared body
 * over --max-body or --max-upload, body chunks past it are dropped and
 * answered 413; rows and columns are rrs.c's. With a certificate and key it
 * serves HTTPS only.
 */
#include "http/internal.h"
#include "base/crypto.h"
#include "base/fs.h"
#include "base/mem.h"
#include "jobs/jobs.h"
#include "store/blob.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t rl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rl_iso_time(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *rl_query(rl_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Whether a Content-Type names JSON: application/json, text/json or a +json
 * type, with any parameters. No Content-Type (or an empty one) is taken as
 * JSON too: most clients send one, some scripts don't. */
static int is_json_type(const char *ct)
{
    if (!ct) return 1;
    size_t n = strcspn(ct, ";");
    while (n && (*ct == ' ' || *ct == '\t')) ct++, n--;
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    if (n == 0) return 1;
    if ((n == 16 && !strncasecmp(ct, "application/json", n)) ||
        (n == 9 && !strncasecmp(ct, "text/json", n)))
        return 1;
    return n > 6 && memchr(ct, '/', n) && !strncasecmp(ct + n - 5, "+json", 5);
}

json_t *rl_body_json(rl_req *r, enum MHD_Result *reply)
{
    json_error_t je;
    if (!r->body.len) {
        *reply = rl_reply_error(r, 400, "MissingBody", "the request needs a JSON body");
        return NULL;
    }
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_json_type(ct)) {
        *reply = rl_reply_error(r, 415, "UnsupportedContentType", "the body must be JSON: send "
                                "Content-Type: application/json (got '%.100s')", ct);
        return NULL;
    }
    json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        *reply = rl_reply_error(r, 400, "InvalidJson", "the body is not valid JSON: %s at "
                                "line %d, column %d", je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *reply = rl_reply_error(r, 400, "InvalidJson", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* ---- first start ---- */

/* Creates path if missing and makes it (and SQLite's -wal and -shm beside it,
 * which take the database's mode) readable by the owner only. */
static int private_file(const char *path, rl_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return rl_error_set(err, RL_EIO, "cannot create %s with mode 0600: %s", path,
                            strerror(e));
    }
    close(fd);
    static const char *const sides[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char side[4200];
        snprintf(side, sizeof side, "%s%s", path, sides[i]);
        if (chmod(side, 0600) != 0 && errno != ENOENT)
            return rl_error_set(err, RL_EIO, "cannot make %s private (chmod 0600): %s", side,
                                strerror(errno));
    }
    return RL_OK;
}

/* Reads a PEM file of --tls-cert or --tls-key. */
static int read_pem(const char *path, const char *what, char **out, rl_error *err)
{
    size_t len = 0;
    int rc = rl_file_read_all(path, out, &len, err);
    if (rc) {
        rl_error_wrap(err, "%s", what);
        return rc;
    }
    if (!strstr(*out, "-----BEGIN ")) {
        rl_free(*out);
        *out = NULL;
        return rl_error_set(err, RL_EFORMAT, "%s %s is not PEM (no -----BEGIN line)", what,
                            path);
    }
    return RL_OK;
}

static int load_secret(rl_server *s, rl_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/secret", s->data_dir);
    char *data = NULL;
    size_t len = 0;
    int rc = rl_file_read_all(path, &data, &len, err);
    if (rc == RL_OK && len == sizeof s->secret) {
        memcpy(s->secret, data, len);
        rl_free(data);
        return RL_OK;
    }
    rl_free(data);
    if (rc == RL_OK)
        return rl_error_set(err, RL_EFORMAT, "%s has %zu bytes, not %zu: it is damaged; "
                            "restore it from a backup (keys derive from it)",
                            path, len, sizeof s->secret);
    if (rc != RL_ENOTFOUND) return rc;
    if ((rc = rl_random_bytes(s->secret, sizeof s->secret, err))) return rc;
    return rl_file_write_atomic(path, s->secret, sizeof s->secret, 1, err);
}

static int bootstrap(rl_server *s, rl_error *err)
{
    rl_workspace *w = NULL;
    rl_error e2;
    int rc = rl_meta_workspace_get(s->meta, "default", &w, &e2);
    if (rc == RL_OK) {
        snprintf(s->admin_hash, sizeof s->admin_hash, "%s", w->token_hash);
        rl_workspace_free(w);
        return RL_OK;
    }
    if (rc != RL_ENOTFOUND) {
        if (err) *err = e2;
        return rc;
    }
    char token[128];
    const char *env = getenv("RELEARN_ADMIN_TOKEN");
    if (env && *env) {
        if (strlen(env) < 16 || strlen(env) >= sizeof token)
            return rl_error_set(err, RL_EINVAL, "RELEARN_ADMIN_TOKEN must be 16 to 127 "
                                "characters");
        snprintf(token, sizeof token, "%s", env);
    } else {
        if ((rc = rl_random_token("rla_", token, sizeof token, err))) return rc;
        char path[4096];
        snprintf(path, sizeof path, "%s/admin-token", s->data_dir);
        char line[160];
        int n = snprintf(line, sizeof line, "%s\n", token);
        if ((rc = rl_file_write_atomic(path, line, (size_t)n, 1, err))) return rc;
    }
    rl_workspace def = {(char *)"default", NULL, rl_now_ms()};
    char hash[65];
    rl_auth_hash(token, hash);
    def.token_hash = hash;
    if ((rc = rl_meta_workspace_create(s->meta, &def, err))) return rc;
    snprintf(s->admin_hash, sizeof s->admin_hash, "%s", hash);
    return RL_OK;
}

int rl_server_open(const rl_server_config *cfg, rl_server **out, rl_error *err)
{
    rl_server *s = rl_calloc(1, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, "out of memory");
    s->cfg = *cfg;
    s->quiesced_fd = -1;
    if (!s->cfg.max_body) s->cfg.max_body = 16u << 20;
    if (!s->cfg.max_upload) s->cfg.max_upload = (size_t)1 << 30;
    if (!s->cfg.max_rows) s->cfg.max_rows = 100000;
    if (!s->cfg.max_columns) s->cfg.max_columns = 10000;
    if (!s->cfg.max_header_bytes) s->cfg.max_header_bytes = 64 * 1024;
    if (!s->cfg.max_connections) s->cfg.max_connections = 1024;
    if (!s->cfg.request_timeout) s->cfg.request_timeout = 60;
    if (!s->cfg.workers) s->cfg.workers = 1;
    if (!s->cfg.model_idle_seconds) s->cfg.model_idle_seconds = 600;
    pthread_mutex_init(&s->janitor_lock, NULL);
    pthread_cond_init(&s->janitor_wake, NULL);
    if (!s->cfg.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = n > 0 ? (int)n : 2;
    }
    pthread_mutex_init(&s->model_change, NULL);
    pthread_mutex_init(&s->log_lock, NULL);
    rl_registry_init(&s->reg);
    int rc;
    s->data_dir = rl_strdup(cfg->data_dir);
    if (!s->data_dir) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = rl_mkdir_p(cfg->data_dir, 1, err))) goto fail;
    char path[4096];
    if (!cfg->tls_cert != !cfg->tls_key) {
        rc = rl_error_set(err, RL_EINVAL, "HTTPS needs both --tls-cert and --tls-key");
        goto fail;
    }
    if (cfg->tls_cert && ((rc = read_pem(cfg->tls_cert, "--tls-cert", &s->tls_cert, err)) ||
                          (rc = read_pem(cfg->tls_key, "--tls-key", &s->tls_key, err))))
        goto fail;
    if (cfg->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        rc = rl_error_set(err, RL_EINVAL, "this libmicrohttpd was built without HTTPS support; "
                          "drop --tls-cert and --tls-key or put a TLS proxy in front");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/meta.db", cfg->data_dir);
    if ((rc = private_file(path, err))) goto fail;
    if ((rc = rl_meta_open_sqlite(path, &s->meta, err))) goto fail;
    snprintf(path, sizeof path, "%s/blobs", cfg->data_dir);
    if ((rc = rl_blob_open_local(path, &s->blobs, err))) goto fail;
    if ((rc = load_secret(s, err))) goto fail;
    static const char purpose[] = "relearn blob tokens";
    if ((rc = rl_hmac_sha256(s->secret, sizeof s->secret, purpose, sizeof purpose - 1,
                             s->sas_secret, err)))
        goto fail;
    if ((rc = bootstrap(s, err))) goto fail;
    if ((rc = rl_registry_load(s, err))) goto fail;
    *out = s;
    return RL_OK;
fail:
    rl_server_free(s);
    return rc;
}

/* ---- requests ---- */

/* Percent-decodes a URL path or query part in place as libmicrohttpd does,
 * except "%00": decoded, a NUL would silently cut the C string the routes see
 * (PUT /storage/data/a%00b would write data/a). Left encoded, the blob store
 * and the routes refuse it like any other bad name. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    size_t out = 0;
    char *p = s;
    for (;;) {
        char *nul = strstr(p, "%00");
        if (nul) *nul = '\0';
        size_t n = MHD_http_unescape(p);
        memmove(s + out, p, n);
        out += n;
        if (!nul) break;
        memcpy(s + out, "%00", 3); /* out <= nul - s: never past what was read */
        out += 3;
        p = nul + 3;
    }
    s[out] = '\0';
    return out;
}

static int split_path(rl_req *r, const char *url)
{
    size_t n = strlen(url);
    r->path = rl_strndup(url, n);
    r->segbuf = rl_strndup(url, n);
    if (!r->path || !r->segbuf) return -1;
    char *p = r->segbuf;
    while (*p) {
        while (*p == '/') *p++ = '\0';
        if (!*p) break;
        if (r->nseg == RL_MAX_SEGMENTS) return -2;
        r->seg[r->nseg++] = p;
        while (*p && *p != '/') p++;
    }
    return 0;
}

static int is_upload(const rl_req *r)
{
    return r->nseg >= 3 && strcmp(r->seg[0], "storage") == 0 && strcmp(r->method, "PUT") == 0;
}

/* An RRS call counts against its endpoint's MaxConcurrentCalls from the
 * moment its headers arrive until it is answered: a call still sending its
 * body or waiting for an HTTP thread is in flight for its client too (counting
 * only calls being scored would never reach the limit with fewer HTTP threads
 * than it). Calls without one of the endpoint's keys are not counted; they
 * are refused when routed. */
static void count_call(rl_req *r)
{
    if (r->nseg != 5 || strcmp(r->seg[0], "workspaces") != 0 ||
        strcmp(r->seg[2], "services") != 0 || strcmp(r->seg[4], "execute") != 0 ||
        strcmp(r->method, "POST") != 0)
        return;
    rl_served *sv = rl_registry_get(r->srv, r->seg[3]);
    if (!sv || strcmp(sv->workspace_id, r->seg[1]) != 0 || !rl_auth_is_endpoint_key(r, sv)) {
        rl_served_release(r->srv, sv);
        return;
    }
    r->call_sv = sv;
    r->over_limit = atomic_fetch_add(&sv->calls->inflight, 1) + 1 > sv->max_concurrent;
}

static enum MHD_Result route(rl_req *r)
{
    if (r->too_big)
        return rl_reply_error(r, 413, "BodyTooLarge", "the body is over the limit of %zu bytes",
                              r->limit);
    if (r->nseg == 1 && strcmp(r->seg[0], "health") == 0)
        return strcmp(r->method, "GET") && strcmp(r->method, "HEAD")
                   ? rl_reply_error(r, 405, "MethodNotAllowed", "health takes GET")
                   : rl_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
    if (r->nseg >= 1 && strcmp(r->seg[0], "storage") == 0) return rl_route_storage(r);
    if (r->nseg >= 5 && strcmp(r->seg[0], "workspaces") == 0 &&
        strcmp(r->seg[2], "services") == 0) {
        /* An RRS call counted at its headers was looked up and its key
         * checked then: the request holds that entry until it completes. */
        rl_served *sv = r->call_sv ? r->call_sv : rl_registry_get(r->srv, r->seg[3]);
        if (!sv || strcmp(sv->workspace_id, r->seg[1]) != 0) {
            if (sv != r->call_sv) rl_served_release(r->srv, sv);
            return rl_reply_error(r, 404, "ServiceNotFound", "no web service '%s' in workspace "
                                  "'%s'", r->seg[3], r->seg[1]);
        }
        enum MHD_Result res;
        const char *what = r->seg[4];
        const char *version = rl_query(r, "api-version");
        if (version && strcmp(version, "2.0") != 0)
            res = rl_reply_error(r, 400, "UnsupportedApiVersion", "api-version '%.40s' is not "
                                 "supported; use api-version=2.0 (or leave it out)", version);
        else if (r->nseg == 5 && !strcmp(what, "execute"))
            res = strcmp(r->method, "POST")
                      ? rl_reply_error(r, 405, "MethodNotAllowed", "execute takes POST")
                      : rl_route_rrs(r, sv);
        else if (r->nseg == 5 && (!strcmp(what, "help") || !strcmp(what, "swagger.json")))
            res = rl_route_help(r, sv, !strcmp(what, "swagger.json"));
        else if (!strcmp(what, "jobs"))
            res = rl_route_jobs(r, sv);
        else
            res = rl_reply_error(r, 404, "RouteNotFound", "no route %s %s", r->method, r->path);
        if (sv != r->call_sv) rl_served_release(r->srv, sv);
        return res;
    }
    if (r->nseg >= 2 && strcmp(r->seg[0], "workspaces") == 0) return rl_route_manage(r);
    return rl_reply_error(r, 404, "RouteNotFound", "no route %s %s; see docs/api.md", r->method,
                          r->path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **ctx)
{
    (void)version;
    rl_server *s = cls;
    rl_req *r = *ctx;
    if (!r) {
        r = rl_calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *ctx = r;
        atomic_fetch_add(&s->requests, 1);
        r->srv = s;
        r->conn = conn;
        r->method = method;
        r->upload_fd = -1;
        r->t0 = mono_s();
        int rc = split_path(r, url);
        if (rc == -1) return MHD_NO;
        if (rc == -2) return rl_reply_error(r, 404, "RouteNotFound", "the path is too deep");
        r->limit = is_upload(r) ? s->cfg.max_upload : s->cfg.max_body;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > r->limit)
                return rl_reply_error(r, 413, "BodyTooLarge",
                                      "the body (%s bytes) is over the limit of %zu bytes", cl,
                                      r->limit);
        }
        if (is_upload(r)) {
            enum MHD_Result reply;
            if (rl_storage_upload_begin(r, &reply)) return reply;
        }
        count_call(r);
        return MHD_YES;
    }
    if (r->answered) { /* refused early: drop the rest of the body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->upload_len + *upload_size > r->limit) {
            r->too_big = 1;
        } else if (is_upload(r)) {
            if (rl_storage_upload_chunk(r, upload_data, *upload_size)) r->upload_failed = 1;
        } else if (rl_buf_append(&r->body, upload_data, *upload_size)) {
            r->too_big = 1;
        }
        r->upload_len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    return route(r);
}

static void log_request(rl_server *s, const rl_req *r)
{
    if (s->cfg.quiet) return;
    char when[32], method[32];
    rl_iso_time(rl_now_ms(), when, sizeof when);
    snprintf(method, sizeof method, "%s", r->method ? r->method : "?");
    rl_utf8_scrub(method);
    /* The path only: query strings may carry signed tokens. It is the
     * client's: JSON escapes its control characters, scrubbing its bytes
     * that are not UTF-8. */
    char *path = rl_strdup(r->path ? r->path : "");
    if (path) rl_utf8_scrub(path);
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:f, s:I, s:I}", "time", when, "method", method,
                          "path", path ? path : "?", "status", r->status, "ms",
                          (mono_s() - r->t0) * 1000.0, "in", (json_int_t)r->upload_len, "out",
                          (json_int_t)r->sent);
    rl_free(path);
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(4)) : NULL;
    json_decref(j);
    if (!line) return;
    pthread_mutex_lock(&s->log_lock);
    fprintf(stderr, "%s\n", line);
    pthread_mutex_unlock(&s->log_lock);
    free(line);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    rl_server *s = cls;
    rl_req *r = *ctx;
    if (!r) return;
    log_request(s, r);
    if (r->call_sv) {
        atomic_fetch_sub(&r->call_sv->calls->inflight, 1);
        rl_served_release(s, r->call_sv);
    }
    rl_storage_upload_abort(r);
    rl_buf_fini(&r->body);
    rl_free(r->path);
    rl_free(r->segbuf);
    rl_free(r);
    *ctx = NULL;
    atomic_fetch_sub(&s->requests, 1);
}

static void *janitor(void *arg)
{
    rl_server *s = arg;
    int64_t idle_ms = (int64_t)s->cfg.model_idle_seconds * 1000;
    int64_t period = idle_ms / 4 < 30000 ? (idle_ms / 4 > 200 ? idle_ms / 4 : 200) : 30000;
    pthread_mutex_lock(&s->janitor_lock);
    while (!s->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += period / 1000;
        ts.tv_nsec += (period % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->janitor_wake, &s->janitor_lock, &ts);
        if (s->stopping) break;
        pthread_mutex_unlock(&s->janitor_lock);
        rl_registry_sweep(s, rl_now_ms(), idle_ms);
        pthread_mutex_lock(&s->janitor_lock);
    }
    pthread_mutex_unlock(&s->janitor_lock);
    return NULL;
}

/* The listening socket, bound and listening: the port is known before any
 * request can arrive (MHD_OPTION_LISTEN_SOCKET hands it to libmicrohttpd,
 * which closes it when it stops, or fails to start). */
static int listen_socket(rl_server *s, const struct sockaddr_in *addr, int *out, rl_error *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        bind(fd, (const struct sockaddr *)addr, sizeof *addr) || listen(fd, SOMAXCONN) ||
        getsockname(fd, (struct sockaddr *)&bound, &len)) {
        int e = errno;
        if (fd >= 0) close(fd);
        return rl_error_set(err, RL_EIO, "cannot listen on %s:%d: %s (is the port taken, or "
                            "the address not this machine's?)",
                            s->cfg.host ? s->cfg.host : "127.0.0.1", s->cfg.port, strerror(e));
    }
    s->port = ntohs(bound.sin_port);
    *out = fd;
    return RL_OK;
}

/* Everything a request reads (the port, the public URL, the job pool) is set
 * before libmicrohttpd starts its threads: they see it through the thread
 * creation, with no lock. */
int rl_server_start(rl_server *s, rl_error *err)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s->cfg.port);
    if (inet_pton(AF_INET, s->cfg.host ? s->cfg.host : "127.0.0.1", &addr.sin_addr) != 1)
        return rl_error_set(err, RL_EINVAL, "cannot listen on '%s': give an IPv4 address such "
                            "as 127.0.0.1 or 0.0.0.0", s->cfg.host);
    int fd = -1, rc;
    if ((rc = listen_socket(s, &addr, &fd, err))) return rc;
    if (s->cfg.public_url)
        snprintf(s->public_url, sizeof s->public_url, "%s", s->cfg.public_url);
    else
        snprintf(s->public_url, sizeof s->public_url, "%s://%s:%d",
                 s->tls_cert ? "https" : "http", s->cfg.host ? s->cfg.host : "127.0.0.1",
                 s->port);
    size_t n = strlen(s->public_url);
    while (n && s->public_url[n - 1] == '/') s->public_url[--n] = '\0';
    if ((rc = rl_jobs_start(s->meta, s->blobs, s->cfg.workers, &s->jobs, err))) {
        close(fd);
        return rc;
    }
    if (pthread_create(&s->janitor, NULL, janitor, s) != 0) {
        close(fd);
        return rl_error_set(err, RL_EINTERNAL, "cannot start a thread");
    }
    s->janitor_running = 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (s->tls_cert ? MHD_USE_TLS : 0);
    /* Without TLS the list ends before the key and certificate. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.threads, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg.request_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->cfg.max_header_bytes,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        s->tls_cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, s->tls_key,
        MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert, MHD_OPTION_END);
    if (!s->mhd)
        return rl_error_set(err, RL_EIO, "cannot listen on %s:%d (is the port taken, or the "
                            "address not this machine's?%s)",
                            s->cfg.host ? s->cfg.host : "127.0.0.1", s->cfg.port,
                            s->tls_cert ? " Or do the --tls-cert and --tls-key not match?" : "");
    return RL_OK;
}

int rl_server_port(const rl_server *s)
{
    return s->port;
}

void rl_server_quiesce(rl_server *s)
{
    if (!s || !s->mhd) return;
    /* With a thread pool each worker drops the listening socket from its
     * epoll set after this returns: shutdown() stops it listening now (new
     * connections are refused), and the descriptor is closed only once
     * MHD_stop_daemon has joined the workers (rl_server_free), so its number
     * cannot be reused under them. */
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET) {
        shutdown(fd, SHUT_RDWR);
        s->quiesced_fd = fd;
    }
    /* In-flight requests finish (bounded wait). Idle keep-alive connections
     * are not waited for: rl_server_free closes them. */
    for (int i = 0; i < 300 && atomic_load(&s->requests) > 0; i++) usleep(100 * 1000);
}

void rl_server_free(rl_server *s)
{
    if (!s) return;
    if (s->mhd) MHD_stop_daemon(s->mhd);
    if (s->quiesced_fd >= 0) close(s->quiesced_fd);
    if (s->janitor_running) {
        pthread_mutex_lock(&s->janitor_lock);
        s->stopping = 1;
        pthread_cond_signal(&s->janitor_wake);
        pthread_mutex_unlock(&s->janitor_lock);
        pthread_join(s->janitor, NULL);
    }
    rl_jobs_stop(s->jobs); /* checkpoints running jobs: they run again after a restart */
    rl_registry_fini(&s->reg);
    rl_blob_close(s->blobs);
    rl_meta_close(s->meta);
    pthread_mutex_destroy(&s->model_change);
    pthread_mutex_destroy(&s->log_lock);
    pthread_mutex_destroy(&s->janitor_lock);
    pthread_cond_destroy(&s->janitor_wake);
    rl_free(s->data_dir);
    rl_free(s->tls_cert);
    rl_free(s->tls_key);
    rl_free(s);
}
