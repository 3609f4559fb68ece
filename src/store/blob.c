/* blob.c - the backend-independent half of the blob store: address rules
 * and dispatch to the backend's ops (see store/blob.h).
 */
#include "store/blob.h"
#include "base/mem.h"
#include "store/blob_backend.h"
#include "store/util.h"

#include <string.h>

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The container rule on the n bytes at c; what names the input in messages. */
static int check_container(const char *c, size_t n, rl_error *err)
{
    if (n < 3 || n > 63)
        return rl_error_set(err, RL_EINVAL,
                            "container name \"%.*s\" has %zu characters; it needs 3 to 63",
                            (int)(n > 80 ? 80 : n), c, n);
    for (size_t i = 0; i < n; i++) {
        char ch = c[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-')
            return rl_error_set(err, RL_EINVAL,
                                "container name \"%.*s\" has a character other than lowercase "
                                "letters, digits and '-' at position %zu",
                                (int)n, c, i + 1);
        if (ch == '-' && (i == 0 || i == n - 1 || c[i - 1] == '-'))
            return rl_error_set(err, RL_EINVAL,
                                "container name \"%.*s\" must start and end with a letter or "
                                "digit and may not contain \"--\"",
                                (int)n, c);
    }
    return RL_OK;
}

int rl_blob_container_check(const char *container, rl_error *err)
{
    if (!container) return rl_error_set(err, RL_EINVAL, "no container given (NULL)");
    return check_container(container, strlen(container), err);
}

/* UTF-8 and no control characters: the rules every address byte obeys. */
static int check_bytes(const char *what, const char *s, size_t n, rl_error *err)
{
    size_t bad = rl_store_utf8_bad(s, n);
    if (bad < n)
        return rl_error_set(err, RL_EINVAL, "%s is not valid UTF-8 at byte %zu", what, bad + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return rl_error_set(err, RL_EINVAL,
                                "%s contains a control character (0x%02x) at byte %zu", what, c,
                                i + 1);
        if (c == '\\')
            return rl_error_set(err, RL_EINVAL,
                                "%s contains a backslash at byte %zu; use '/' between segments",
                                what, i + 1);
        if (c == '%' && i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2]))
            return rl_error_set(err, RL_EINVAL,
                                "%s contains the percent-escape \"%.3s\" at byte %zu; decode the "
                                "URL exactly once before naming a blob",
                                what, s + i, i + 1);
    }
    return RL_OK;
}

int rl_blob_address_check(const char *address, rl_error *err)
{
    if (!address) return rl_error_set(err, RL_EINVAL, "no blob address given (NULL)");
    size_t n = strlen(address);
    if (n == 0) return rl_error_set(err, RL_EINVAL, "the blob address is empty");
    if (n > RL_BLOB_ADDRESS_MAX)
        return rl_error_set(err, RL_EINVAL, "blob address is %zu bytes long; the limit is %d", n,
                            RL_BLOB_ADDRESS_MAX);
    if (address[0] == '/')
        return rl_error_set(err, RL_EINVAL,
                            "blob address \"%.80s\" starts with '/'; write \"container/path\"",
                            address);
    int rc = check_bytes("blob address", address, n, err);
    if (rc) return rc;
    const char *slash = strchr(address, '/');
    if (!slash)
        return rl_error_set(err, RL_EINVAL,
                            "blob address \"%.80s\" has no path after the container; write "
                            "\"container/path\"",
                            address);
    if ((rc = check_container(address, (size_t)(slash - address), err))) return rc;
    size_t segments = 0;
    const char *p = slash + 1;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t at = (size_t)(p - address) + 1;
        if (len == 0)
            return rl_error_set(err, RL_EINVAL,
                                "blob address \"%.80s\" has an empty path segment at byte %zu "
                                "(\"//\" or a trailing '/')",
                                address, at);
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return rl_error_set(err, RL_EINVAL,
                                "blob address \"%.80s\" has a \"%.*s\" segment at byte %zu; paths "
                                "may not step out of their container",
                                address, (int)len, p, at);
        if (++segments > RL_BLOB_SEGMENTS_MAX)
            return rl_error_set(err, RL_EINVAL, "blob address has more than %d path segments",
                                RL_BLOB_SEGMENTS_MAX);
        if (!end) break;
        p = end + 1;
    }
    return RL_OK;
}

