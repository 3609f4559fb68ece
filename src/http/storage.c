/* storage.c - the blob store over HTTP: /storage/{container}/{path}.
 *
 * A request names a blob in its external form "container/path"; the
 * workspace comes from the credential (a workspace token) or from the signed
 * token's "ws" field, and the blob lives at the internal address of that
 * workspace (store/blob.h). Uploads stream into a temporary file of the
 * store and are committed atomically only when the whole body arrived.
 */
#include "http/internal.h"
#include "base/crypto.h"
#include "base/mem.h"
#include "store/blob.h"
#include "store/sas.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TOKEN_SECONDS 86400

json_t *rl_blob_location(rl_server *s, const char *internal, int with_token)
{
    char ext[RL_BLOB_ADDRESS_MAX + 1], ws[80], base[600];
    if (rl_blob_ws_external(internal, ext, sizeof ext, ws, sizeof ws, NULL))
        snprintf(ext, sizeof ext, "%s", internal);
    snprintf(base, sizeof base, "%s/storage/", s->public_url);
    json_t *j = json_pack("{s:n, s:s, s:s, s:n}", "ConnectionString", "BaseLocation", base,
                          "RelativeLocation", ext, "SasBlobToken");
    if (with_token && j) {
        char sas[RL_SAS_QUERY_MAX], tok[RL_SAS_QUERY_MAX + 100];
        int64_t expiry = rl_now_ms() / 1000 + DEFAULT_TOKEN_SECONDS;
        if (rl_sas_sign(s->sas_secret, sizeof s->sas_secret, internal, "r", expiry, sas,
                        sizeof sas, NULL) == RL_OK) {
            snprintf(tok, sizeof tok, "?ws=%s&%s", ws, sas);
            json_object_set_new(j, "SasBlobToken", json_string(tok));
        }
    }
    return j;
}

/* The workspace a request acts in, from its bearer token; or, with a signed
 * token, its "ws" (checked by the signature). Replies itself on failure.
 * needed: the signed-token permission ("r", "w", "d"); NULL: a token is
 * required. external: the blob named, for signed tokens. */
static int resolve(rl_req *r, const char *external, const char *needed, char *ws, size_t wsize,
                   char *internal, size_t isize, enum MHD_Result *reply)
{
    rl_server *s = r->srv;
    rl_error err;
    const char *sig = rl_query(r, "sig");
    const char *cred = rl_auth_credential(r);
    if (!cred && sig && needed && external) {
        const char *qws = rl_query(r, "ws");
        if (!qws || rl_blob_ws_address(qws, external, internal, isize, &err)) {
            *reply = rl_reply_error(r, 401, "InvalidSasToken",
                                    "the signed token lacks a valid \"ws\" field");
            return -1;
        }
        /* Rebuild the query the token was made from. */
        char query[RL_SAS_INPUT_MAX];
        snprintf(query, sizeof query, "sv=%s&sp=%s&se=%s&sig=%s", rl_query(r, "sv") ? rl_query(r, "sv") : "",
                 rl_query(r, "sp") ? rl_query(r, "sp") : "", rl_query(r, "se") ? rl_query(r, "se") : "",
                 sig);
        int rc = rl_sas_verify(s->sas_secret, sizeof s->sas_secret, internal, query, needed,
                               rl_now_ms() / 1000, &err);
        if (rc) {
            *reply = rl_reply_rl_error(r, &err, rc == RL_EFORBIDDEN ? "SasPermissionDenied"
                                                                    : "InvalidSasToken");
            return -1;
        }
        snprintf(ws, wsize, "%s", qws);
        return 0;
    }
    if (!cred) {
        *reply = rl_reply_error(r, 401, "MissingCredential",
                                "send a workspace token (Authorization: Bearer TOKEN) or use a "
                                "signed URL");
        return -1;
    }
    /* Which workspace does this token belong to? */
    char hash[65];
    rl_auth_hash(cred, hash);
    rl_workspace *all = NULL;
    size_t n = 0;
    int found = 0;
    if (rl_meta_workspace_list(s->meta, &all, &n, &err) == RL_OK)
        for (size_t i = 0; i < n && !found; i++)
            if (strlen(all[i].token_hash) == 64 && rl_ct_equal(hash, all[i].token_hash, 64)) {
                snprintf(ws, wsize, "%s", all[i].id);
                found = 1;
            }
    rl_workspace_list_free(all, n);
    if (!found) {
        if (rl_registry_key_elsewhere(s, hash, NULL))
            *reply = rl_reply_error(r, 403, "CredentialOfAnotherResource",
                                    "an endpoint key does not open the blob store; use the "
                                    "workspace token");
        else
            *reply = rl_reply_error(r, 401, "InvalidCredential", "the token is not valid");
        return -1;
    }
    if (external && rl_blob_ws_address(ws, external, internal, isize, &err)) {
        *reply = rl_reply_rl_error(r, &err, "InvalidBlobPath");
        return -1;
    }
    return 0;
}

