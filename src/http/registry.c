/* registry.c - the served endpoints: lookup by API id, keys, and the atomic
 * model swap.
 *
 * The registry maps each endpoint's API id to an rl_served built from the
 * metadata store. Lookups take the registry's read lock and a reference, so
 * an entry replaced while a request uses it lives until that request is done.
 * An entry's model is swapped under its own small mutex: a request takes a
 * reference to the model it found and scores with it, so requests in flight
 * finish on the old model, every request that looks after the swap sees the
 * new one, and the last reference frees the old model.
 */
#include "http/internal.h"
#include "base/crypto.h"
#include "base/fs.h"
#include "base/mem.h"
#include "store/blob.h"

#include <stdio.h>
#include <string.h>

void rl_api_id(const char *service_id, const char *endpoint, int is_default, char out[33])
{
    if (is_default) {
        snprintf(out, 33, "%s", service_id);
        return;
    }
    char text[600], hex[65];
    int n = snprintf(text, sizeof text, "%s/%s", service_id, endpoint);
    if (n < 0 || rl_sha256_hex(text, (size_t)n, hex, NULL)) hex[0] = '\0';
    snprintf(out, 33, "%.32s", hex);
}

int rl_registry_init(rl_registry *g)
{
    memset(g, 0, sizeof *g);
    return pthread_rwlock_init(&g->lock, NULL) ? RL_EINTERNAL : RL_OK;
}

static void served_free(rl_served *sv)
{
    if (!sv) return;
    rl_free(sv->workspace_id);
    rl_free(sv->service_id);
    rl_free(sv->endpoint);
    rl_free(sv->model_blob);
    rl_model_unref(sv->model);
    rl_experiment_free(sv->experiment);
    pthread_mutex_destroy(&sv->lock);
    rl_free(sv);
}

void rl_registry_fini(rl_registry *g)
{
    for (size_t i = 0; i < g->n; i++) served_free(g->items[i]);
    rl_free(g->items);
    pthread_rwlock_destroy(&g->lock);
}

void rl_served_release(rl_server *s, rl_served *sv)
{
    if (!sv) return;
    pthread_rwlock_wrlock(&s->reg.lock);
    long left = --sv->refs;
    pthread_rwlock_unlock(&s->reg.lock);
    if (left == 0) served_free(sv);
}

rl_served *rl_registry_get(rl_server *s, const char *api_id)
{
    rl_served *found = NULL;
    /* A write lock keeps the reference count simple; lookups are short. */
    pthread_rwlock_wrlock(&s->reg.lock);
    for (size_t i = 0; i < s->reg.n; i++)
        if (strcmp(s->reg.items[i]->api_id, api_id) == 0) {
            found = s->reg.items[i];
            found->refs++;
            break;
        }
    pthread_rwlock_unlock(&s->reg.lock);
    return found;
}

rl_served *rl_registry_find(rl_server *s, const char *service_id, const char *endpoint)
{
    rl_served *found = NULL;
    pthread_rwlock_wrlock(&s->reg.lock);
    for (size_t i = 0; i < s->reg.n; i++)
        if (!strcmp(s->reg.items[i]->service_id, service_id) &&
            !strcmp(s->reg.items[i]->endpoint, endpoint)) {
            found = s->reg.items[i];
            found->refs++;
            break;
        }
    pthread_rwlock_unlock(&s->reg.lock);
    return found;
}

int rl_registry_key_elsewhere(rl_server *s, const char *hash, const rl_served *except)
{
    int found = 0;
    if (strlen(hash) != 64) return 0;
    pthread_rwlock_rdlock(&s->reg.lock);
    for (size_t i = 0; i < s->reg.n && !found; i++) {
        const rl_served *sv = s->reg.items[i];
        if (sv == except) continue;
        found = rl_ct_equal(hash, sv->primary_hash, 64) || rl_ct_equal(hash, sv->secondary_hash, 64);
    }
    pthread_rwlock_unlock(&s->reg.lock);
    return found;
}

void rl_served_snapshot(rl_served *sv, rl_model **model, int64_t *version)
{
    pthread_mutex_lock(&sv->lock);
    *model = sv->model ? rl_model_ref(sv->model) : NULL;
    if (version) *version = sv->version;
    pthread_mutex_unlock(&sv->lock);
}

