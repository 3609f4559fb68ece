/* test_meta.c - the metadata store (store/meta.h) on its SQLite backend:
 * schema versioning, CRUD, atomicity, job state machine, SQL metacharacters,
 * concurrency and out-of-memory paths. */
#include "base/crypto.h"
#include "base/mem.h"
#include "store/meta.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S(x) ((char *)(x))

static const char *HASH_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *HASH_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char *HASH_C = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

typedef struct fixture {
    char dir[64];
    char path[128];
    rl_meta *m;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rl_meta_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/meta.db", f->dir);
    rl_error err;
    if (rl_meta_open_sqlite(f->path, &f->m, &err) != RL_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rl_mem_fail_reset();
    rl_meta_close(f->m);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Runs SQL on the database file through a separate, raw connection. */
static void raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "raw_sql: %s\n", msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static rl_workspace ws(const char *id)
{
    rl_workspace w = {S(id), S(HASH_A), 1000};
    return w;
}

static rl_service svc(const char *id, const char *ws_id, rl_service_kind kind)
{
    rl_service s = {S(id),
                    S(ws_id),
                    S("Census income"),
                    S("a description"),
                    kind,
                    S("{\"g\":1}"),
                    S("Census income [trained model]"),
                    NULL,
                    2000};
    return s;
}

static rl_endpoint ep(const char *service_id, const char *name, int is_default)
{
    rl_endpoint e = {S(service_id),   S(name),   NULL,          3000,
                     S(HASH_A),       S(HASH_B), S("nonce-1"),  S("nonce-2"),
                     RL_THROTTLE_LOW, 4,         RL_TRACE_NONE, S("models/m1.ilearner"),
                     S(HASH_C),       0,         is_default};
    return e;
}

static rl_history_entry entry(rl_history_action action, const char *credential)
{
    rl_history_entry h = {NULL, NULL, 0, 5000, S(credential), NULL, NULL, NULL, NULL, action};
    return h;
}

static rl_job job(const char *id, const char *service_id, int64_t created)
{
    rl_job j = {S(id),
                S(service_id),
                S("default"),
                RL_JOB_NOT_STARTED,
                0,
                S("{\"Inputs\":{}}"),
                NULL,
                NULL,
                0,
                created,
                0,
                0,
                0};
    return j;
}

/* A workspace "w" with a predictive service "s1" and its default endpoint. */
static void seed(rl_meta *m)
{
    rl_workspace w = ws("w");
    rl_service s = svc("s1", "w", RL_SERVICE_PREDICTIVE);
    rl_endpoint e = ep("s1", "default", 1);
    rl_history_entry h = entry(RL_ACTION_PUBLISH, "workspace token");
    rl_error err;
    assert_int_equal(rl_meta_workspace_create(m, &w, &err), RL_OK);
    assert_int_equal(rl_meta_service_create(m, &s, &e, &h, &err), RL_OK);
}

/* ---- opening and schema ---- */

static void test_open_settings(void **state)
{
    fixture *f = *state;
    assert_string_equal(rl_meta_backend(f->m), "sqlite");
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), RL_META_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 0x726c6d64);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(rl_meta_check(f->m, NULL), RL_OK);
}

static void test_reopen_keeps_data(void **state)
{
    fixture *f = *state;
    seed(f->m);
    rl_meta_close(f->m);
    f->m = NULL;
    rl_error err;
    assert_int_equal(rl_meta_open_sqlite(f->path, &f->m, &err), RL_OK);
    rl_service *s = NULL;
    assert_int_equal(rl_meta_service_get(f->m, "s1", &s, &err), RL_OK);
    assert_string_equal(s->name, "Census income");
    rl_service_free(s);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), RL_META_SCHEMA_VERSION);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    rl_meta_close(f->m);
    f->m = NULL;
    raw_sql(f->path, "PRAGMA user_version = 99");
    rl_meta *m = NULL;
    rl_error err;
    assert_int_equal(rl_meta_open_sqlite(f->path, &m, &err), RL_EFORMAT);
    assert_null(m);
    assert_non_null(strstr(err.msg, "version 99"));
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, f->path));
    /* Nothing was changed by the refusal. */
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 99);
}

static void test_foreign_files_refused(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_meta *m = NULL;
    char path[160];
    /* A SQLite database of another program. */
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    raw_sql(path, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi')");
    assert_int_equal(rl_meta_open_sqlite(path, &m, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "another program"));
    assert_int_equal(raw_int(path, "SELECT count(*) FROM notes"), 1);
    /* A file that is not SQLite at all. */
    snprintf(path, sizeof path, "%s/text.db", f->dir);
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, just text\n", fp);
    fclose(fp);
    assert_int_equal(rl_meta_open_sqlite(path, &m, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "not a relearn metadata database"));
    /* In-memory databases and missing directories. */
    assert_int_equal(rl_meta_open_sqlite(":memory:", &m, &err), RL_EINVAL);
    assert_int_equal(rl_meta_open_sqlite("/nonexistent-dir/x/meta.db", &m, &err), RL_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/meta.db"));
    assert_null(m);
}

static void test_corruption_detected(void **state)
{
    fixture *f = *state;
    seed(f->m);
    /* Enough rows to span several pages. */
    for (int i = 0; i < 200; i++) {
        char id[40];
        snprintf(id, sizeof id, "job-%03d", i);
        rl_job j = job(id, "s1", i);
        assert_int_equal(rl_meta_job_create(f->m, &j, NULL), RL_OK);
    }
    rl_meta_close(f->m);
    f->m = NULL;
    raw_sql(f->path, "PRAGMA wal_checkpoint(TRUNCATE)");
    long long pages = raw_int(f->path, "PRAGMA page_count");
    long long psize = raw_int(f->path, "PRAGMA page_size");
    assert_true(pages > 4);
    /* Scribble over the last page from its b-tree header on (a table or
     * index page of the job rows: no deletes, so no free pages). */
    int fd = open(f->path, O_WRONLY);
    char junk[512];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, (off_t)((pages - 1) * psize)),
                     (ssize_t)sizeof junk);
    close(fd);
    rl_error err;
    assert_int_equal(rl_meta_open_sqlite(f->path, &f->m, &err), RL_OK);
    assert_int_equal(rl_meta_check(f->m, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "damaged"));
}

/* ---- workspaces ---- */

