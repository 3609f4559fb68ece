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
 *
 * Models load on first use (default endpoints at start, by --preload-models)
 * through a cache keyed by blob address, so endpoints bound to the same model
 * file share one copy, and unload when idle (--model-idle-seconds): memory
 * grows with the models in use, not with the endpoints defined.
 */
#include "http/internal.h"
#include "base/crypto.h"
#include "base/fs.h"
#include "base/mem.h"
#include "store/blob.h"

#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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
    pthread_mutex_init(&g->cache_lock, NULL);
    return pthread_rwlock_init(&g->lock, NULL) ? RL_EINTERNAL : RL_OK;
}

static void served_free(rl_registry *g, rl_served *sv)
{
    if (!sv) return;
    if (sv->calls && sv->calls != sv) { /* the entry counting this endpoint's calls */
        pthread_rwlock_wrlock(&g->lock);
        long left = --sv->calls->refs;
        pthread_rwlock_unlock(&g->lock);
        if (left == 0) served_free(g, sv->calls);
    }
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
    for (size_t i = 0; i < g->n; i++) served_free(g, g->items[i]);
    rl_free(g->items);
    for (size_t i = 0; i < g->ncache; i++) {
        rl_model_unref(g->cache[i].model);
        rl_free(g->cache[i].address);
    }
    rl_free(g->cache);
    pthread_mutex_destroy(&g->cache_lock);
    pthread_rwlock_destroy(&g->lock);
}