void rl_served_swap(rl_served *sv, rl_model *m, const char *blob, int64_t version)
{
    char *copy = blob ? rl_strdup(blob) : NULL;
    pthread_mutex_lock(&sv->lock);
    rl_model *old = sv->model;
    char *old_blob = sv->model_blob;
    sv->model = m ? rl_model_ref(m) : NULL;
    sv->model_blob = copy;
    sv->version = version;
    pthread_mutex_unlock(&sv->lock);
    rl_model_unref(old); /* freed here or by the last request still using it */
    rl_free(old_blob);
}

/* Loads the model blob of an endpoint (the store checks its checksum). */
static int load_model(rl_server *s, const char *address, rl_model **out, rl_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = rl_blob_get(s->blobs, address, (size_t)4 << 30, &data, &len, NULL, err);
    if (!rc) rc = rl_model_load(data, len, out, err);
    rl_free(data);
    if (rc) rl_error_wrap(err, "model %s", address);
    return rc;
}

int rl_registry_put(rl_server *s, const rl_service *svc, const rl_endpoint *ep, rl_error *err)
{
    rl_served *sv = rl_calloc(1, sizeof *sv);
    if (!sv) return rl_error_set(err, RL_ENOMEM, "out of memory");
    pthread_mutex_init(&sv->lock, NULL);
    sv->refs = 1;
    rl_api_id(svc->id, ep->name, ep->is_default, sv->api_id);
    sv->workspace_id = rl_strdup(svc->workspace_id);
    sv->service_id = rl_strdup(svc->id);
    sv->endpoint = rl_strdup(ep->name);
    sv->kind = svc->kind;
    snprintf(sv->primary_hash, sizeof sv->primary_hash, "%s", ep->primary_key_hash);
    snprintf(sv->secondary_hash, sizeof sv->secondary_hash, "%s", ep->secondary_key_hash);
    sv->max_concurrent = ep->max_concurrent_calls;
    sv->version = ep->version;
    int rc = RL_OK;
    if (!sv->workspace_id || !sv->service_id || !sv->endpoint) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory");
        goto fail;
    }
    rl_experiment_opts eo = {"service experiment", NULL, 0};
    if ((rc = rl_experiment_parse(svc->experiment_json, strlen(svc->experiment_json), &eo,
                                  &sv->experiment, err)))
        goto fail;
    if (ep->model_blob) {
        if ((rc = load_model(s, ep->model_blob, &sv->model, err))) goto fail;
        sv->model_blob = rl_strdup(ep->model_blob);
    }

    pthread_rwlock_wrlock(&s->reg.lock);
    size_t i = 0;
    while (i < s->reg.n && strcmp(s->reg.items[i]->api_id, sv->api_id) != 0) i++;
    rl_served *old = NULL;
    if (i < s->reg.n) {
        old = s->reg.items[i];
        s->reg.items[i] = sv;
    } else {
        if (s->reg.n == s->reg.cap) {
            size_t cap = s->reg.cap ? s->reg.cap * 2 : 16;
            rl_served **items = rl_reallocarray(s->reg.items, cap, sizeof *items);
            if (!items) {
                pthread_rwlock_unlock(&s->reg.lock);
                rc = rl_error_set(err, RL_ENOMEM, "out of memory");
                goto fail;
            }
            s->reg.items = items;
            s->reg.cap = cap;
        }
        s->reg.items[s->reg.n++] = sv;
    }
    long left = old ? --old->refs : 1;
    pthread_rwlock_unlock(&s->reg.lock);
    if (old && left == 0) served_free(old);
    return RL_OK;
fail:
    served_free(sv);
    return rc;
}

int rl_registry_load(rl_server *s, rl_error *err)
{
    rl_workspace *ws = NULL;
    size_t nws = 0;
    int rc = rl_meta_workspace_list(s->meta, &ws, &nws, err);
    for (size_t w = 0; !rc && w < nws; w++) {
        rl_service *svcs = NULL;
        size_t nsvc = 0;
        if ((rc = rl_meta_service_list(s->meta, ws[w].id, &svcs, &nsvc, err))) break;
        for (size_t i = 0; !rc && i < nsvc; i++) {
            rl_endpoint *eps = NULL;
            size_t nep = 0;
            if ((rc = rl_meta_endpoint_list(s->meta, svcs[i].id, &eps, &nep, err))) break;
            for (size_t k = 0; !rc && k < nep; k++) {
                rc = rl_registry_put(s, &svcs[i], &eps[k], err);
                if (rc) rl_error_wrap(err, "loading endpoint '%s' of service %s", eps[k].name,
                                      svcs[i].id);
            }
            rl_endpoint_list_free(eps, nep);
        }
        rl_service_list_free(svcs, nsvc);
    }
    rl_workspace_list_free(ws, nws);
    return rc;
}