static void test_workspace_crud(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_workspace w1 = ws("zeta"), w2 = ws("alpha");
    assert_int_equal(rl_meta_workspace_create(f->m, &w1, &err), RL_OK);
    assert_int_equal(rl_meta_workspace_create(f->m, &w2, &err), RL_OK);
    assert_int_equal(rl_meta_workspace_create(f->m, &w1, &err), RL_EEXIST);
    assert_non_null(strstr(err.msg, "\"zeta\""));
    rl_workspace *got = NULL;
    assert_int_equal(rl_meta_workspace_get(f->m, "zeta", &got, &err), RL_OK);
    assert_string_equal(got->id, "zeta");
    assert_string_equal(got->token_hash, HASH_A);
    assert_int_equal(got->created, 1000);
    rl_workspace_free(got);
    got = NULL;
    assert_int_equal(rl_meta_workspace_get(f->m, "nope", &got, &err), RL_ENOTFOUND);
    assert_null(got);
    assert_non_null(strstr(err.msg, "\"nope\""));
    rl_workspace *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_workspace_list(f->m, &v, &n, &err), RL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "alpha");
    assert_string_equal(v[1].id, "zeta");
    rl_workspace_list_free(v, n);
    assert_int_equal(rl_meta_workspace_delete(f->m, "alpha", &err), RL_OK);
    assert_int_equal(rl_meta_workspace_delete(f->m, "alpha", &err), RL_ENOTFOUND);
}

static void test_workspace_delete_cascades(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_job j = job("j1", "s1", 1);
    assert_int_equal(rl_meta_job_create(f->m, &j, &err), RL_OK);
    assert_int_equal(rl_meta_workspace_delete(f->m, "w", &err), RL_OK);
    rl_service *s = NULL;
    assert_int_equal(rl_meta_service_get(f->m, "s1", &s, &err), RL_ENOTFOUND);
    rl_job *jj = NULL;
    assert_int_equal(rl_meta_job_get(f->m, "j1", &jj, &err), RL_ENOTFOUND);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM endpoint"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM history"), 0);
    assert_int_equal(rl_meta_check(f->m, &err), RL_OK);
}

/* ---- services ---- */

static void test_service_create_with_endpoint(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_service *s = NULL;
    assert_int_equal(rl_meta_service_get(f->m, "s1", &s, &err), RL_OK);
    assert_string_equal(s->workspace_id, "w");
    assert_int_equal(s->kind, RL_SERVICE_PREDICTIVE);
    assert_string_equal(s->experiment_json, "{\"g\":1}");
    assert_string_equal(s->model_resource_name, "Census income [trained model]");
    assert_null(s->partner_id);
    assert_int_equal(s->created, 2000);
    rl_service_free(s);
    rl_endpoint *e = NULL;
    assert_int_equal(rl_meta_endpoint_get(f->m, "s1", "default", &e, &err), RL_OK);
    assert_int_equal(e->version, 1);
    assert_int_equal(e->is_default, 1);
    assert_null(e->description);
    assert_string_equal(e->model_blob, "models/m1.ilearner");
    assert_int_equal(e->throttle_level, RL_THROTTLE_LOW);
    assert_int_equal(e->diagnostics_trace_level, RL_TRACE_NONE);
    assert_int_equal(e->max_concurrent_calls, 4);
    assert_string_equal(e->key_nonce_secondary, "nonce-2");
    rl_endpoint_free(e);
    rl_history_entry *h = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_history_list(f->m, "s1", "default", &h, &n, &err), RL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].seq, 1);
    assert_int_equal(h[0].action, RL_ACTION_PUBLISH);
    assert_string_equal(h[0].model_blob, "models/m1.ilearner");
    assert_string_equal(h[0].model_sha256, HASH_C);
    assert_string_equal(h[0].credential, "workspace token");
    assert_string_equal(h[0].service_id, "s1");
    assert_string_equal(h[0].endpoint, "default");
    rl_history_list_free(h, n);
    /* Same id again. */
    rl_service dup = svc("s1", "w", RL_SERVICE_TRAINING);
    assert_int_equal(rl_meta_service_create(f->m, &dup, NULL, NULL, &err), RL_EEXIST);
    /* Unknown workspace: nothing created. */
    rl_service orphan = svc("s2", "nowhere", RL_SERVICE_TRAINING);
    assert_int_equal(rl_meta_service_create(f->m, &orphan, NULL, NULL, &err), RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "\"nowhere\""));
    assert_int_equal(rl_meta_service_get(f->m, "s2", &s, &err), RL_ENOTFOUND);
}