void rl_served_release(rl_server *s, rl_served *sv)
{
    if (!sv) return;
    pthread_rwlock_wrlock(&s->reg.lock);
    long left = --sv->refs;
    pthread_rwlock_unlock(&s->reg.lock);
    if (left == 0) served_free(&s->reg, sv);
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

/* Loads the model blob of an endpoint (the store checks its checksum);
 * sha256 receives the checksum of what was loaded. */
static int load_model(rl_server *s, const char *address, rl_model **out, char sha256[65],
                      rl_error *err)
{
    char *data = NULL;
    size_t len = 0;
    rl_blob_info info;
    int rc = rl_blob_get(s->blobs, address, (size_t)4 << 30, &data, &len, &info, err);
    if (!rc) rc = rl_model_load(data, len, out, err);
    if (!rc) snprintf(sha256, 65, "%s", info.sha256);
    rl_free(data);
    if (rc) { /* name it as clients know it */
        char ext[RL_BLOB_ADDRESS_MAX + 1];
        if (rl_blob_ws_external(address, ext, sizeof ext, NULL, 0, NULL) == RL_OK)
            rl_error_wrap(err, "model %s", ext);
    }
    return rc;
}

/* The cache entry of address holding the blob whose checksum is sha256, or
 * the stale one of address (*stale), or NULL. Under the cache lock. */
static struct rl_cached *cache_find(rl_registry *g, const char *address, const char *sha256,
                                    struct rl_cached **stale)
{
    *stale = NULL;
    for (size_t i = 0; i < g->ncache; i++) {
        if (strcmp(g->cache[i].address, address) != 0) continue;
        if (strcmp(g->cache[i].sha256, sha256) == 0) return &g->cache[i];
        *stale = &g->cache[i];
    }
    return NULL;
}

/* The model at address, shared with every endpoint bound to it. The cache
 * keeps one reference per entry, keyed by address and the blob's checksum:
 * a blob rewritten since it was loaded (a client's file checked and refused,
 * then replaced) is loaded again, never answered from memory. Loading happens
 * outside the cache lock; rl_registry_sweep drops entries nobody else holds. */
int rl_registry_model(rl_server *s, const char *address, rl_model **out, rl_error *err)
{
    rl_registry *g = &s->reg;
    struct rl_cached *hit, *stale;
    rl_blob_info info;
    int rc = rl_blob_stat(s->blobs, address, &info, err);
    if (rc) { /* name it as clients know it */
        char ext[RL_BLOB_ADDRESS_MAX + 1];
        if (rl_blob_ws_external(address, ext, sizeof ext, NULL, 0, NULL) == RL_OK)
            rl_error_wrap(err, "model %s", ext);
        return rc;
    }
    pthread_mutex_lock(&g->cache_lock);
    if ((hit = cache_find(g, address, info.sha256, &stale))) {
        *out = rl_model_ref(hit->model);
        pthread_mutex_unlock(&g->cache_lock);
        return RL_OK;
    }
    pthread_mutex_unlock(&g->cache_lock);
    rl_model *m;
    char sha[65];
    if ((rc = load_model(s, address, &m, sha, err))) return rc;
    pthread_mutex_lock(&g->cache_lock);
    if ((hit = cache_find(g, address, sha, &stale))) { /* loaded meanwhile by another thread? */
        rl_model_unref(m);
        *out = rl_model_ref(hit->model);
        pthread_mutex_unlock(&g->cache_lock);
        return RL_OK;
    }
    if (stale) { /* the blob changed: the new content takes the entry's place */
        rl_model_unref(stale->model); /* endpoints still holding it keep their reference */
        stale->model = rl_model_ref(m);
        snprintf(stale->sha256, sizeof stale->sha256, "%s", sha);
        pthread_mutex_unlock(&g->cache_lock);
        *out = m;
        return RL_OK;
    }
    char *copy = rl_strdup(address);
    if (g->ncache == g->capcache) {
        size_t cap = g->capcache ? g->capcache * 2 : 16;
        struct rl_cached *v = rl_reallocarray(g->cache, cap, sizeof *v);
        if (v) {
            g->cache = v;
            g->capcache = cap;
        }
    }
    if (copy && g->ncache < g->capcache) {
        g->cache[g->ncache].address = copy;
        snprintf(g->cache[g->ncache].sha256, sizeof g->cache[g->ncache].sha256, "%s", sha);
        g->cache[g->ncache].model = rl_model_ref(m);
        g->ncache++;
    } else {
        rl_free(copy); /* serve it uncached rather than fail */
    }
    pthread_mutex_unlock(&g->cache_lock);
    *out = m;
    return RL_OK;
}

int rl_served_model(rl_server *s, rl_served *sv, rl_model **out, rl_error *err)
{
    atomic_store(&sv->last_used, rl_now_ms());
    pthread_mutex_lock(&sv->lock);
    rl_model *m = sv->model ? rl_model_ref(sv->model) : NULL;
    char *blob = !m && sv->model_blob ? rl_strdup(sv->model_blob) : NULL;
    int64_t version = sv->version;
    pthread_mutex_unlock(&sv->lock);
    if (m || !blob) {
        rl_free(blob);
        *out = m;
        return RL_OK;
    }
    int rc = rl_registry_model(s, blob, &m, err);
    if (!rc) {
        pthread_mutex_lock(&sv->lock);
        /* Keep it unless a swap happened while it loaded. */
        if (!sv->model && sv->version == version) sv->model = rl_model_ref(m);
        pthread_mutex_unlock(&sv->lock);
        *out = m;
    }
    rl_free(blob);
    return rc;
}

void rl_registry_sweep(rl_server *s, int64_t now, int64_t idle_ms)
{
    rl_registry *g = &s->reg;
    rl_model **drop = NULL;
    size_t ndrop = 0;
    pthread_rwlock_rdlock(&g->lock);
    drop = rl_calloc(g->n + 1, sizeof *drop);
    for (size_t i = 0; drop && i < g->n; i++) {
        rl_served *sv = g->items[i];
        if (sv->pinned || now - atomic_load(&sv->last_used) < idle_ms) continue;
        pthread_mutex_lock(&sv->lock);
        if (sv->model) drop[ndrop++] = sv->model;
        sv->model = NULL; /* the blob stays: it reloads on next use */
        pthread_mutex_unlock(&sv->lock);
    }
    pthread_rwlock_unlock(&g->lock);
    for (size_t i = 0; i < ndrop; i++) rl_model_unref(drop[i]);
    rl_free(drop);
    /* Cached models nobody else holds go too. */
    pthread_mutex_lock(&g->cache_lock);
    size_t k = 0;
    for (size_t i = 0; i < g->ncache; i++) {
        if (rl_model_refs(g->cache[i].model) == 1) {
            rl_model_unref(g->cache[i].model);
            rl_free(g->cache[i].address);
        } else {
            g->cache[k++] = g->cache[i];
        }
    }
    size_t unloaded = g->ncache - k;
    g->ncache = k;
    pthread_mutex_unlock(&g->cache_lock);
#ifdef __GLIBC__
    /* glibc keeps freed heap pages in its arenas: hand an unloaded model's
     * memory back so that resident memory follows the models in use. */
    if (unloaded || ndrop) malloc_trim(0);
#endif
}

size_t rl_registry_loaded(rl_server *s)
{
    pthread_mutex_lock(&s->reg.cache_lock);
    size_t n = s->reg.ncache;
    pthread_mutex_unlock(&s->reg.cache_lock);
    return n;
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
    atomic_init(&sv->last_used, rl_now_ms());
    sv->calls = sv;
    sv->pinned = s->cfg.preload == RL_PRELOAD_ALL ||
                 (s->cfg.preload == RL_PRELOAD_DEFAULTS && ep->is_default);
    if (ep->model_blob) {
        sv->model_blob = rl_strdup(ep->model_blob);
        if (!sv->model_blob) {
            rc = rl_error_set(err, RL_ENOMEM, "out of memory");
            goto fail;
        }
        if (sv->pinned && (rc = rl_registry_model(s, ep->model_blob, &sv->model, err)))
            goto fail;
    }

    pthread_rwlock_wrlock(&s->reg.lock);
    size_t i = 0;
    while (i < s->reg.n && strcmp(s->reg.items[i]->api_id, sv->api_id) != 0) i++;
    rl_served *old = NULL;
    if (i < s->reg.n) {
        old = s->reg.items[i];
        s->reg.items[i] = sv;
        /* Calls in flight on the replaced entry still count against the
         * endpoint's MaxConcurrentCalls: keep counting on the same entry. */
        sv->calls = old->calls;
        sv->calls->refs++;
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
    if (old && left == 0) served_free(&s->reg, old);
    return RL_OK;
fail:
    served_free(&s->reg, sv);
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
