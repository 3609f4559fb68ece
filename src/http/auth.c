/* auth.c - credentials: workspace tokens and endpoint keys.
 *
 * Tokens and keys are stored as SHA-256 hashes and compared in constant time.
 * An endpoint key is HMAC-SHA256(server secret, "relearn-key\n" + nonce),
 * base64url: the database holds only the nonce and the hash, and the daemon
 * can show a key to its workspace's token holder without storing it.
 */
#include "http/internal.h"
#include "base/crypto.h"

#include <string.h>
#include <strings.h>

const char *rl_auth_credential(rl_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0) return NULL;
        h += 7;
        while (*h == ' ') h++;
        return *h ? h : NULL;
    }
    h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "api-key");
    return h && *h ? h : NULL;
}

void rl_auth_hash(const char *credential, char out[65])
{
    if (rl_sha256_hex(credential, strlen(credential), out, NULL) != RL_OK) out[0] = '\0';
}

void rl_auth_derive_key(const rl_server *s, const char *nonce, char *out, size_t size)
{
    char msg[128];
    uint8_t mac[RL_SHA256_LEN];
    int n = snprintf(msg, sizeof msg, "relearn-key\n%s", nonce);
    if (n < 0 || rl_hmac_sha256(s->secret, sizeof s->secret, msg, (size_t)n, mac, NULL) ||
        rl_base64url_encode(mac, sizeof mac, out, size, NULL))
        out[0] = '\0';
}

int rl_auth_new_key(const rl_server *s, char nonce[33], char key[64], char hash[65],
                    rl_error *err)
{
    int rc = rl_random_hex(16, nonce, 33, err);
    if (rc) return rc;
    rl_auth_derive_key(s, nonce, key, 64);
    if (!key[0]) return rl_error_set(err, RL_EINTERNAL, "cannot derive a key");
    rl_auth_hash(key, hash);
    return RL_OK;
}

static int hash_equal(const char *a, const char *b)
{
    return strlen(a) == 64 && strlen(b) == 64 && rl_ct_equal(a, b, 64);
}

/* Whether hash is some credential this daemon issued, other than the keys of
 * `except` (NULL: any): a workspace token or another endpoint's key. */
static int known_credential(rl_server *s, const char *hash, const rl_served *except,
                            const char *except_ws)
{
    if (rl_registry_key_elsewhere(s, hash, except)) return 1;
    rl_workspace *all = NULL;
    size_t n = 0;
    int known = 0;
    if (rl_meta_workspace_list(s->meta, &all, &n, NULL) == RL_OK)
        for (size_t i = 0; i < n && !known; i++)
            known = (!except_ws || strcmp(all[i].id, except_ws) != 0) &&
                    hash_equal(hash, all[i].token_hash);
    rl_workspace_list_free(all, n);
    return known;
}

int rl_auth_workspace(rl_req *r, const char *ws, enum MHD_Result *reply)
{
    const char *cred = rl_auth_credential(r);
    if (!cred) {
        *reply = rl_reply_error(r, 401, "MissingCredential",
                                "send the workspace token as 'Authorization: Bearer TOKEN'");
        return -1;
    }
    char hash[65];
    rl_auth_hash(cred, hash);
    rl_workspace *w = NULL;
    rl_error err;
    if (rl_meta_workspace_get(r->srv->meta, ws, &w, &err) != RL_OK) {
        /* Don't tell strangers which workspaces exist. */
        int known = known_credential(r->srv, hash, NULL, NULL);
        if (known)
            *reply = rl_reply_error(r, 404, "WorkspaceNotFound", "workspace '%s' does not exist",
                                    ws);
        else
            *reply = rl_reply_error(r, 401, "InvalidCredential",
                                    "the token is not valid; use the workspace's token");
        return -1;
    }
    int ok = hash_equal(hash, w->token_hash);
    rl_workspace_free(w);
    if (ok) return 0;
    /* A valid credential of something else is 403, an unknown one 401. */
    int elsewhere = known_credential(r->srv, hash, NULL, ws);
    if (elsewhere)
        *reply = rl_reply_error(r, 403, "CredentialOfAnotherResource",
                                "this credential belongs to something else than workspace '%s'",
                                ws);
    else
        *reply = rl_reply_error(r, 401, "InvalidCredential",
                                "the token is not valid for workspace '%s'", ws);
    return -1;
}

int rl_auth_admin(rl_req *r, enum MHD_Result *reply)
{
    const char *cred = rl_auth_credential(r);
    if (!cred) {
        *reply = rl_reply_error(r, 401, "MissingCredential", "creating a workspace takes the "
                                "admin token (the default workspace's)");
        return -1;
    }
    char hash[65];
    rl_auth_hash(cred, hash);
    if (hash_equal(hash, r->srv->admin_hash)) return 0;
    if (known_credential(r->srv, hash, NULL, NULL))
        *reply = rl_reply_error(r, 403, "NotAdmin", "only the admin token (the default "
                                "workspace's) may create workspaces");
    else
        *reply = rl_reply_error(r, 401, "InvalidCredential", "the token is not valid; creating "
                                "a workspace takes the admin token (the default workspace's)");
    return -1;
}

int rl_auth_is_endpoint_key(rl_req *r, const rl_served *sv)
{
    const char *cred = rl_auth_credential(r);
    if (!cred) return 0;
    char hash[65];
    rl_auth_hash(cred, hash);
    pthread_rwlock_rdlock(&r->srv->reg.lock);
    int ok = hash_equal(hash, sv->primary_hash) || hash_equal(hash, sv->secondary_hash);
    pthread_rwlock_unlock(&r->srv->reg.lock);
    return ok;
}

int rl_auth_endpoint(rl_req *r, rl_served *sv, enum MHD_Result *reply)
{
    const char *cred = rl_auth_credential(r);
    if (!cred) {
        *reply = rl_reply_error(r, 401, "MissingCredential",
                                "send the endpoint's API key as 'Authorization: Bearer KEY'");
        return -1;
    }
    char hash[65];
    rl_auth_hash(cred, hash);
    pthread_rwlock_rdlock(&r->srv->reg.lock);
    int ok = hash_equal(hash, sv->primary_hash) || hash_equal(hash, sv->secondary_hash);
    pthread_rwlock_unlock(&r->srv->reg.lock);
    if (ok) return 0;
    int elsewhere = known_credential(r->srv, hash, sv, NULL);
    if (elsewhere)
        *reply = rl_reply_error(r, 403, "CredentialOfAnotherResource",
                                "this key does not belong to this endpoint; use its own "
                                "primary or secondary key");
    else
        *reply = rl_reply_error(r, 401, "InvalidCredential",
                                "the API key is not valid; get the endpoint's keys from the "
                                "management API");
    return -1;
}