static int check_store(const rl_blob_store *s, rl_error *err)
{
    if (!s) return rl_error_set(err, RL_EINVAL, "no blob store given (NULL)");
    return RL_OK;
}

void rl_blob_close(rl_blob_store *s)
{
    if (s) s->ops->close(s);
}

const char *rl_blob_backend(const rl_blob_store *s)
{
    return s ? s->ops->name : "none";
}

int rl_blob_put(rl_blob_store *s, const char *address, const void *data, size_t len,
                rl_blob_info *info, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!data && len)
        return rl_error_set(err, RL_EINVAL, "no data given (NULL) for %zu bytes", len);
    return s->ops->put(s, address, data ? data : "", len, info, err);
}

int rl_blob_put_file(rl_blob_store *s, const char *address, const char *path, int move,
                     rl_blob_info *info, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!path || !*path) return rl_error_set(err, RL_EINVAL, "no source file given");
    return s->ops->put_file(s, address, path, move, info, err);
}

int rl_blob_tmp_open(rl_blob_store *s, int *fd, char **tmp_path, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err))) return rc;
    if (!fd || !tmp_path) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    return s->ops->tmp_open(s, fd, tmp_path, err);
}

int rl_blob_commit_tmp(rl_blob_store *s, const char *tmp_path, const char *address,
                       rl_blob_info *info, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!tmp_path) return rl_error_set(err, RL_EINVAL, "no temporary file given (NULL)");
    return s->ops->commit_tmp(s, tmp_path, address, info, err);
}

void rl_blob_tmp_discard(rl_blob_store *s, const char *tmp_path)
{
    if (s && tmp_path) s->ops->tmp_discard(s, tmp_path);
}

int rl_blob_get(rl_blob_store *s, const char *address, size_t max, char **data, size_t *len,
                rl_blob_info *info, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!data || !len) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    return s->ops->get(s, address, max, data, len, info, err);
}

int rl_blob_open_read(rl_blob_store *s, const char *address, int *fd, rl_blob_info *info,
                      rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!fd) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    if (!s->ops->open_read)
        return rl_error_set(err, RL_ESTATE, "the %s blob store has no local files; use rl_blob_get",
                            s->ops->name);
    return s->ops->open_read(s, address, fd, info, err);
}

int rl_blob_local_path(rl_blob_store *s, const char *address, char **path, rl_blob_info *info,
                       rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!path) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    if (!s->ops->local_path)
        return rl_error_set(err, RL_ESTATE, "the %s blob store has no local files; use rl_blob_get",
                            s->ops->name);
    return s->ops->local_path(s, address, path, info, err);
}

int rl_blob_stat(rl_blob_store *s, const char *address, rl_blob_info *info, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    if (!info) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    return s->ops->stat(s, address, info, err);
}

int rl_blob_verify(rl_blob_store *s, const char *address, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    return s->ops->verify(s, address, err);
}

int rl_blob_list(rl_blob_store *s, const char *container, const char *prefix, rl_blob_entry **out,
                 size_t *n, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_container_check(container, err))) return rc;
    if (prefix && (rc = check_bytes("blob name prefix", prefix, strlen(prefix), err))) return rc;
    if (prefix && strlen(prefix) > RL_BLOB_ADDRESS_MAX)
        return rl_error_set(err, RL_EINVAL, "blob name prefix is longer than %d bytes",
                            RL_BLOB_ADDRESS_MAX);
    if (!out || !n) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    return s->ops->list(s, container, prefix ? prefix : "", out, n, err);
}

void rl_blob_list_free(rl_blob_entry *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        rl_free(v[i].name);
    rl_free(v);
}

int rl_blob_delete(rl_blob_store *s, const char *address, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err)) || (rc = rl_blob_address_check(address, err))) return rc;
    return s->ops->del(s, address, err);
}

int rl_blob_check(rl_blob_store *s, size_t *checked, rl_error *err)
{
    int rc;
    if ((rc = check_store(s, err))) return rc;
    return s->ops->check(s, checked, err);
}