static void test_service_create_atomic(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    /* Make the history insert fail inside the transaction: service, endpoint
     * and history must all be absent afterwards. */
    raw_sql(f->path, "CREATE TRIGGER boom BEFORE INSERT ON history WHEN NEW.credential = 'boom' "
                     "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    rl_service s = svc("s2", "w", RL_SERVICE_PREDICTIVE);
    rl_endpoint e = ep("ignored", "default", 1);
    rl_history_entry h = entry(RL_ACTION_PUBLISH, "boom");
    assert_int_not_equal(rl_meta_service_create(f->m, &s, &e, &h, &err), RL_OK);
    assert_non_null(strstr(err.msg, "injected failure"));
    rl_service *got = NULL;
    assert_int_equal(rl_meta_service_get(f->m, "s2", &got, &err), RL_ENOTFOUND);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM endpoint WHERE service_id = 's2'"), 0);
    /* A second default endpoint in one service is refused with a clear word. */
    rl_endpoint e2 = ep("s1", "other", 1);
    assert_int_equal(rl_meta_endpoint_create(f->m, &e2, NULL, &err), RL_EEXIST);
    assert_non_null(strstr(err.msg, "default endpoint already"));
    raw_sql(f->path, "DROP TRIGGER boom");
    h.credential = S("fine");
    assert_int_equal(rl_meta_service_create(f->m, &s, &e, &h, &err), RL_OK);
    rl_endpoint *ge = NULL;
    assert_int_equal(rl_meta_endpoint_get(f->m, "s2", "default", &ge, &err), RL_OK);
    assert_string_equal(ge->service_id, "s2"); /* taken from the service */
    rl_endpoint_free(ge);
}

static void test_service_update_list_partner(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_service t = svc("t1", "w", RL_SERVICE_TRAINING);
    t.created = 1500;
    assert_int_equal(rl_meta_service_create(f->m, &t, NULL, NULL, &err), RL_OK);
    /* A predictive service created with a partner links both ways. */
    rl_service p = svc("p1", "w", RL_SERVICE_PREDICTIVE);
    p.partner_id = S("t1");
    p.created = 2500;
    assert_int_equal(rl_meta_service_create(f->m, &p, NULL, NULL, &err), RL_OK);
    rl_service *got = NULL;
    assert_int_equal(rl_meta_service_get(f->m, "t1", &got, &err), RL_OK);
    assert_string_equal(got->partner_id, "p1");
    rl_service_free(got);
    /* Relink t1 with s1: p1 loses its partner. */
    assert_int_equal(rl_meta_service_link(f->m, "s1", "t1", &err), RL_OK);
    assert_int_equal(rl_meta_service_get(f->m, "p1", &got, &err), RL_OK);
    assert_null(got->partner_id);
    rl_service_free(got);
    assert_int_equal(rl_meta_service_get(f->m, "s1", &got, &err), RL_OK);
    assert_string_equal(got->partner_id, "t1");
    rl_service_free(got);
    assert_int_equal(rl_meta_service_link(f->m, "s1", "ghost", &err), RL_ENOTFOUND);
    assert_int_equal(rl_meta_service_link(f->m, "s1", "s1", &err), RL_EINVAL);
    /* Deleting t1 clears s1's partner. */
    assert_int_equal(rl_meta_service_delete(f->m, "t1", &err), RL_OK);
    assert_int_equal(rl_meta_service_get(f->m, "s1", &got, &err), RL_OK);
    assert_null(got->partner_id);
    /* Update rewrites the mutable fields only. */
    rl_free(got->name);
    got->name = rl_strdup("renamed");
    rl_free(got->description);
    got->description = NULL;
    got->kind = RL_SERVICE_TRAINING; /* ignored */
    assert_int_equal(rl_meta_service_update(f->m, got, &err), RL_OK);
    rl_service_free(got);
    assert_int_equal(rl_meta_service_get(f->m, "s1", &got, &err), RL_OK);
    assert_string_equal(got->name, "renamed");
    assert_null(got->description);
    assert_int_equal(got->kind, RL_SERVICE_PREDICTIVE);
    rl_free(got->id);
    got->id = rl_strdup("ghost");
    assert_int_equal(rl_meta_service_update(f->m, got, &err), RL_ENOTFOUND);
    rl_service_free(got);
    /* List: oldest first; an empty workspace gives 0; a missing one fails. */
    rl_service *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_service_list(f->m, "w", &v, &n, &err), RL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "s1");
    assert_string_equal(v[1].id, "p1");
    rl_service_list_free(v, n);
    rl_workspace empty = ws("empty");
    assert_int_equal(rl_meta_workspace_create(f->m, &empty, &err), RL_OK);
    assert_int_equal(rl_meta_service_list(f->m, "empty", &v, &n, &err), RL_OK);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_int_equal(rl_meta_service_list(f->m, "missing", &v, &n, &err), RL_ENOTFOUND);
}

/* ---- endpoints and history ---- */

static void test_endpoint_crud(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_endpoint e = ep("s1", "beta", 0);
    e.model_blob = NULL;
    e.model_sha256 = NULL;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_OK);
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EEXIST);
    assert_non_null(strstr(err.msg, "\"beta\" exists already"));
    rl_endpoint a = ep("s1", "alpha", 0);
    assert_int_equal(rl_meta_endpoint_create(f->m, &a, NULL, &err), RL_OK);
    rl_endpoint ghost = ep("nosuch", "x", 0);
    assert_int_equal(rl_meta_endpoint_create(f->m, &ghost, NULL, &err), RL_ENOTFOUND);
    rl_endpoint *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_endpoint_list(f->m, "s1", &v, &n, &err), RL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "default");
    assert_string_equal(v[1].name, "alpha");
    assert_string_equal(v[2].name, "beta");
    assert_null(v[2].model_blob);
    rl_endpoint_list_free(v, n);
    /* Update: settings change, the model does not. */
    rl_endpoint u = ep("s1", "alpha", 0);
    u.description = S("new description");
    u.throttle_level = RL_THROTTLE_HIGH;
    u.max_concurrent_calls = 20;
    u.diagnostics_trace_level = RL_TRACE_ALL;
    u.primary_key_hash = S(HASH_C);
    u.model_blob = S("models/other");
    assert_int_equal(rl_meta_endpoint_update(f->m, &u, &err), RL_OK);
    rl_endpoint *g = NULL;
    assert_int_equal(rl_meta_endpoint_get(f->m, "s1", "alpha", &g, &err), RL_OK);
    assert_string_equal(g->description, "new description");
    assert_int_equal(g->throttle_level, RL_THROTTLE_HIGH);
    assert_int_equal(g->max_concurrent_calls, 20);
    assert_int_equal(g->diagnostics_trace_level, RL_TRACE_ALL);
    assert_string_equal(g->primary_key_hash, HASH_C);
    assert_string_equal(g->model_blob, "models/m1.ilearner");
    assert_int_equal(g->version, 1);
    rl_endpoint_free(g);
    u.is_default = 1;
    assert_int_equal(rl_meta_endpoint_update(f->m, &u, &err), RL_EEXIST);
    u.is_default = 0;
    u.name = S("gone");
    assert_int_equal(rl_meta_endpoint_update(f->m, &u, &err), RL_ENOTFOUND);
    /* Delete takes the history along. */
    assert_int_equal(rl_meta_endpoint_delete(f->m, "s1", "default", &err), RL_OK);
    assert_int_equal(rl_meta_endpoint_delete(f->m, "s1", "default", &err), RL_ENOTFOUND);
    rl_history_entry *h = NULL;
    assert_int_equal(rl_meta_history_list(f->m, "s1", "default", &h, &n, &err), RL_ENOTFOUND);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM history"), 0);
    assert_int_equal(rl_meta_endpoint_list(f->m, "nosuch", &v, &n, &err), RL_ENOTFOUND);
}