/* The external address named by the path segments after /storage/. */
static int external_address(rl_req *r, char *out, size_t size)
{
    size_t used = 0;
    for (int i = 1; i < r->nseg; i++) {
        int n = snprintf(out + used, size - used, "%s%s", i > 1 ? "/" : "", r->seg[i]);
        if (n < 0 || (size_t)n >= size - used) return -1;
        used += (size_t)n;
    }
    /* A trailing slash or "//" would be hidden by the split: refuse them. */
    size_t plen = strlen(r->path);
    if (plen && r->path[plen - 1] == '/') return -1;
    if (strstr(r->path, "//")) return -1;
    return 0;
}

int rl_storage_upload_begin(rl_req *r, enum MHD_Result *reply)
{
    char ws[80], external[RL_BLOB_ADDRESS_MAX + 1], internal[RL_BLOB_ADDRESS_MAX + 1];
    if (external_address(r, external, sizeof external)) {
        *reply = rl_reply_error(r, 400, "InvalidBlobPath", "name a blob as "
                                "/storage/CONTAINER/PATH (no empty segments)");
        return -1;
    }
    if (resolve(r, external, "w", ws, sizeof ws, internal, sizeof internal, reply)) return -1;
    r->upload_addr = rl_strdup(internal);
    r->upload_ext = rl_strdup(external);
    if (!r->upload_addr || !r->upload_ext) {
        *reply = rl_reply_error(r, 500, "InternalError", "out of memory");
        return -1;
    }
    return 0;
}

int rl_storage_upload_chunk(rl_req *r, const char *data, size_t len)
{
    if (r->upload_failed) return -1;
    if (r->upload_fd < 0) {
        if (rl_blob_tmp_open(r->srv->blobs, &r->upload_fd, &r->upload_tmp, NULL)) return -1;
    }
    while (len) {
        ssize_t w = write(r->upload_fd, data, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

void rl_storage_upload_abort(rl_req *r)
{
    if (r->upload_fd >= 0) close(r->upload_fd);
    r->upload_fd = -1;
    if (r->upload_tmp) rl_blob_tmp_discard(r->srv->blobs, r->upload_tmp);
    rl_free(r->upload_tmp);
    r->upload_tmp = NULL;
    rl_free(r->upload_addr);
    rl_free(r->upload_ext);
    r->upload_addr = r->upload_ext = NULL;
}

static enum MHD_Result put_blob(rl_req *r, const char *internal, const char *external)
{
    rl_error err;
    if (r->upload_failed)
        return rl_reply_error(r, 500, "StorageWriteFailed", "the upload could not be stored");
    if (r->upload_fd < 0 && rl_storage_upload_chunk(r, "", 0))
        return rl_reply_error(r, 500, "StorageWriteFailed", "cannot create a temporary file");
    close(r->upload_fd);
    r->upload_fd = -1;
    /* A model that an endpoint uses is not overwritten either: the endpoint
     * loads it again after a restart. */
    rl_server *s = r->srv;
    rl_blob_info info;
    int referenced = 0;
    pthread_mutex_lock(&s->model_change);
    int rc = rl_meta_blob_referenced(s->meta, internal, &referenced, &err);
    if (!rc && referenced) {
        pthread_mutex_unlock(&s->model_change);
        return rl_reply_error(r, 409, "BlobInUse", "'%s' is a model that an endpoint or its "
                              "history uses; it cannot be overwritten", external);
    }
    if (!rc) rc = rl_blob_commit_tmp(s->blobs, r->upload_tmp, internal, &info, &err);
    pthread_mutex_unlock(&s->model_change);
    if (rc) return rl_reply_rl_error(r, &err, "StorageWriteFailed");
    rl_free(r->upload_tmp);
    r->upload_tmp = NULL;
    return rl_reply_json(r, 201, json_pack("{s:s, s:I, s:s}", "Name", external, "Size",
                                           (json_int_t)info.size, "Sha256", info.sha256));
}

static enum MHD_Result get_blob(rl_req *r, const char *internal, const char *external)
{
    rl_error err;
    int fd;
    rl_blob_info info;
    if (rl_blob_open_read(r->srv->blobs, internal, &fd, &info, &err)) {
        if (err.code == RL_ENOTFOUND)
            return rl_reply_error(r, 404, "BlobNotFound", "no blob '%s'", external);
        return rl_reply_rl_error(r, &err, "StorageReadFailed");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)info.size, fd);
    if (!resp) {
        close(fd);
        return rl_reply_error(r, 500, "InternalError", "out of memory");
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", info.sha256);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    enum MHD_Result rc = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    r->status = 200;
    r->sent = (size_t)info.size;
    r->answered = 1;
    return rc;
}

static enum MHD_Result delete_blob(rl_req *r, const char *internal, const char *external)
{
    rl_error err;
    rl_server *s = r->srv;
    int referenced = 0;
    pthread_mutex_lock(&s->model_change);
    int rc = rl_meta_blob_referenced(s->meta, internal, &referenced, &err);
    if (!rc && referenced) {
        pthread_mutex_unlock(&s->model_change);
        return rl_reply_error(r, 409, "BlobInUse", "'%s' is a model that an endpoint or its "
                              "history uses; it cannot be deleted", external);
    }
    if (!rc) rc = rl_blob_delete(s->blobs, internal, &err);
    pthread_mutex_unlock(&s->model_change);
    if (rc == RL_ENOTFOUND) return rl_reply_error(r, 404, "BlobNotFound", "no blob '%s'", external);
    if (rc) return rl_reply_rl_error(r, &err, NULL);
    return rl_reply_empty(r, 204);
}

static enum MHD_Result list_blobs(rl_req *r, const char *ws, const char *container)
{
    rl_error err;
    if (rl_blob_container_check(container, &err)) return rl_reply_rl_error(r, &err, "InvalidContainer");
    const char *prefix = rl_query(r, "prefix");
    char full[RL_BLOB_ADDRESS_MAX + 1];
    snprintf(full, sizeof full, "%s/%s", ws, prefix ? prefix : "");
    rl_blob_entry *v = NULL;
    size_t n = 0;
    if (rl_blob_list(r->srv->blobs, container, full, &v, &n, &err))
        return rl_reply_rl_error(r, &err, NULL);
    json_t *a = json_array();
    size_t skip = strlen(ws) + 1;
    for (size_t i = 0; i < n; i++) {
        char when[32];
        rl_iso_time(v[i].info.mtime, when, sizeof when);
        if (strlen(v[i].name) <= skip) continue;
        json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s}", "Name", v[i].name + skip,
                                           "Size", (json_int_t)v[i].info.size, "LastModified",
                                           when, "Sha256", v[i].info.sha256));
    }
    rl_blob_list_free(v, n);
    return rl_reply_json(r, 200, a);
}

