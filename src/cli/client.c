/* client.c - the HTTP client of relearnd's API over libcurl (client.h).
 *
 * One curl easy handle per client, reset before each call so that no option
 * of one call leaks into the next. JSON answers are collected in an rl_buf;
 * uploads are read from a FILE in curl's chunks; downloads go to a temporary
 * file that is renamed into place once the whole body arrived. Bodies of
 * error answers are kept (up to ERR_BODY_MAX bytes) to build the message.
 */
#include "cli/client.h"

#include "base/buf.h"
#include "base/mem.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR_BODY_MAX (64 * 1024)
#define USER_AGENT "relearn/0.1.0"

struct rl_client {
    CURL *curl;
    char *base;  /* without trailing slash */
    char *token; /* NULL: none */
    char *hint;  /* NULL: none */
    long timeout_s, connect_timeout_s;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- pieces ---- */

static int is_http_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

int rl_client_url_join(const char *base, const char *target, char **out, rl_error *err)
{
    if (is_http_url(target)) {
        char *s = rl_strdup(target);
        if (!s) return rl_error_set(err, RL_ENOMEM, "out of memory");
        *out = s;
        return RL_OK;
    }
    if (target[0] != '/')
        return rl_error_set(err, RL_EINVAL,
                            "'%s' is neither a path starting with '/' nor an "
                            "http:// or https:// URL",
                            target);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    rl_buf b = RL_BUF_INIT;
    if (rl_buf_append(&b, base, n) || rl_buf_puts(&b, target)) {
        rl_buf_fini(&b);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    *out = rl_buf_take(&b, NULL);
    return RL_OK;
}

/* Appends the escape of n bytes of s to b. */
static int escape_into(rl_buf *b, const char *s, size_t n)
{
    if (n == 0) return RL_OK;
    if (n > INT32_MAX) return RL_ENOMEM;
    /* Since libcurl 7.82 the handle may be NULL. */
    char *e = curl_easy_escape(NULL, s, (int)n);
    if (!e) return RL_ENOMEM;
    int rc = rl_buf_puts(b, e);
    curl_free(e);
    return rc;
}

int rl_client_escape(const char *s, char **out, rl_error *err)
{
    rl_buf b = RL_BUF_INIT;
    if (escape_into(&b, s, strlen(s)) || rl_buf_append(&b, "", 0)) {
        rl_buf_fini(&b);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    *out = rl_buf_take(&b, NULL);
    return RL_OK;
}

int rl_client_escape_path(const char *path, char **out, rl_error *err)
{
    rl_buf b = RL_BUF_INIT;
    int rc = rl_buf_append(&b, "", 0); /* "" escapes to "", not NULL */
    const char *p = path;
    while (!rc) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        rc = escape_into(&b, p, n);
        if (rc || !slash) break;
        rc = rl_buf_putc(&b, '/');
        p = slash + 1;
    }
    if (rc) {
        rl_buf_fini(&b);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    *out = rl_buf_take(&b, NULL);
    return RL_OK;
}

int rl_client_status_code(long status)
{
    if (status >= 200 && status < 300) return RL_OK;
    switch (status) {
    case 401:
        return RL_EAUTH;
    case 403:
        return RL_EFORBIDDEN;
    case 404:
        return RL_ENOTFOUND;
    case 409:
        return RL_ESTATE;
    case 413:
        return RL_ETOOBIG;
    case 503:
        return RL_EBUSY;
    default:
        break;
    }
    if (status >= 400 && status < 500) return RL_EINVAL;
    if (status >= 500 && status < 600) return RL_EINTERNAL;
    return RL_EIO; /* 1xx or 3xx where an answer was expected */
}

/* The length of url without its query string or fragment. */
static size_t url_without_query(const char *url)
{
    return strcspn(url, "?#");
}

/* Appends up to max printable characters of s (n bytes), others as '?'. */
static void put_printable(rl_buf *b, const char *s, size_t n, size_t max)
{
    size_t i;
    for (i = 0; i < n && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        rl_buf_putc(b, ch == '\n' || ch == '\t' ? ' ' : ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
    }
    if (i < n) rl_buf_puts(b, "...");
}

static const char *json_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int rl_client_http_error(long status, const char *body, size_t len, const char *method,
                         const char *url, const char *token_hint, long retry_after_s, rl_error *err)
{
    int code = rl_client_status_code(status);
    if (code == RL_OK) code = RL_EINTERNAL; /* a caller's mistake: 2xx is no error */
    rl_buf m = RL_BUF_INIT;
    json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *e = json_object_get(j, "error");
    const char *ecode = json_str(e, "code"), *emsg = json_str(e, "message");
    size_t i, nd = 0;
    const json_t *d;
    /* The details say what exactly was wrong; the class message ("Invalid
     * argument provided.") only when there are none. */
    json_array_foreach(json_object_get(e, "details"), i, d)
    {
        const char *dmsg = json_str(d, "message"), *dcode = json_str(d, "code"),
                   *target = json_str(d, "target");
        if (!dmsg && !dcode) continue;
        if (nd++) rl_buf_puts(&m, "; ");
        rl_buf_puts(&m, dmsg ? dmsg : dcode);
        if (dcode && dmsg)
            rl_buf_printf(&m, " [%s%s%s]", dcode, target ? " " : "", target ? target : "");
        else if (target)
            rl_buf_printf(&m, " [%s]", target);
    }
    if (!nd && emsg && *emsg) {
        rl_buf_puts(&m, emsg);
    } else if (!nd && len) {
        rl_buf_puts(&m, "the answer was: ");
        put_printable(&m, body, len, 200);
    } else if (!nd) {
        rl_buf_puts(&m, "the answer had no body");
    }
    rl_buf_printf(&m, " (HTTP %ld%s%s, %s ", status, ecode ? " " : "", ecode ? ecode : "", method);
    rl_buf_append(&m, url, url_without_query(url));
    rl_buf_puts(&m, ")");
    if ((code == RL_EAUTH || code == RL_EFORBIDDEN) && token_hint && *token_hint)
        rl_buf_printf(&m, "; check the credential: %s", token_hint);
    if (code == RL_EBUSY) {
        if (retry_after_s > 0)
            rl_buf_printf(&m, "; relearnd is busy, retry in %ld s", retry_after_s);
        else
            rl_buf_puts(&m, "; relearnd is busy, retry later");
    }
    if (code == RL_ETOOBIG)
        rl_buf_puts(&m, "; relearnd's limits are --max-body (JSON) and --max-upload (blobs)");
    json_decref(j);
    rl_error_set(err, code, "%s", m.data ? m.data : "HTTP error");
    rl_buf_fini(&m);
    return code;
}

int rl_client_transport_error(int curl_code, const char *url, const char *detail, rl_error *err)
{
    /* The origin: scheme://host[:port], what the user chose with --url. */
    const char *host = strstr(url, "://");
    size_t origin = host ? (size_t)(host + 3 - url) + strcspn(host + 3, "/?#") : strlen(url);
    int on = origin > 512 ? 512 : (int)origin;
    const char *d = detail && *detail ? detail : curl_easy_strerror((CURLcode)curl_code);
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_CONNECT:
        return rl_error_set(err, RL_EIO,
                            "cannot reach relearnd at %.*s: is it running? (start "
                            "it with relearnd --data-dir DIR --listen HOST:PORT; %s)",
                            on, url, d);
    case CURLE_COULDNT_RESOLVE_HOST:
        return rl_error_set(err, RL_EIO,
                            "cannot resolve the host of %.*s (%s); check --url or "
                            "RELEARN_URL",
                            on, url, d);
    case CURLE_OPERATION_TIMEDOUT:
        return rl_error_set(err, RL_EIO, "relearnd at %.*s did not answer in time (%s)", on, url,
                            d);
    case CURLE_OUT_OF_MEMORY:
        return rl_error_set(err, RL_ENOMEM, "out of memory (libcurl)");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return rl_error_set(err, RL_EINVAL,
                            "cannot use the URL %.*s (%s); check --url or "
                            "RELEARN_URL",
                            on, url, d);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return rl_error_set(err, RL_EIO,
                            "the connection to relearnd at %.*s broke (%s); retry, "
                            "and see relearnd's log if it happens again",
                            on, url, d);
    default:
        return rl_error_set(err, RL_EIO, "calling relearnd at %.*s failed: %s", on, url, d);
    }
}

/* ---- the client ---- */

static int token_ok(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f) return 0;
    return 1;
}

int rl_client_new(const rl_client_opts *o, rl_client **out, rl_error *err)
{
    const char *url = o->url;
    const char *from = "--url";
    if (!url || !*url) {
        url = getenv("RELEARN_URL");
        from = "RELEARN_URL";
    }
    if (!url || !*url) url = RL_CLIENT_DEFAULT_URL;
    if (!is_http_url(url))
        return rl_error_set(err, RL_EINVAL,
                            "%s must be an http:// or https:// URL of relearnd "
                            "(like %s), got '%s'",
                            from, RL_CLIENT_DEFAULT_URL, url);
    if (o->token && !token_ok(o->token))
        return rl_error_set(err, RL_EINVAL,
                            "the credential contains spaces or control "
                            "characters; pass the token or key exactly as relearnd gave it%s%s",
                            o->token_hint ? " (" : "", o->token_hint ? ")" : "");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return rl_error_set(err, RL_ELIB, "libcurl could not initialise");
    rl_client *c = rl_calloc(1, sizeof *c);
    if (!c) goto oom;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    c->base = rl_strndup(url, n);
    c->token = o->token ? rl_strdup(o->token) : NULL;
    c->hint = o->token_hint ? rl_strdup(o->token_hint) : NULL;
    if (!c->base || (o->token && !c->token) || (o->token_hint && !c->hint)) goto oom;
    c->curl = curl_easy_init();
    if (!c->curl) {
        rl_client_free(c);
        return rl_error_set(err, RL_ELIB, "libcurl could not create a handle");
    }
    c->timeout_s = o->timeout_s > 0 ? o->timeout_s : 0;
    c->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
    *out = c;
    return RL_OK;
oom:
    if (c)
        rl_client_free(c);
    else
        curl_global_cleanup();
    return rl_error_set(err, RL_ENOMEM, "out of memory");
}

void rl_client_free(rl_client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    rl_free(c->base);
    rl_free(c->token);
    rl_free(c->hint);
    rl_free(c);
    curl_global_cleanup();
}

const char *rl_client_base_url(const rl_client *c)
{
    return c->base;
}

void rl_client_set_timeout(rl_client *c, long timeout_s)
{
    c->timeout_s = timeout_s > 0 ? timeout_s : 0;
}

/* One call's state, shared with the callbacks. */
typedef struct call {
    rl_client *c;
    const char *method;
    char *url;
    struct curl_slist *headers;
    rl_buf body;      /* the answer (JSON, or an error's body) */
    int to_body_only; /* 1: everything goes to body (JSON calls) */
    FILE *in;         /* upload source */
    FILE *out;        /* download sink (2xx bodies) */
    uint64_t written;
    int write_failed; /* errno of a failed write to out */
    int too_big;      /* an error body over ERR_BODY_MAX was cut */
} call;

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    call *k = ud;
    size_t len = size * n;
    long status = 0;
    if (!k->to_body_only) curl_easy_getinfo(k->c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (k->to_body_only || status < 200 || status >= 300) {
        if (!k->to_body_only && k->body.len + len > ERR_BODY_MAX) {
            k->too_big = 1;
            return len; /* keep the start of an error body; drop the rest */
        }
        return rl_buf_append(&k->body, p, len) ? 0 : len;
    }
    if (fwrite(p, 1, len, k->out) != len) {
        k->write_failed = errno ? errno : EIO;
        return 0;
    }
    k->written += len;
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    call *k = ud;
    size_t got = fread(p, 1, size * n, k->in);
    if (got == 0 && ferror(k->in)) return CURL_READFUNC_ABORT;
    return got;
}

static int call_init(call *k, rl_client *c, const char *method, const char *target,
                     const char *content_type, rl_error *err)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->method = method;
    int rc = rl_client_url_join(c->base, target, &k->url, err);
    if (rc) return rc;
    CURL *h = c->curl;
    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
    if (l && content_type) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        struct curl_slist *l2 = curl_slist_append(l, ct);
        if (!l2) {
            curl_slist_free_all(l);
            l = NULL;
        }
    }
    if (l && c->token) {
        rl_buf auth = RL_BUF_INIT;
        struct curl_slist *l2 = NULL;
        if (!rl_buf_printf(&auth, "Authorization: Bearer %s", c->token))
            l2 = curl_slist_append(l, auth.data);
        rl_buf_fini(&auth);
        if (!l2) {
            curl_slist_free_all(l);
            l = NULL;
        }
    }
    if (!l) {
        rl_free(k->url);
        k->url = NULL;
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    k->headers = l;
    curl_easy_setopt(h, CURLOPT_URL, k->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Send paths as given: "a/../b" must reach relearnd (which refuses it),
     * not be quietly turned into "b" by libcurl. */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
    return RL_OK;
}

static void call_fini(call *k)
{
    curl_slist_free_all(k->headers);
    rl_free(k->url);
    rl_buf_fini(&k->body);
}

/* Runs the call; on a 2xx answer returns RL_OK with *status set; otherwise
 * fills err from libcurl's failure or the error answer. */
static int call_perform(call *k, long *status, rl_error *err)
{
    CURL *h = k->c->curl;
    CURLcode cc = curl_easy_perform(h);
    long st = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    if (cc == CURLE_WRITE_ERROR && k->write_failed)
        return rl_error_set(err, RL_EIO, "cannot write what relearnd sent: %s",
                            strerror(k->write_failed));
    if (cc == CURLE_WRITE_ERROR && !k->write_failed)
        return rl_error_set(err, RL_ENOMEM, "out of memory reading relearnd's answer");
    if (cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_READ_ERROR)
        return rl_error_set(err, RL_EIO, "cannot read the file being sent: %s",
                            k->in && ferror(k->in) ? strerror(errno) : "read error");
    /* An error answer that arrived before a failure (e.g. a 413 cut short)
     * says more than the failure. */
    if (cc != CURLE_OK && (st < 400 || k->body.len == 0))
        return rl_client_transport_error((int)cc, k->url, k->c->errbuf, err);
    if (st >= 200 && st < 300) {
        *status = st;
        return RL_OK;
    }
    long retry = 0;
    struct curl_header *hdr;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK) {
        char *end;
        long v = strtol(hdr->value, &end, 10);
        if (end != hdr->value && v > 0) retry = v;
    }
    return rl_client_http_error(st, k->body.data, k->body.len, k->method, k->url, k->c->hint, retry,
                                err);
}

/* Parses a 2xx answer into *out. */
static int parse_answer(call *k, json_t **out, rl_error *err)
{
    if (!out) return RL_OK;
    if (k->body.len == 0) {
        *out = NULL;
        return RL_OK;
    }
    json_error_t je;
    json_t *j = json_loadb(k->body.data, k->body.len, JSON_DECODE_ANY, &je);
    if (!j) {
        rl_buf m = RL_BUF_INIT;
        put_printable(&m, k->body.data, k->body.len, 120);
        rl_error_set(err, RL_EPARSE, "relearnd's answer to %s %.*s is not JSON (%s): %s", k->method,
                     (int)url_without_query(k->url), k->url, je.text, m.data ? m.data : "");
        rl_buf_fini(&m);
        return RL_EPARSE;
    }
    *out = j;
    return RL_OK;
}

static void set_method(CURL *h, const char *method, int has_body)
{
    if (strcmp(method, "GET") == 0 && !has_body) return;
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        return;
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

int rl_client_json(rl_client *c, const char *method, const char *target, const json_t *body,
                   json_t **out, long *status, rl_error *err)
{
    call k;
    char *text = NULL;
    int rc = call_init(&k, c, method, target, body ? "application/json" : NULL, err);
    if (rc) return rc;
    k.to_body_only = 1;
    if (body) {
        text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        if (!text) {
            rc = rl_error_set(err, RL_ENOMEM, "out of memory");
            goto done;
        }
    }
    set_method(c->curl, method, body != NULL);
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text ? text : "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(text ? strlen(text) : 0));
    }
    long st = 0;
    json_t *j = NULL;
    if ((rc = call_perform(&k, &st, err))) goto done;
    if ((rc = parse_answer(&k, out ? &j : NULL, err))) goto done;
    if (out) *out = j;
    if (status) *status = st;
done:
    free(text);
    call_fini(&k);
    return rc;
}

int rl_client_upload(rl_client *c, const char *method, const char *target, const char *local_path,
                     json_t **out, rl_error *err)
{
    FILE *f = fopen(local_path, "rb");
    if (!f)
        return rl_error_set(err, errno == ENOENT ? RL_ENOTFOUND : RL_EIO, "cannot open %s: %s",
                            local_path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return rl_error_set(err, RL_EINVAL, "%s is not a regular file; give a file to upload",
                            local_path);
    }
    call k;
    int rc = call_init(&k, c, method, target, "application/octet-stream", err);
    if (rc) {
        fclose(f);
        return rc;
    }
    k.to_body_only = 1;
    k.in = f;
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    if (strcmp(method, "PUT") != 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &k);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
    long st = 0;
    json_t *j = NULL;
    rc = call_perform(&k, &st, err);
    if (rc == RL_EIO && ferror(f)) rl_error_wrap(err, "uploading %s", local_path);
    if (!rc) rc = parse_answer(&k, out ? &j : NULL, err);
    if (!rc && out) *out = j;
    call_fini(&k);
    fclose(f);
    return rc;
}

int rl_client_download(rl_client *c, const char *target, const char *local_path, uint64_t *size,
                       rl_error *err)
{
    int to_stdout = strcmp(local_path, "-") == 0;
    char *tmp = NULL;
    FILE *f = stdout;
    int fd = -1, rc;
    call k;
    if (!to_stdout) {
        rl_buf t = RL_BUF_INIT;
        if (rl_buf_printf(&t, "%s.part-XXXXXX", local_path))
            return rl_error_set(err, RL_ENOMEM, "out of memory");
        tmp = rl_buf_take(&t, NULL);
        fd = mkstemp(tmp);
        if (fd < 0) {
            rc = rl_error_set(err, errno == ENOENT ? RL_ENOTFOUND : RL_EIO,
                              "cannot create a "
                              "file beside %s: %s",
                              local_path, strerror(errno));
            rl_free(tmp);
            return rc;
        }
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) != 0 || !(f = fdopen(fd, "wb"))) {
            rc = rl_error_set(err, RL_EIO, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            rl_free(tmp);
            return rc;
        }
    }
    if ((rc = call_init(&k, c, "GET", target, NULL, err))) goto done_nocall;
    k.out = f;
    long st = 0;
    rc = call_perform(&k, &st, err);
    if (!rc && fflush(f) != 0)
        rc = rl_error_set(err, RL_EIO, "cannot write %s: %s", local_path, strerror(errno));
    if (!rc && !to_stdout && fsync(fileno(f)) != 0)
        rc = rl_error_set(err, RL_EIO, "cannot write %s: %s", local_path, strerror(errno));
    if (!rc && size) *size = k.written;
    call_fini(&k);
done_nocall:
    if (!to_stdout) {
        if (fclose(f) != 0 && !rc)
            rc = rl_error_set(err, RL_EIO, "cannot write %s: %s", local_path, strerror(errno));
        if (!rc && rename(tmp, local_path) != 0)
            rc = rl_error_set(err, RL_EIO, "cannot rename %s to %s: %s", tmp, local_path,
                              strerror(errno));
        if (rc) unlink(tmp);
        rl_free(tmp);
    }
    return rc;
}