static void test_set_model_and_history(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_history_entry h = entry(RL_ACTION_UPDATE_RESOURCE, "endpoint default primary key");
    h.job_id = S("job-1");
    h.evaluation_json = S("{\"AUC\":0.9}");
    h.time = 7000;
    int64_t version = 0;
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m2.ilearner", HASH_A,
                                                &h, 1, &version, &err),
                     RL_OK);
    assert_int_equal(version, 2);
    /* Compare-and-set: a stale expected version changes nothing. */
    version = 42;
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m3.ilearner", HASH_B,
                                                &h, 1, &version, &err),
                     RL_ESTATE);
    assert_int_equal(version, 42);
    assert_non_null(strstr(err.msg, "version 2"));
    rl_history_entry r = entry(RL_ACTION_ROLLBACK, "workspace token");
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m1.ilearner", HASH_C,
                                                &r, -1, &version, &err),
                     RL_OK);
    assert_int_equal(version, 3);
    rl_endpoint *e = NULL;
    assert_int_equal(rl_meta_endpoint_get(f->m, "s1", "default", &e, &err), RL_OK);
    assert_int_equal(e->version, 3);
    assert_string_equal(e->model_blob, "models/m1.ilearner");
    rl_endpoint_free(e);
    rl_history_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_history_list(f->m, "s1", "default", &v, &n, &err), RL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].seq, (int64_t)i + 1);
    assert_int_equal(v[1].action, RL_ACTION_UPDATE_RESOURCE);
    assert_string_equal(v[1].model_blob, "models/m2.ilearner");
    assert_string_equal(v[1].job_id, "job-1");
    assert_string_equal(v[1].evaluation_json, "{\"AUC\":0.9}");
    assert_int_equal(v[1].time, 7000);
    assert_int_equal(v[2].action, RL_ACTION_ROLLBACK);
    assert_null(v[2].job_id);
    rl_history_list_free(v, n);
    rl_history_entry *one = NULL;
    assert_int_equal(rl_meta_history_get(f->m, "s1", "default", 2, &one, &err), RL_OK);
    assert_string_equal(one->model_sha256, HASH_A);
    rl_history_entry_free(one);
    assert_int_equal(rl_meta_history_get(f->m, "s1", "default", 9, &one, &err), RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "history entry 9"));
    assert_int_equal(rl_meta_history_get(f->m, "s1", "default", 0, &one, &err), RL_EINVAL);
    /* Missing endpoint. */
    assert_int_equal(
        rl_meta_endpoint_set_model(f->m, "s1", "nope", "models/x", HASH_A, &r, -1, NULL, &err),
        RL_ENOTFOUND);
    /* Blob and sha go together. */
    assert_int_equal(
        rl_meta_endpoint_set_model(f->m, "s1", "default", "models/x", NULL, &r, -1, NULL, &err),
        RL_EINVAL);
    /* Clearing the model is allowed (both NULL). */
    assert_int_equal(
        rl_meta_endpoint_set_model(f->m, "s1", "default", NULL, NULL, &r, -1, &version, &err),
        RL_OK);
    assert_int_equal(version, 4);
}

static void test_set_model_atomic(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    raw_sql(f->path, "CREATE TRIGGER boom BEFORE INSERT ON history WHEN NEW.credential = 'boom' "
                     "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    rl_history_entry h = entry(RL_ACTION_UPDATE_RESOURCE, "boom");
    int64_t version = 0;
    assert_int_not_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/new", HASH_B, &h,
                                                    -1, &version, &err),
                         RL_OK);
    assert_non_null(strstr(err.msg, "injected failure"));
    /* The endpoint update before the failing insert was rolled back. */
    rl_endpoint *e = NULL;
    assert_int_equal(rl_meta_endpoint_get(f->m, "s1", "default", &e, &err), RL_OK);
    assert_int_equal(e->version, 1);
    assert_string_equal(e->model_blob, "models/m1.ilearner");
    assert_string_equal(e->model_sha256, HASH_C);
    rl_endpoint_free(e);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM history"), 1);
    /* And the connection is usable afterwards. */
    h.credential = S("ok");
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/new", HASH_B, &h, 1,
                                                &version, &err),
                     RL_OK);
    assert_int_equal(version, 2);
}

static void test_blob_referenced(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    int ref = -1;
    assert_int_equal(rl_meta_blob_referenced(f->m, "models/m1.ilearner", &ref, &err), RL_OK);
    assert_int_equal(ref, 1);
    rl_history_entry h = entry(RL_ACTION_UPDATE_RESOURCE, "c");
    assert_int_equal(
        rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m2", HASH_A, &h, -1, NULL, &err),
        RL_OK);
    /* m1 is no longer on the endpoint but still in its history. */
    assert_int_equal(rl_meta_blob_referenced(f->m, "models/m1.ilearner", &ref, &err), RL_OK);
    assert_int_equal(ref, 1);
    assert_int_equal(rl_meta_blob_referenced(f->m, "models/m2", &ref, &err), RL_OK);
    assert_int_equal(ref, 1);
    /* Not LIKE: wildcards match nothing but themselves. */
    assert_int_equal(rl_meta_blob_referenced(f->m, "models/%", &ref, &err), RL_OK);
    assert_int_equal(ref, 0);
    assert_int_equal(rl_meta_blob_referenced(f->m, "models/m_", &ref, &err), RL_OK);
    assert_int_equal(ref, 0);
    assert_int_equal(rl_meta_endpoint_delete(f->m, "s1", "default", &err), RL_OK);
    assert_int_equal(rl_meta_blob_referenced(f->m, "models/m1.ilearner", &ref, &err), RL_OK);
    assert_int_equal(ref, 0);
}

/* ---- names with SQL metacharacters ---- */