static enum MHD_Result sign(rl_req *r)
{
    enum MHD_Result reply;
    char ws[80], internal[RL_BLOB_ADDRESS_MAX + 1];
    if (resolve(r, NULL, NULL, ws, sizeof ws, internal, sizeof internal, &reply)) return reply;
    json_t *body = rl_body_json(r, &reply);
    if (!body) return reply;
    const char *path = json_string_value(json_object_get(body, "Path"));
    json_t *pj = json_object_get(body, "Permissions");
    const char *perms = json_string_value(pj);
    json_t *secs = json_object_get(body, "ExpirySeconds");
    json_int_t seconds = secs ? json_integer_value(secs) : 3600;
    rl_error err;
    char sas[RL_SAS_QUERY_MAX], tok[RL_SAS_QUERY_MAX + 100];
    if (!path || (pj && !perms) || (secs && !json_is_integer(secs)) || seconds < 1 ||
        seconds > 366LL * 86400) {
        json_decref(body);
        return rl_reply_error(r, 400, "BadSignRequest", "give \"Path\" (container/path), "
                              "\"Permissions\" (letters of rwd) and \"ExpirySeconds\" (1 to "
                              "31622400)");
    }
    int rc = rl_blob_ws_address(ws, path, internal, sizeof internal, &err);
    if (!rc)
        rc = rl_sas_sign(r->srv->sas_secret, sizeof r->srv->sas_secret, internal,
                         perms ? perms : "r", rl_now_ms() / 1000 + seconds, sas, sizeof sas, &err);
    json_decref(body);
    if (rc) return rl_reply_rl_error(r, &err, "BadSignRequest");
    snprintf(tok, sizeof tok, "?ws=%s&%s", ws, sas);
    return rl_reply_json(r, 200, json_pack("{s:s}", "SasBlobToken", tok));
}

enum MHD_Result rl_route_storage(rl_req *r)
{
    enum MHD_Result reply;
    char ws[80], external[RL_BLOB_ADDRESS_MAX + 1], internal[RL_BLOB_ADDRESS_MAX + 1];
    if (r->nseg == 2 && !strcmp(r->seg[1], "sign") && !strcmp(r->method, "POST")) return sign(r);
    if (r->nseg == 2) {
        if (strcmp(r->method, "GET"))
            return rl_reply_error(r, 405, "MethodNotAllowed", "a container takes GET (list)");
        if (resolve(r, NULL, NULL, ws, sizeof ws, internal, sizeof internal, &reply)) return reply;
        return list_blobs(r, ws, r->seg[1]);
    }
    if (r->nseg < 3 || external_address(r, external, sizeof external))
        return rl_reply_error(r, 400, "InvalidBlobPath", "name a blob as /storage/CONTAINER/PATH "
                              "(no empty segments)");
    const char *needed = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") ? "r"
                         : !strcmp(r->method, "PUT")                              ? "w"
                         : !strcmp(r->method, "DELETE")                           ? "d"
                                                                                  : NULL;
    if (!needed) return rl_reply_error(r, 405, "MethodNotAllowed", "a blob takes GET, PUT or DELETE");
    if (needed[0] != 'w' &&
        resolve(r, external, needed, ws, sizeof ws, internal, sizeof internal, &reply))
        return reply;
    if (needed[0] == 'w') return put_blob(r, r->upload_addr, r->upload_ext);
    if (needed[0] == 'r') return get_blob(r, internal, external);
    return delete_blob(r, internal, external);
}