static void test_sql_metacharacters(void **state)
{
    fixture *f = *state;
    rl_error err;
    static const char *names[] = {
        "x'); DROP TABLE service; --",
        "\"double\" and 'single' quotes",
        "semi;colon;",
        "percent % underscore _ backslash \\",
        "?1 ?2 :name @p $v",
        "unicode \xc3\xa9\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
        "/* comment */ -- trailing",
    };
    size_t count = sizeof names / sizeof names[0];
    for (size_t i = 0; i < count; i++) {
        rl_workspace w = ws(names[i]);
        assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_OK);
        char sid[16];
        snprintf(sid, sizeof sid, "svc%zu", i);
        rl_service s = svc(sid, names[i], RL_SERVICE_TRAINING);
        s.name = S(names[i]);
        s.description = S(names[i]);
        rl_endpoint e = ep(sid, names[i], 1);
        e.model_blob = S(names[i]);
        assert_int_equal(rl_meta_service_create(f->m, &s, &e, NULL, &err), RL_OK);
        rl_job j = job(names[i], sid, (int64_t)i);
        j.endpoint = S(names[i]);
        assert_int_equal(rl_meta_job_create(f->m, &j, &err), RL_OK);
    }
    for (size_t i = 0; i < count; i++) {
        rl_workspace *w = NULL;
        assert_int_equal(rl_meta_workspace_get(f->m, names[i], &w, &err), RL_OK);
        assert_string_equal(w->id, names[i]);
        rl_workspace_free(w);
        rl_service *v = NULL;
        size_t n = 0;
        assert_int_equal(rl_meta_service_list(f->m, names[i], &v, &n, &err), RL_OK);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].name, names[i]);
        assert_string_equal(v[0].description, names[i]);
        rl_endpoint *e = NULL;
        assert_int_equal(rl_meta_endpoint_get(f->m, v[0].id, names[i], &e, &err), RL_OK);
        assert_string_equal(e->name, names[i]);
        assert_string_equal(e->model_blob, names[i]);
        rl_endpoint_free(e);
        int ref = 0;
        assert_int_equal(rl_meta_blob_referenced(f->m, names[i], &ref, &err), RL_OK);
        assert_int_equal(ref, 1);
        rl_job *j = NULL;
        assert_int_equal(rl_meta_job_get(f->m, names[i], &j, &err), RL_OK);
        assert_string_equal(j->endpoint, names[i]);
        rl_job_free(j);
        rl_service_list_free(v, n);
    }
    /* Every table is still there and consistent. */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM service"), (long long)count);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM workspace"), (long long)count);
    assert_int_equal(rl_meta_check(f->m, &err), RL_OK);
    /* The not-found message names the thing as given. */
    rl_workspace *w = NULL;
    assert_int_equal(rl_meta_workspace_get(f->m, "no'; --", &w, &err), RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no'; --"));
}

static void test_validation(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_workspace w = ws("bad\xff");
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "UTF-8"));
    w.id = S("overlong \xc0\xaf");
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    w.id = S("tab\there");
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "control character"));
    w.id = S("");
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    char longid[RL_META_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    w.id = longid;
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    w.id = S("ok");
    w.token_hash = S("ABCDEF");
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "token hash"));
    w.token_hash = NULL;
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);
    w.token_hash = S(HASH_A);
    w.created = -5;
    assert_int_equal(rl_meta_workspace_create(f->m, &w, &err), RL_EINVAL);

    rl_service s = svc("s9", "w", (rl_service_kind)7);
    assert_int_equal(rl_meta_service_create(f->m, &s, NULL, NULL, &err), RL_EINVAL);
    s.kind = RL_SERVICE_TRAINING;
    s.experiment_json = NULL;
    assert_int_equal(rl_meta_service_create(f->m, &s, NULL, NULL, &err), RL_EINVAL);
    s = svc("s9", "w", RL_SERVICE_TRAINING);
    s.partner_id = S("s9");
    assert_int_equal(rl_meta_service_create(f->m, &s, NULL, NULL, &err), RL_EINVAL);
    s.partner_id = S("ghost");
    assert_int_equal(rl_meta_service_create(f->m, &s, NULL, NULL, &err), RL_ENOTFOUND);
    s.partner_id = NULL;
    rl_history_entry h = entry(RL_ACTION_PUBLISH, "c");
    assert_int_equal(rl_meta_service_create(f->m, &s, NULL, &h, &err), RL_EINVAL);

    rl_endpoint e = ep("s1", "e2", 0);
    e.throttle_level = (rl_throttle)0;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EINVAL);
    e = ep("s1", "e2", 0);
    e.max_concurrent_calls = 0;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EINVAL);
    e = ep("s1", "e2", 0);
    e.diagnostics_trace_level = (rl_trace_level)9;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EINVAL);
    e = ep("s1", "e2", 0);
    e.model_sha256 = NULL;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EINVAL);
    e = ep("s1", "e2", 2);
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EINVAL);
    e = ep("s1", "e2", 0);
    e.key_nonce_primary = NULL;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, NULL, &err), RL_EINVAL);
    e = ep("s1", "e2", 0);
    h.action = (rl_history_action)0;
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, &h, &err), RL_EINVAL);
    h = entry(RL_ACTION_PUBLISH, NULL);
    assert_int_equal(rl_meta_endpoint_create(f->m, &e, &h, &err), RL_EINVAL);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM endpoint"), 1);

    assert_int_equal(rl_meta_workspace_get(NULL, "w", NULL, &err), RL_EINVAL);
    rl_workspace *out = NULL;
    assert_int_equal(rl_meta_workspace_get(f->m, NULL, &out, &err), RL_EINVAL);
    assert_int_equal(rl_meta_service_link(f->m, NULL, NULL, &err), RL_EINVAL);

    /* Enum names round-trip and refuse near misses. */
    rl_job_status st;
    assert_int_equal(rl_job_status_parse("NotStarted", &st, &err), RL_OK);
    assert_int_equal(st, RL_JOB_NOT_STARTED);
    assert_int_equal(rl_job_status_parse("notstarted", &st, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "\"Finished\""));
    assert_int_equal(rl_job_status_parse(NULL, &st, &err), RL_EINVAL);
    rl_throttle t;
    assert_int_equal(rl_throttle_parse("High", &t, &err), RL_OK);
    assert_int_equal(t, RL_THROTTLE_HIGH);
    rl_trace_level tl;
    assert_int_equal(rl_trace_level_parse("All", &tl, &err), RL_OK);
    rl_history_action a;
    assert_int_equal(rl_history_action_parse("definition-update", &a, &err), RL_OK);
    assert_int_equal(a, RL_ACTION_DEFINITION_UPDATE);
    rl_service_kind k;
    assert_int_equal(rl_service_kind_parse("predictive", &k, &err), RL_OK);
    assert_string_equal(rl_job_status_name(RL_JOB_CANCELLED), "Cancelled");
    assert_string_equal(rl_job_status_name((rl_job_status)77), "?");
    assert_string_equal(rl_history_action_name(RL_ACTION_UPDATE_RESOURCE), "update-resource");
    assert_string_equal(rl_trace_level_name(RL_TRACE_ERROR), "Error");
    assert_string_equal(rl_service_kind_name(RL_SERVICE_TRAINING), "training");
    assert_string_equal(rl_throttle_name(RL_THROTTLE_LOW), "Low");
}

/* ---- jobs ---- */

static void test_job_state_machine(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    rl_job j = job("j1", "s1", 100);
    assert_int_equal(rl_meta_job_create(f->m, &j, &err), RL_OK);
    assert_int_equal(rl_meta_job_create(f->m, &j, &err), RL_EEXIST);
    rl_job orphan = job("j0", "nosuch", 1);
    assert_int_equal(rl_meta_job_create(f->m, &orphan, &err), RL_ENOTFOUND);

    /* Submitted but not started: not runnable, cannot be claimed. */
    rl_job *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_job_list_runnable(f->m, &v, &n, &err), RL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(rl_meta_job_claim(f->m, "j1", 200, &err), RL_ESTATE);
    assert_non_null(strstr(err.msg, "has not started it"));
    assert_int_equal(rl_meta_job_set_progress(f->m, "j1", 0.5, &err), RL_ESTATE);

    assert_int_equal(rl_meta_job_start_request(f->m, "j1", &err), RL_OK);
    assert_int_equal(rl_meta_job_start_request(f->m, "j1", &err), RL_OK); /* idempotent */
    assert_int_equal(rl_meta_job_list_runnable(f->m, &v, &n, &err), RL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "j1");
    assert_int_equal(v[0].status, RL_JOB_NOT_STARTED);
    assert_int_equal(v[0].start_requested, 1);
    rl_job_list_free(v, n);

    assert_int_equal(rl_meta_job_claim(f->m, "j1", 200, &err), RL_OK);
    assert_int_equal(rl_meta_job_claim(f->m, "j1", 201, &err), RL_ESTATE);
    assert_non_null(strstr(err.msg, "it is Running"));
    assert_int_equal(rl_meta_job_start_request(f->m, "j1", &err), RL_ESTATE);
    assert_int_equal(rl_meta_job_delete(f->m, "j1", &err), RL_ESTATE);
    assert_int_equal(rl_meta_job_set_progress(f->m, "j1", 0.25, &err), RL_OK);
    assert_int_equal(rl_meta_job_set_progress(f->m, "j1", 1.5, &err), RL_EINVAL);
    assert_int_equal(rl_meta_job_set_progress(f->m, "j1", -0.1, &err), RL_EINVAL);
    assert_int_equal(rl_meta_job_set_progress(f->m, "j1", NAN, &err), RL_EINVAL);
    assert_int_equal(rl_meta_job_set_results(f->m, "j1", "{\"partial\":1}", &err), RL_OK);
    rl_job *g = NULL;
    assert_int_equal(rl_meta_job_get(f->m, "j1", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_RUNNING);
    assert_int_equal(g->started, 200);
    assert_int_equal(g->finished, 0);
    assert_int_equal(g->attempts, 1);
    assert_true(g->progress == 0.25);
    assert_string_equal(g->results_json, "{\"partial\":1}");
    assert_string_equal(g->request_json, "{\"Inputs\":{}}");
    rl_job_free(g);

    assert_int_equal(rl_meta_job_finish(f->m, "j1", RL_JOB_RUNNING, NULL, NULL, 300, &err),
                     RL_EINVAL);
    assert_int_equal(
        rl_meta_job_finish(f->m, "j1", RL_JOB_FINISHED, "{\"output1\":{}}", NULL, 300, &err),
        RL_OK);
    assert_int_equal(rl_meta_job_finish(f->m, "j1", RL_JOB_FAILED, NULL, "x", 301, &err),
                     RL_ESTATE);
    assert_int_equal(rl_meta_job_cancel(f->m, "j1", NULL, 302, &err), RL_ESTATE);
    assert_non_null(strstr(err.msg, "it is Finished"));
    assert_non_null(strstr(err.msg, "NotStarted or Running"));
    assert_int_equal(rl_meta_job_get(f->m, "j1", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_FINISHED);
    assert_int_equal(g->finished, 300);
    assert_true(g->progress == 1.0);
    assert_string_equal(g->results_json, "{\"output1\":{}}");
    rl_job_free(g);
    assert_int_equal(rl_meta_job_set_results(f->m, "j1", "{\"fixed\":1}", &err), RL_OK);

    /* Cancel from NotStarted and from Running; Failed keeps its details. */
    rl_job j2 = job("j2", "s1", 101), j3 = job("j3", "s1", 102);
    j3.start_requested = 1;
    assert_int_equal(rl_meta_job_create(f->m, &j2, &err), RL_OK);
    assert_int_equal(rl_meta_job_create(f->m, &j3, &err), RL_OK);
    assert_int_equal(rl_meta_job_cancel(f->m, "j2", "client asked", 400, &err), RL_OK);
    assert_int_equal(rl_meta_job_set_results(f->m, "j2", "{}", &err), RL_ESTATE);
    assert_int_equal(rl_meta_job_claim(f->m, "j3", 401, &err), RL_OK);
    assert_int_equal(rl_meta_job_finish(f->m, "j3", RL_JOB_FAILED, NULL, "bad input", 402, &err),
                     RL_OK);
    assert_int_equal(rl_meta_job_get(f->m, "j2", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_CANCELLED);
    assert_string_equal(g->details, "client asked");
    rl_job_free(g);
    assert_int_equal(rl_meta_job_get(f->m, "j3", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_FAILED);
    assert_string_equal(g->details, "bad input");
    assert_null(g->results_json);
    rl_job_free(g);

    assert_int_equal(rl_meta_job_list(f->m, "s1", &v, &n, &err), RL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, "j1");
    assert_string_equal(v[2].id, "j3");
    rl_job_list_free(v, n);
    assert_int_equal(rl_meta_job_delete(f->m, "j2", &err), RL_OK);
    assert_int_equal(rl_meta_job_delete(f->m, "j2", &err), RL_ENOTFOUND);
    assert_int_equal(rl_meta_job_claim(f->m, "ghost", 1, &err), RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "\"ghost\""));
    assert_int_equal(rl_meta_job_list(f->m, "nosuch", &v, &n, &err), RL_ENOTFOUND);
}

/* A finished job of s1 whose results name the given text. */
static void finished_job(rl_meta *m, const char *id, int64_t created, const char *results)
{
    rl_error err;
    rl_job j = job(id, "s1", created);
    j.start_requested = 1;
    assert_int_equal(rl_meta_job_create(m, &j, &err), RL_OK);
    assert_int_equal(rl_meta_job_claim(m, id, created + 1, &err), RL_OK);
    assert_int_equal(rl_meta_job_finish(m, id, RL_JOB_FINISHED, results, NULL, created + 2, &err),
                     RL_OK);
}

/* Which job made a model file: the newest job whose results name it, or the
 * job of the newest history entry bound to it; one row each, literal text
 * (no LIKE wildcards), out-parameter untouched on failure. */
static void test_find_job_of_model(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    finished_job(f->m, "j1", 100, "{\"output1\":{\"RelativeLocation\":\"retrain/m.ilearner\"}}");
    finished_job(f->m, "j2", 200, "{\"output1\":{\"RelativeLocation\":\"retrain/m.ilearner\"}}");
    finished_job(f->m, "j3", 300, "{\"output1\":{\"RelativeLocation\":\"retrain/x.ilearner\"}}");
    rl_job j4 = job("j4", "s1", 400); /* no results yet */
    assert_int_equal(rl_meta_job_create(f->m, &j4, &err), RL_OK);
    char id[RL_META_ID_MAX + 1];
    assert_int_equal(rl_meta_job_find_by_result(f->m, "s1", "retrain/m.ilearner", id, &err), RL_OK);
    assert_string_equal(id, "j2");
    assert_int_equal(rl_meta_job_find_by_result(f->m, "s1", "retrain/x.ilearner", id, &err), RL_OK);
    assert_string_equal(id, "j3");
    static const char *none[] = {"retrain/none.ilearner", "retrain/m_ilearner", "retrain/%",
                                 "x'); DROP TABLE job; --"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        assert_int_equal(rl_meta_job_find_by_result(f->m, "s1", none[i], id, &err), RL_OK);
        assert_string_equal(id, "");
    }
    assert_int_equal(rl_meta_job_find_by_result(f->m, "nosuch", "retrain/m.ilearner", id, &err),
                     RL_OK);
    assert_string_equal(id, "");
    snprintf(id, sizeof id, "untouched");
    assert_int_equal(rl_meta_job_find_by_result(f->m, "s1", "", id, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(rl_meta_job_find_by_result(f->m, "s1", NULL, id, &err), RL_EINVAL);
    assert_int_equal(rl_meta_job_find_by_result(f->m, "s1", "a", NULL, &err), RL_EINVAL);
    assert_int_equal(rl_meta_job_find_by_result(NULL, "s1", "a", id, &err), RL_EINVAL);
    assert_string_equal(id, "untouched");

    /* History: update-resource with a job, a rollback to the same file
     * without one, another model without a job. */
    rl_history_entry h = entry(RL_ACTION_UPDATE_RESOURCE, "workspace token");
    h.job_id = S("j1");
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m2", HASH_A, &h, -1,
                                                NULL, &err),
                     RL_OK);
    h.job_id = S("j2");
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m2", HASH_A, &h, -1,
                                                NULL, &err),
                     RL_OK);
    rl_history_entry r = entry(RL_ACTION_ROLLBACK, "workspace token");
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m2", HASH_A, &r, -1,
                                                NULL, &err),
                     RL_OK);
    assert_int_equal(rl_meta_endpoint_set_model(f->m, "s1", "default", "models/m3", HASH_B, &r, -1,
                                                NULL, &err),
                     RL_OK);
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "default", "models/m2", id, &err), RL_OK);
    assert_string_equal(id, "j2");
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "default", "models/m3", id, &err), RL_OK);
    assert_string_equal(id, "");
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "default", "models/m_", id, &err), RL_OK);
    assert_string_equal(id, "");
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "nope", "models/m2", id, &err), RL_OK);
    assert_string_equal(id, "");
    snprintf(id, sizeof id, "untouched");
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "", "models/m2", id, &err), RL_EINVAL);
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "default", NULL, id, &err), RL_EINVAL);
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "default", "models/m2", NULL, &err),
                     RL_EINVAL);
    assert_string_equal(id, "untouched");

    /* A value longer than any id relearn writes (put there behind its back)
     * is refused, not truncated. */
    raw_sql(f->path, "UPDATE history SET job_id = printf('%.300c', 'x') WHERE job_id = 'j2'");
    assert_int_equal(rl_meta_history_find_job(f->m, "s1", "default", "models/m2", id, &err),
                     RL_EINTERNAL);
    assert_non_null(strstr(err.msg, "300 bytes"));
    assert_string_equal(id, "untouched");
}

static void test_jobs_recover(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    /* a: running on its first attempt; b: running on its third (two
     * simulated restarts before); c: queued; d: finished. */
    const char *ids[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        rl_job j = job(ids[i], "s1", i);
        j.start_requested = 1;
        assert_int_equal(rl_meta_job_create(f->m, &j, &err), RL_OK);
    }
    for (int k = 0; k < 3; k++) {
        if (k) {
            size_t rq = 0, fl = 0;
            assert_int_equal(rl_meta_jobs_recover(f->m, 100, 11, &rq, &fl, &err), RL_OK);
            assert_int_equal(rq, 1);
            assert_int_equal(fl, 0);
        }
        assert_int_equal(rl_meta_job_claim(f->m, "b", 12 + k, &err), RL_OK);
    }
    assert_int_equal(rl_meta_job_claim(f->m, "a", 10, &err), RL_OK);
    assert_int_equal(rl_meta_job_set_progress(f->m, "a", 0.75, &err), RL_OK);
    assert_int_equal(rl_meta_job_claim(f->m, "d", 13, &err), RL_OK);
    assert_int_equal(rl_meta_job_finish(f->m, "d", RL_JOB_FINISHED, NULL, NULL, 14, &err), RL_OK);

    size_t requeued = 0, failed = 0;
    assert_int_equal(rl_meta_jobs_recover(f->m, 0, 20, &requeued, &failed, &err), RL_EINVAL);
    assert_int_equal(rl_meta_jobs_recover(f->m, 3, 30, &requeued, &failed, &err), RL_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 1);
    rl_job *g = NULL;
    assert_int_equal(rl_meta_job_get(f->m, "b", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_FAILED);
    assert_int_equal(g->finished, 30);
    assert_int_equal(g->attempts, 3);
    assert_int_equal(g->started, 12); /* the first start is kept */
    assert_non_null(strstr(g->details, "interrupted 3 times"));
    rl_job_free(g);
    assert_int_equal(rl_meta_job_get(f->m, "a", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_NOT_STARTED);
    assert_int_equal(g->start_requested, 1);
    assert_int_equal(g->attempts, 1);
    assert_int_equal(g->started, 10);
    assert_int_equal(g->finished, 0);
    assert_true(g->progress == 0.0);
    rl_job_free(g);
    assert_int_equal(rl_meta_job_get(f->m, "d", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_FINISHED);
    rl_job_free(g);
    rl_job *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_job_list_runnable(f->m, &v, &n, &err), RL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "a");
    assert_string_equal(v[1].id, "c");
    rl_job_list_free(v, n);
    /* Nothing running: recovery is a no-op. */
    assert_int_equal(rl_meta_jobs_recover(f->m, 3, 40, &requeued, &failed, &err), RL_OK);
    assert_int_equal(requeued + failed, 0);

    /* An orderly stop gives the attempt back: a job interrupted that way
     * any number of times never reaches the limit. */
    for (int k = 0; k < 5; k++) {
        assert_int_equal(rl_meta_job_claim(f->m, "c", 50 + k, &err), RL_OK);
        assert_int_equal(rl_meta_job_requeue(f->m, "c", &err), RL_OK);
    }
    assert_int_equal(rl_meta_job_get(f->m, "c", &g, &err), RL_OK);
    assert_int_equal(g->status, RL_JOB_NOT_STARTED);
    assert_int_equal(g->start_requested, 1);
    assert_int_equal(g->attempts, 0);
    assert_int_equal(g->started, 50);
    rl_job_free(g);
    assert_int_equal(rl_meta_job_requeue(f->m, "c", &err), RL_ESTATE);
    assert_int_equal(rl_meta_job_requeue(f->m, "d", &err), RL_ESTATE);
    assert_non_null(strstr(err.msg, "it is Finished"));
    assert_int_equal(rl_meta_job_requeue(f->m, "zz", &err), RL_ENOTFOUND);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ROUNDS 25
#define SHARED_JOBS 40

typedef struct worker {
    rl_meta *m;
    int index;
    int claimed;
    int failures;
    char msg[RL_ERROR_MSG_MAX];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    rl_error err;
    for (int r = 0; r < ROUNDS; r++) {
        char blob[64], cred[32], sid[32], jid[32];
        snprintf(blob, sizeof blob, "models/t%d-r%d", w->index, r);
        snprintf(cred, sizeof cred, "thread %d", w->index);
        rl_history_entry h = entry(RL_ACTION_UPDATE_RESOURCE, cred);
        if (rl_meta_endpoint_set_model(w->m, "s1", "default", blob, HASH_A, &h, -1, NULL, &err)) {
            w->failures++;
            snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        }
        /* Each thread also creates its own services and jobs... */
        snprintf(sid, sizeof sid, "svc-%d-%d", w->index, r);
        rl_service s = svc(sid, "w", RL_SERVICE_TRAINING);
        rl_endpoint e = ep(sid, "default", 1);
        if (rl_meta_service_create(w->m, &s, &e, NULL, &err)) w->failures++;
        snprintf(jid, sizeof jid, "job-%d-%d", w->index, r);
        rl_job j = job(jid, sid, r);
        if (rl_meta_job_create(w->m, &j, &err)) w->failures++;
        /* ...reads a shared row... */
        rl_endpoint *got = NULL;
        if (rl_meta_endpoint_get(w->m, "s1", "default", &got, &err))
            w->failures++;
        else
            rl_endpoint_free(got);
    }
    /* ...and races the others for the shared queue. */
    for (int k = 0; k < SHARED_JOBS; k++) {
        char jid[32];
        snprintf(jid, sizeof jid, "shared-%02d", k);
        int rc = rl_meta_job_claim(w->m, jid, 99, &err);
        if (rc == RL_OK)
            w->claimed++;
        else if (rc != RL_ESTATE)
            w->failures++;
    }
    return NULL;
}

static void test_concurrent_threads(void **state)
{
    fixture *f = *state;
    rl_error err;
    seed(f->m);
    for (int k = 0; k < SHARED_JOBS; k++) {
        char jid[32];
        snprintf(jid, sizeof jid, "shared-%02d", k);
        rl_job j = job(jid, "s1", k);
        j.start_requested = 1;
        assert_int_equal(rl_meta_job_create(f->m, &j, &err), RL_OK);
    }
    pthread_t th[THREADS];
    worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].m = f->m;
        w[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    int claimed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures) fprintf(stderr, "thread %d: %s\n", i, w[i].msg);
        assert_int_equal(w[i].failures, 0);
        claimed += w[i].claimed;
    }
    /* Every shared job claimed exactly once. */
    assert_int_equal(claimed, SHARED_JOBS);
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM job WHERE id LIKE 'shared-%' AND attempts = 1 "
                             "AND status = 'Running'"),
                     SHARED_JOBS);
    /* Every model change counted once, with a gap-free history. */
    rl_endpoint *e = NULL;
    assert_int_equal(rl_meta_endpoint_get(f->m, "s1", "default", &e, &err), RL_OK);
    assert_int_equal(e->version, 1 + THREADS * ROUNDS);
    rl_endpoint_free(e);
    rl_history_entry *h = NULL;
    size_t n = 0;
    assert_int_equal(rl_meta_history_list(f->m, "s1", "default", &h, &n, &err), RL_OK);
    assert_int_equal(n, 1 + THREADS * ROUNDS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(h[i].seq, (int64_t)i + 1);
    rl_history_list_free(h, n);
    rl_service *v = NULL;
    assert_int_equal(rl_meta_service_list(f->m, "w", &v, &n, &err), RL_OK);
    assert_int_equal(n, 1 + THREADS * ROUNDS);
    rl_service_list_free(v, n);
    assert_int_equal(rl_meta_check(f->m, &err), RL_OK);
}

/* ---- out of memory ---- */

static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    seed(f->m);
    rl_error err;
    /* Fail the k-th allocation for growing k: every failure reports
     * RL_ENOMEM, leaks nothing (ASan checks) and writes no output. */
    int ok = 0;
    for (long k = 0; k < 200 && !ok; k++) {
        rl_endpoint *v = NULL;
        size_t n = 0;
        rl_mem_fail_after(k);
        int rc = rl_meta_endpoint_list(f->m, "s1", &v, &n, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            ok = 1;
            assert_int_equal(n, 1);
            rl_endpoint_list_free(v, n);
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(v);
        }
    }
    assert_true(ok);
    ok = 0;
    for (long k = 0; k < 200 && !ok; k++) {
        rl_history_entry *h = NULL;
        rl_mem_fail_after(k);
        int rc = rl_meta_history_get(f->m, "s1", "default", 1, &h, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            ok = 1;
            rl_history_entry_free(h);
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(h);
        }
    }
    assert_true(ok);
    rl_meta *m2 = NULL;
    rl_mem_fail_after(0);
    assert_int_equal(rl_meta_open_sqlite(f->path, &m2, &err), RL_ENOMEM);
    rl_mem_fail_reset();
    assert_null(m2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_create_with_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_create_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_update_list_partner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_model_and_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_model_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_metacharacters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_state_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_job_of_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
