/* meta_sqlite.c - the SQLite backend of the metadata store (store/meta.h).
 *
 * The idea: one database file in WAL mode with synchronous=FULL, so a commit
 * that returned is on disk, readers never wait for the writer and the writer
 * never waits for readers. A small pool of connections (POOL_SIZE) serves the
 * callers' threads: a call borrows one connection for its duration (waiting on
 * a condition variable when all are busy) and gives it back, so a connection
 * is only ever used by one thread at a time (opened SQLITE_OPEN_NOMUTEX).
 * Every change runs in a BEGIN IMMEDIATE transaction: it takes the write lock
 * before reading anything, so read-check-write sequences (compare-and-set job
 * transitions, the next history seq) are atomic across connections and
 * processes, and SQLite's busy timeout (BUSY_TIMEOUT_MS) makes a second writer
 * wait instead of failing. Multi-statement reads run in a deferred BEGIN for
 * one consistent snapshot.
 *
 * The schema is versioned with PRAGMA user_version and marked with PRAGMA
 * application_id; migrations[v] upgrades version v to v+1 inside the opening
 * transaction. All SQL is constant text with bound parameters.
 *
 * Ownership: the rl_meta returned by rl_meta_open_sqlite owns its connections.
 * Thread safety: see meta.h (any thread; close once, last).
 */
#include "base/mem.h"
#include "store/meta.h"
#include "store/meta_backend.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define POOL_SIZE 4
#define BUSY_TIMEOUT_MS 10000
/* Each connection's page cache, in KiB. SQLite's default (2 MiB) filled over
 * the first minutes of bench/soak.py as the job table grew, 4 connections
 * adding ~3 MiB to a ~28 MiB daemon; lookups here are by key and the file's
 * pages stay in the kernel's cache, so a small cache costs nothing visible. */
#define PAGE_CACHE_KIB 256
/* "rlmd" in ASCII: marks the file as a relearn metadata database. */
#define APPLICATION_ID 0x726c6d64

typedef struct sqlite_meta {
    struct rl_meta base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *conns[POOL_SIZE];
    int idle[POOL_SIZE]; /* stack of indexes of idle connections */
    int nidle;
    int nconns;
    char *path;
} sqlite_meta;

/* ---- schema ---- */

/* migrations[v] takes the schema from version v to v + 1. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE workspace ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  token_hash TEXT NOT NULL,"
    "  created INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE service ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  workspace_id TEXT NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  description TEXT,"
    "  kind TEXT NOT NULL CHECK (kind IN ('training', 'predictive')),"
    "  experiment_json TEXT NOT NULL,"
    "  model_resource_name TEXT,"
    "  partner_id TEXT REFERENCES service(id) ON DELETE SET NULL,"
    "  created INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX service_by_workspace ON service(workspace_id, created, id);"
    "CREATE INDEX service_by_partner ON service(partner_id);"
    "CREATE TABLE endpoint ("
    "  service_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  description TEXT,"
    "  created INTEGER NOT NULL,"
    "  primary_key_hash TEXT NOT NULL,"
    "  secondary_key_hash TEXT NOT NULL,"
    "  key_nonce_primary TEXT NOT NULL,"
    "  key_nonce_secondary TEXT NOT NULL,"
    "  throttle_level TEXT NOT NULL CHECK (throttle_level IN ('Low', 'High')),"
    "  max_concurrent_calls INTEGER NOT NULL CHECK (max_concurrent_calls BETWEEN 1 AND 1000),"
    "  diagnostics_trace_level TEXT NOT NULL"
    "    CHECK (diagnostics_trace_level IN ('None', 'Error', 'All')),"
    "  model_blob TEXT,"
    "  model_sha256 TEXT,"
    "  version INTEGER NOT NULL,"
    "  is_default INTEGER NOT NULL CHECK (is_default IN (0, 1)),"
    "  PRIMARY KEY (service_id, name),"
    "  CHECK ((model_blob IS NULL) = (model_sha256 IS NULL))"
    ") STRICT;"
    "CREATE UNIQUE INDEX endpoint_one_default ON endpoint(service_id) WHERE is_default = 1;"
    "CREATE INDEX endpoint_by_model ON endpoint(model_blob);"
    "CREATE TABLE history ("
    "  service_id TEXT NOT NULL,"
    "  endpoint TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  credential TEXT NOT NULL,"
    "  job_id TEXT,"
    "  model_blob TEXT,"
    "  model_sha256 TEXT,"
    "  evaluation_json TEXT,"
    "  action TEXT NOT NULL CHECK (action IN ('publish', 'update-resource',"
    "    'definition-update', 'rollback', 'refresh')),"
    "  PRIMARY KEY (service_id, endpoint, seq),"
    "  FOREIGN KEY (service_id, endpoint) REFERENCES endpoint(service_id, name)"
    "    ON DELETE CASCADE,"
    "  CHECK ((model_blob IS NULL) = (model_sha256 IS NULL))"
    ") STRICT;"
    "CREATE INDEX history_by_model ON history(model_blob);"
    "CREATE TABLE job ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  service_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,"
    "  endpoint TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('NotStarted', 'Running', 'Failed',"
    "    'Cancelled', 'Finished')),"
    "  start_requested INTEGER NOT NULL CHECK (start_requested IN (0, 1)),"
    "  request_json TEXT NOT NULL,"
    "  results_json TEXT,"
    "  details TEXT,"
    "  progress REAL NOT NULL CHECK (progress >= 0 AND progress <= 1),"
    "  created INTEGER NOT NULL,"
    "  started INTEGER,"
    "  finished INTEGER,"
    "  attempts INTEGER NOT NULL CHECK (attempts >= 0)"
    ") STRICT;"
    "CREATE INDEX job_by_service ON job(service_id, created, id);"
    "CREATE INDEX job_by_status ON job(status, start_requested, created, id);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(sizeof migrations / sizeof migrations[0] == RL_META_SCHEMA_VERSION,
               "one migration per schema version");

#define WS_COLS "id, token_hash, created"
#define SVC_COLS                                                                                   \
    "id, workspace_id, name, description, kind, experiment_json, model_resource_name, "            \
    "partner_id, created"
#define EP_COLS                                                                                    \
    "service_id, name, description, created, primary_key_hash, secondary_key_hash, "               \
    "key_nonce_primary, key_nonce_secondary, throttle_level, max_concurrent_calls, "               \
    "diagnostics_trace_level, model_blob, model_sha256, version, is_default"
#define HIST_COLS                                                                                  \
    "service_id, endpoint, seq, time, credential, job_id, model_blob, model_sha256, "              \
    "evaluation_json, action"
#define JOB_COLS                                                                                   \
    "id, service_id, endpoint, status, start_requested, request_json, results_json, details, "     \
    "progress, created, started, finished, attempts"

/* ---- errors ---- */

/* Maps a SQLite result code to ours and says what failed, with SQLite's
 * message for the connection. */
static int sql_error(sqlite3 *db, int rc, const char *what, rl_error *err)
{
    int code;
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        code = (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) ? RL_EEXIST
               : rc == SQLITE_CONSTRAINT_FOREIGNKEY                                   ? RL_ENOTFOUND
                                                                                      : RL_EINVAL;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = RL_EBUSY;
        break;
    case SQLITE_NOMEM:
        code = RL_ENOMEM;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        code = RL_EFORMAT;
        break;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = RL_EIO;
        break;
    default:
        code = RL_EINTERNAL;
        break;
    }
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const char *hint = code == RL_EBUSY     ? " (another process holds the database; retry)"
                       : code == RL_EFORMAT ? " (the database file is damaged or not SQLite)"
                       : code == RL_EIO     ? " (check disk space and permissions)"
                                            : "";
    return rl_error_set(err, code, "metadata database: %s failed: %s%s", what, msg, hint);
}

/* ---- statements ---- */

/* Binds parameters 1..n from fmt: 't' const char * (NULL binds NULL),
 * 'i' int64_t, 'n' int, 'd' double. Text is bound SQLITE_STATIC: the caller's
 * strings outlive the statement's use. */
static int bind_v(sqlite3_stmt *st, const char *fmt, va_list ap)
{
    /* A format that does not match the statement is our bug: refuse it
     * rather than bind garbage. */
    if ((int)strlen(fmt) != sqlite3_bind_parameter_count(st)) return SQLITE_RANGE;
    int rc = SQLITE_OK;
    for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        switch (fmt[i]) {
        case 't': {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_STATIC)
                   : sqlite3_bind_null(st, i + 1);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        case 'n':
            rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int));
            break;
        case 'd':
            rc = sqlite3_bind_double(st, i + 1, va_arg(ap, double));
            break;
        default:
            rc = SQLITE_MISUSE;
            break;
        }
    }
    return rc;
}

/* Prepares sql and binds its parameters from ap; a failure says prepared
 * or bound, and leaves nothing to finalize. */
static int prepare_v(sqlite3 *db, sqlite3_stmt **out, rl_error *err, const char *prepared,
                     const char *bound, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return sql_error(db, rc, prepared, err);
    if ((rc = bind_v(st, fmt, ap)) != SQLITE_OK) {
        int r = sql_error(db, rc, bound, err);
        sqlite3_finalize(st);
        return r;
    }
    *out = st;
    return RL_OK;
}

/* Prepares sql and binds its parameters. */
static int stmt(sqlite3 *db, sqlite3_stmt **out, rl_error *err, const char *sql, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = prepare_v(db, out, err, "preparing a statement", "binding a parameter", sql, fmt, ap);
    va_end(ap);
    return rc;
}

/* Runs a statement that returns no rows; *changes (may be NULL) receives
 * the number of rows it changed. */
static int exec(sqlite3 *db, rl_error *err, int *changes, const char *what, const char *sql,
                const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = prepare_v(db, &st, err, what, what, sql, fmt, ap);
    va_end(ap);
    if (rc) return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        continue;
    int ret = rc == SQLITE_DONE ? RL_OK : sql_error(db, rc, what, err);
    if (ret == RL_OK && changes) *changes = sqlite3_changes(db);
    sqlite3_finalize(st);
    return ret;
}

/* Steps a query once: RL_OK with *row 1 for a row, 0 at the end. */
static int step(sqlite3 *db, sqlite3_stmt *st, int *row, const char *what, rl_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *row = 1;
        return RL_OK;
    }
    if (rc == SQLITE_DONE) {
        *row = 0;
        return RL_OK;
    }
    return sql_error(db, rc, what, err);
}

/* Runs a one-row, one-integer query; *found says whether there was a row. */
static int query_int(sqlite3 *db, rl_error *err, int64_t *value, int *found, const char *what,
                     const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, fmt);
    int row = 0, ret = prepare_v(db, &st, err, what, what, sql, fmt, ap);
    va_end(ap);
    if (ret) return ret;
    if ((ret = step(db, st, &row, what, err)) == RL_OK) {
        *found = row;
        if (row) *value = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return ret;
}

static int tx_begin(sqlite3 *db, int write, rl_error *err)
{
    return exec(db, err, NULL, "starting a transaction", write ? "BEGIN IMMEDIATE" : "BEGIN", "");
}

static int tx_commit(sqlite3 *db, rl_error *err)
{
    return exec(db, err, NULL, "committing", "COMMIT", "");
}

/* Rolls back the open transaction, if any (after a failure). */
static void tx_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Ends a transaction: commits when rc is RL_OK (and returns the commit's
 * result), rolls back otherwise (and returns rc). */
static int tx_end(sqlite3 *db, int rc, rl_error *err)
{
    if (rc == RL_OK) rc = tx_commit(db, err);
    if (rc != RL_OK) tx_rollback(db);
    return rc;
}

/* ---- rows to structs ---- */

/* Copies text column i: NULL stays NULL. -1 when out of memory. */
static int col_text(sqlite3_stmt *st, int i, char **out)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        *out = NULL;
        return 0;
    }
    const char *s = (const char *)sqlite3_column_text(st, i);
    if (!s) return -1; /* NOMEM converting */
    *out = rl_strndup(s, (size_t)sqlite3_column_bytes(st, i));
    return *out ? 0 : -1;
}

static int nomem(rl_error *err)
{
    return rl_error_set(err, RL_ENOMEM, "out of memory reading the metadata database");
}

/* The text of column 0 of the first row of sql into out (size bytes); ""
 * when there is no row or the value is NULL. RL_EINTERNAL if it does not fit. */
static int query_text(sqlite3 *db, rl_error *err, char *out, size_t size, const char *what,
                      const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, fmt);
    int row = 0, ret = prepare_v(db, &st, err, what, what, sql, fmt, ap);
    va_end(ap);
    if (ret) return ret;
    if ((ret = step(db, st, &row, what, err)) == RL_OK) {
        const char *s = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
        size_t n = s ? (size_t)sqlite3_column_bytes(st, 0) : 0;
        if (row && !s && sqlite3_column_type(st, 0) != SQLITE_NULL)
            ret = nomem(err);
        else if (n >= size)
            ret = rl_error_set(err, RL_EINTERNAL, "%s: a value of %zu bytes where at most %zu "
                               "fit; the database holds what relearn never writes",
                               what, n, size - 1);
        else {
            memcpy(out, s ? s : "", n);
            out[n] = '\0';
        }
    }
    sqlite3_finalize(st);
    return ret;
}

static int bad_enum(const char *what, const char *s, rl_error *err)
{
    return rl_error_set(err, RL_EFORMAT,
                        "metadata database holds an unknown %s \"%.64s\"; was it written by a "
                        "newer relearn?",
                        what, s ? s : "(null)");
}

/* Parses enum text column i with parse (an rl_*_parse function). */
#define COL_ENUM(st, i, parse, type, dst, what)                                                    \
    do {                                                                                           \
        const char *s_ = (const char *)sqlite3_column_text(st, i);                                 \
        type v_;                                                                                   \
        if (parse(s_, &v_, NULL) != RL_OK) return bad_enum(what, s_, err);                         \
        (dst) = v_;                                                                                \
    } while (0)

static int row_workspace(sqlite3_stmt *st, void *dst, rl_error *err)
{
    rl_workspace *w = dst;
    if (col_text(st, 0, &w->id) || col_text(st, 1, &w->token_hash)) return nomem(err);
    w->created = sqlite3_column_int64(st, 2);
    return RL_OK;
}

static int row_service(sqlite3_stmt *st, void *dst, rl_error *err)
{
    rl_service *s = dst;
    if (col_text(st, 0, &s->id) || col_text(st, 1, &s->workspace_id) || col_text(st, 2, &s->name) ||
        col_text(st, 3, &s->description) || col_text(st, 5, &s->experiment_json) ||
        col_text(st, 6, &s->model_resource_name) || col_text(st, 7, &s->partner_id))
        return nomem(err);
    COL_ENUM(st, 4, rl_service_kind_parse, rl_service_kind, s->kind, "service kind");
    s->created = sqlite3_column_int64(st, 8);
    return RL_OK;
}

static int row_endpoint(sqlite3_stmt *st, void *dst, rl_error *err)
{
    rl_endpoint *e = dst;
    if (col_text(st, 0, &e->service_id) || col_text(st, 1, &e->name) ||
        col_text(st, 2, &e->description) || col_text(st, 4, &e->primary_key_hash) ||
        col_text(st, 5, &e->secondary_key_hash) || col_text(st, 6, &e->key_nonce_primary) ||
        col_text(st, 7, &e->key_nonce_secondary) || col_text(st, 11, &e->model_blob) ||
        col_text(st, 12, &e->model_sha256))
        return nomem(err);
    e->created = sqlite3_column_int64(st, 3);
    COL_ENUM(st, 8, rl_throttle_parse, rl_throttle, e->throttle_level, "throttle level");
    e->max_concurrent_calls = sqlite3_column_int(st, 9);
    COL_ENUM(st, 10, rl_trace_level_parse, rl_trace_level, e->diagnostics_trace_level,
             "diagnostics trace level");
    e->version = sqlite3_column_int64(st, 13);
    e->is_default = sqlite3_column_int(st, 14) != 0;
    return RL_OK;
}

static int row_history(sqlite3_stmt *st, void *dst, rl_error *err)
{
    rl_history_entry *h = dst;
    if (col_text(st, 0, &h->service_id) || col_text(st, 1, &h->endpoint) ||
        col_text(st, 4, &h->credential) || col_text(st, 5, &h->job_id) ||
        col_text(st, 6, &h->model_blob) || col_text(st, 7, &h->model_sha256) ||
        col_text(st, 8, &h->evaluation_json))
        return nomem(err);
    h->seq = sqlite3_column_int64(st, 2);
    h->time = sqlite3_column_int64(st, 3);
    COL_ENUM(st, 9, rl_history_action_parse, rl_history_action, h->action, "history action");
    return RL_OK;
}

static int row_job(sqlite3_stmt *st, void *dst, rl_error *err)
{
    rl_job *j = dst;
    if (col_text(st, 0, &j->id) || col_text(st, 1, &j->service_id) ||
        col_text(st, 2, &j->endpoint) || col_text(st, 5, &j->request_json) ||
        col_text(st, 6, &j->results_json) || col_text(st, 7, &j->details))
        return nomem(err);
    COL_ENUM(st, 3, rl_job_status_parse, rl_job_status, j->status, "job status");
    j->start_requested = sqlite3_column_int(st, 4) != 0;
    j->progress = sqlite3_column_double(st, 8);
    j->created = sqlite3_column_int64(st, 9);
    j->started = sqlite3_column_int64(st, 10); /* NULL reads as 0 */
    j->finished = sqlite3_column_int64(st, 11);
    j->attempts = sqlite3_column_int(st, 12);
    return RL_OK;
}

typedef int (*row_fn)(sqlite3_stmt *st, void *dst, rl_error *err);
typedef void (*fini_fn)(void *p);

static void fini_workspace(void *p)
{
    rl_workspace_fini(p);
}
static void fini_service(void *p)
{
    rl_service_fini(p);
}
static void fini_endpoint(void *p)
{
    rl_endpoint_fini(p);
}
static void fini_history(void *p)
{
    rl_history_entry_fini(p);
}
static void fini_job(void *p)
{
    rl_job_fini(p);
}

/* Reads every row of st into a new array of elements of `size` bytes. On
 * success *out (NULL when empty) and *n are set; st is finalized always. */
static int collect(sqlite3 *db, sqlite3_stmt *st, size_t size, row_fn row, fini_fn fini, void **out,
                   size_t *n, rl_error *err)
{
    char *v = NULL;
    size_t len = 0, cap = 0;
    int rc = RL_OK, more = 0;
    for (;;) {
        rc = step(db, st, &more, "listing", err);
        if (rc || !more) break;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char *nv = rl_reallocarray(v, ncap, size);
            if (!nv) {
                rc = nomem(err);
                break;
            }
            v = nv;
            cap = ncap;
        }
        memset(v + len * size, 0, size);
        rc = row(st, v + len * size, err);
        len++; /* counted even on failure so that its strings are freed */
        if (rc) break;
    }
    sqlite3_finalize(st);
    if (rc) {
        for (size_t i = 0; i < len; i++)
            fini(v + i * size);
        rl_free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return RL_OK;
}

/* Reads the single row of st into a new element; RL_ENOTFOUND with the
 * message in notfound when there is none. st is finalized always. */
static int fetch_one(sqlite3 *db, sqlite3_stmt *st, size_t size, row_fn row, fini_fn fini,
                     void **out, const char *notfound, rl_error *err)
{
    int more = 0;
    void *p = NULL;
    int rc = step(db, st, &more, "reading", err);
    if (rc == RL_OK && !more) rc = rl_error_set(err, RL_ENOTFOUND, "%s", notfound);
    if (rc == RL_OK) {
        p = rl_calloc(1, size);
        if (!p) rc = nomem(err);
    }
    if (rc == RL_OK) rc = row(st, p, err);
    sqlite3_finalize(st);
    if (rc) {
        if (p) fini(p);
        rl_free(p);
        return rc;
    }
    *out = p;
    return RL_OK;
}

/* ---- the pool ---- */

static sqlite3 *pool_get(sqlite_meta *sm)
{
    pthread_mutex_lock(&sm->mu);
    while (sm->nidle == 0)
        pthread_cond_wait(&sm->cv, &sm->mu);
    sqlite3 *db = sm->conns[sm->idle[--sm->nidle]];
    pthread_mutex_unlock(&sm->mu);
    return db;
}

static void pool_put(sqlite_meta *sm, sqlite3 *db)
{
    /* A failed call may leave a transaction open only through a bug; never
     * hand such a connection to the next caller. */
    tx_rollback(db);
    pthread_mutex_lock(&sm->mu);
    for (int i = 0; i < sm->nconns; i++)
        if (sm->conns[i] == db) sm->idle[sm->nidle++] = i;
    pthread_cond_signal(&sm->cv);
    pthread_mutex_unlock(&sm->mu);
}

#define SM(m) ((sqlite_meta *)(m))

/* ---- opening ---- */

/* Opens one connection with the per-connection settings. */
static int connect_one(const char *path, sqlite3 **out, rl_error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rl_error_set(err, rc == SQLITE_NOMEM ? RL_ENOMEM : RL_EIO,
                     "cannot open metadata database %s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return err ? err->code : RL_EIO;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, NULL);
    /* journal_mode=WAL is stored in the file; asking again is harmless and
     * tells us whether it took (it cannot on some file systems). */
    sqlite3_stmt *st = NULL;
    int ret = stmt(db, &st, err, "PRAGMA journal_mode=WAL", "");
    if (ret == RL_OK) {
        int row = 0;
        ret = step(db, st, &row, "setting WAL mode", err);
        if (ret == RL_OK) {
            const char *mode = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
            if (!mode || strcmp(mode, "wal") != 0)
                ret = rl_error_set(err, RL_EIO,
                                   "metadata database %s cannot use WAL mode (got \"%s\"); put "
                                   "it on a local file system",
                                   path, mode ? mode : "nothing");
        }
        sqlite3_finalize(st);
    }
    if (ret == RL_OK)
        ret = exec(db, err, NULL, "setting synchronous=FULL", "PRAGMA synchronous=FULL", "");
    if (ret == RL_OK)
        ret = exec(db, err, NULL, "enabling foreign keys", "PRAGMA foreign_keys=ON", "");
    if (ret == RL_OK) {
        /* PRAGMA takes no bound parameters; the value is our own integer. */
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA cache_size=-%d", PAGE_CACHE_KIB);
        ret = exec(db, err, NULL, "sizing the page cache", pragma, "");
    }
    if (ret != RL_OK) {
        if (ret == RL_EFORMAT)
            rl_error_set(err, RL_EFORMAT, "%s is not a relearn metadata database (%s)", path,
                         sqlite3_errmsg(db));
        sqlite3_close(db);
        return err ? err->code : ret;
    }
    *out = db;
    return RL_OK;
}

/* Brings the schema to RL_META_SCHEMA_VERSION, in one write transaction. */
static int migrate(sqlite3 *db, const char *path, rl_error *err)
{
    int64_t version = 0, appid = 0, objects = 0;
    int found = 0;
    int rc = tx_begin(db, 1, err);
    if (rc) return rc;
    if ((rc = query_int(db, err, &version, &found, "reading the schema version",
                        "PRAGMA user_version", "")) ||
        (rc = query_int(db, err, &appid, &found, "reading the application id",
                        "PRAGMA application_id", "")) ||
        (rc = query_int(db, err, &objects, &found, "reading the schema",
                        "SELECT count(*) FROM sqlite_schema", "")))
        goto done;
    if (appid != APPLICATION_ID && (version != 0 || objects != 0 || appid != 0)) {
        rc = rl_error_set(err, RL_EFORMAT,
                          "%s is a SQLite database of another program (application id %lld); "
                          "give relearn its own file",
                          path, (long long)appid);
        goto done;
    }
    if (version > RL_META_SCHEMA_VERSION) {
        rc = rl_error_set(err, RL_EFORMAT,
                          "%s has metadata schema version %lld, newer than the version %d this "
                          "relearn understands; run a newer relearn (or restore a backup made "
                          "by this version)",
                          path, (long long)version, RL_META_SCHEMA_VERSION);
        goto done;
    }
    if (version < 0) {
        rc = rl_error_set(err, RL_EFORMAT, "%s has a negative schema version %lld", path,
                          (long long)version);
        goto done;
    }
    for (int v = (int)version; v < NMIGRATIONS; v++) {
        char *msg = NULL;
        int src = sqlite3_exec(db, migrations[v], NULL, NULL, &msg);
        if (src != SQLITE_OK) {
            rc = rl_error_set(err, RL_EINTERNAL,
                              "upgrading %s from schema version %d to %d failed: %s", path, v,
                              v + 1, msg ? msg : sqlite3_errstr(src));
            sqlite3_free(msg);
            goto done;
        }
        /* PRAGMA takes no bound parameters; the value is our own integer. */
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
        if ((rc = exec(db, err, NULL, "writing the schema version", pragma, ""))) goto done;
    }
    if (appid != APPLICATION_ID) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA application_id=%d", APPLICATION_ID);
        rc = exec(db, err, NULL, "writing the application id", pragma, "");
    }
done:
    return tx_end(db, rc, err);
}

static const rl_meta_ops sqlite_ops;

static void sqlite_close(rl_meta *m)
{
    sqlite_meta *sm = SM(m);
    for (int i = 0; i < sm->nconns; i++)
        sqlite3_close(sm->conns[i]);
    pthread_cond_destroy(&sm->cv);
    pthread_mutex_destroy(&sm->mu);
    rl_free(sm->path);
    rl_free(sm);
}

int rl_meta_open_sqlite(const char *path, rl_meta **out, rl_error *err)
{
    if (!path || !*path || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return rl_error_set(err, RL_EINVAL,
                            "the metadata database needs a file path, not \"%s\" (the store "
                            "keeps several connections to one file)",
                            path ? path : "(null)");
    if (!out) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    if (!sqlite3_threadsafe())
        return rl_error_set(err, RL_ELIB, "this SQLite library was built without thread safety");
    /* Create the file private: it holds credential hashes. SQLite gives its
     * -wal and -shm files the same permissions. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return rl_error_set(err, RL_EIO, "cannot open metadata database %s: %s", path,
                            strerror(errno));
    close(fd);

    sqlite_meta *sm = rl_calloc(1, sizeof *sm);
    if (!sm) return rl_error_set(err, RL_ENOMEM, "out of memory opening %s", path);
    sm->base.ops = &sqlite_ops;
    pthread_mutex_init(&sm->mu, NULL);
    pthread_cond_init(&sm->cv, NULL);
    int rc = RL_OK;
    sm->path = rl_strdup(path);
    if (!sm->path) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory opening %s", path);
        goto fail;
    }
    for (int i = 0; i < POOL_SIZE; i++) {
        if ((rc = connect_one(path, &sm->conns[i], err))) goto fail;
        sm->nconns++;
        sm->idle[sm->nidle++] = i;
        if (i == 0 && (rc = migrate(sm->conns[0], path, err))) goto fail;
    }
    *out = &sm->base;
    return RL_OK;
fail:
    sqlite_close(&sm->base);
    return rc;
}

/* ---- checks ---- */

static int sqlite_check(rl_meta *m, rl_error *err)
{
    sqlite_meta *sm = SM(m);
    sqlite3 *db = pool_get(sm);
    char report[512];
    size_t used = 0;
    int problems = 0, rc, more = 0;
    sqlite3_stmt *st = NULL;
    report[0] = '\0';
    static const char *const checks[] = {"PRAGMA integrity_check", "PRAGMA foreign_key_check"};
    for (size_t c = 0; c < 2; c++) {
        if ((rc = stmt(db, &st, err, checks[c], ""))) goto done;
        for (;;) {
            if ((rc = step(db, st, &more, checks[c], err))) break;
            if (!more) break;
            const char *txt = (const char *)sqlite3_column_text(st, 0);
            if (c == 0 && txt && strcmp(txt, "ok") == 0) continue;
            problems++;
            int w = snprintf(report + used, sizeof report - used, "%s%s%s", used ? "; " : "",
                             c == 0 ? "" : "foreign key broken in table ", txt ? txt : "?");
            if (w > 0)
                used = (size_t)w < sizeof report - used ? used + (size_t)w : sizeof report - 1;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (rc) goto done;
    }
    if (problems)
        rc = rl_error_set(err, RL_EFORMAT, "metadata database %s is damaged (%d problems): %s",
                          sm->path, problems, report);
done:
    pool_put(sm, db);
    return rc;
}

/* ---- workspaces ---- */

static int sqlite_workspace_create(rl_meta *m, const rl_workspace *w, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = exec(db, err, NULL, "creating a workspace",
                  "INSERT INTO workspace (id, token_hash, created) VALUES (?, ?, ?)", "tti", w->id,
                  w->token_hash, (int64_t)w->created);
    if (rc == RL_EEXIST) rl_error_set(err, RL_EEXIST, "workspace \"%s\" exists already", w->id);
    pool_put(SM(m), db);
    return rc;
}

/* The one row that sql (a SELECT ... WHERE id = ?) finds for id, decoded
 * by row into a new record of size bytes; RL_ENOTFOUND says "<what> "<id>"
 * not found". */
static int get_by_id(rl_meta *m, const char *what, const char *sql, const char *id, size_t size,
                     row_fn row, fini_fn fini, void **out, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    char nf[RL_META_ID_MAX + 64];
    snprintf(nf, sizeof nf, "%s \"%s\" not found", what, id);
    int rc = stmt(db, &st, err, sql, "t", id);
    if (rc == RL_OK) rc = fetch_one(db, st, size, row, fini, out, nf, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_workspace_get(rl_meta *m, const char *id, rl_workspace **out, rl_error *err)
{
    return get_by_id(m, "workspace", "SELECT " WS_COLS " FROM workspace WHERE id = ?", id,
                     sizeof(rl_workspace), row_workspace, fini_workspace, (void **)out, err);
}

static int sqlite_workspace_list(rl_meta *m, rl_workspace **out, size_t *n, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    int rc = stmt(db, &st, err, "SELECT " WS_COLS " FROM workspace ORDER BY id", "");
    if (rc == RL_OK)
        rc = collect(db, st, sizeof(rl_workspace), row_workspace, fini_workspace, (void **)out, n,
                     err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_workspace_delete(rl_meta *m, const char *id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int changes = 0;
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = exec(db, err, &changes, "deleting a workspace", "DELETE FROM workspace WHERE id = ?",
                  "t", id);
    if (rc == RL_OK && changes == 0)
        rc = rl_error_set(err, RL_ENOTFOUND, "workspace \"%s\" not found", id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

/* ---- services ---- */

/* RL_OK when the row exists, RL_ENOTFOUND with "<what> not found" otherwise. */
static int must_exist(sqlite3 *db, const char *what, const char *sql, const char *key1,
                      const char *key2, rl_error *err)
{
    int64_t v = 0;
    int found = 0;
    int rc = key2 ? query_int(db, err, &v, &found, "looking up", sql, "tt", key1, key2)
                  : query_int(db, err, &v, &found, "looking up", sql, "t", key1);
    if (rc == RL_OK && !found) rc = rl_error_set(err, RL_ENOTFOUND, "%s not found", what);
    return rc;
}

static int service_exists(sqlite3 *db, const char *id, rl_error *err)
{
    char what[RL_META_ID_MAX + 32];
    snprintf(what, sizeof what, "service \"%s\"", id);
    return must_exist(db, what, "SELECT 1 FROM service WHERE id = ?", id, NULL, err);
}

static int endpoint_exists(sqlite3 *db, const char *service_id, const char *name, rl_error *err)
{
    char what[2 * RL_META_ID_MAX + 64];
    snprintf(what, sizeof what, "endpoint \"%s\" of service \"%s\"", name, service_id);
    return must_exist(db, what, "SELECT 1 FROM endpoint WHERE service_id = ? AND name = ?",
                      service_id, name, err);
}

/* Points a at b and b at a, first unlinking whatever either pointed at
 * (and whatever pointed at either). b may be NULL: just unlink a. Runs inside
 * the caller's write transaction. */
static int link_pair(sqlite3 *db, const char *a, const char *b, rl_error *err)
{
    int rc = exec(db, err, NULL, "unlinking partners",
                  "UPDATE service SET partner_id = NULL WHERE partner_id IN (?1, ?2) "
                  "OR id IN (?1, ?2)",
                  "tt", a, b);
    if (rc || !b) return rc;
    rc = exec(db, err, NULL, "linking partners", "UPDATE service SET partner_id = ? WHERE id = ?",
              "tt", b, a);
    if (rc) return rc;
    return exec(db, err, NULL, "linking partners", "UPDATE service SET partner_id = ? WHERE id = ?",
                "tt", a, b);
}

static int insert_endpoint(sqlite3 *db, const char *service_id, const rl_endpoint *e, rl_error *err)
{
    int rc = exec(db, err, NULL, "creating an endpoint",
                  "INSERT INTO endpoint (" EP_COLS ") VALUES "
                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                  "tttitttttntttn", service_id, e->name, e->description, (int64_t)e->created,
                  e->primary_key_hash, e->secondary_key_hash, e->key_nonce_primary,
                  e->key_nonce_secondary, rl_throttle_name(e->throttle_level),
                  e->max_concurrent_calls, rl_trace_level_name(e->diagnostics_trace_level),
                  e->model_blob, e->model_sha256, e->is_default);
    if (rc == RL_EEXIST) {
        /* Which constraint: the name, or the one default per service? */
        int64_t v = 0;
        int found = 0;
        if (query_int(db, NULL, &v, &found, "looking up",
                      "SELECT 1 FROM endpoint WHERE service_id = ? AND name = ?", "tt", service_id,
                      e->name) == RL_OK &&
            found)
            rl_error_set(err, RL_EEXIST, "endpoint \"%s\" exists already in service \"%s\"",
                         e->name, service_id);
        else
            rl_error_set(err, RL_EEXIST,
                         "service \"%s\" has a default endpoint already; create \"%s\" with "
                         "is_default 0",
                         service_id, e->name);
    }
    return rc;
}

static int insert_history(sqlite3 *db, const char *service_id, const char *endpoint, int64_t seq,
                          const char *model_blob, const char *model_sha256,
                          const rl_history_entry *h, rl_error *err)
{
    return exec(db, err, NULL, "appending to the endpoint history",
                "INSERT INTO history (" HIST_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "ttiitttttt", service_id, endpoint, seq, (int64_t)h->time, h->credential, h->job_id,
                model_blob, model_sha256, h->evaluation_json, rl_history_action_name(h->action));
}

static int sqlite_service_create(rl_meta *m, const rl_service *s, const rl_endpoint *ep,
                                 const rl_history_entry *publish, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    char what[RL_META_ID_MAX + 32];
    int rc = tx_begin(db, 1, err);
    if (rc) goto done;
    snprintf(what, sizeof what, "workspace \"%s\"", s->workspace_id);
    if ((rc = must_exist(db, what, "SELECT 1 FROM workspace WHERE id = ?", s->workspace_id, NULL,
                         err)))
        goto done;
    if (s->partner_id && (rc = service_exists(db, s->partner_id, err))) {
        rl_error_wrap(err, "partner of service \"%s\"", s->id);
        goto done;
    }
    rc =
        exec(db, err, NULL, "creating a service",
             "INSERT INTO service (" SVC_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)", "ttttttti",
             s->id, s->workspace_id, s->name, s->description, rl_service_kind_name(s->kind),
             s->experiment_json, s->model_resource_name, (int64_t)s->created);
    if (rc == RL_EEXIST) rl_error_set(err, RL_EEXIST, "service \"%s\" exists already", s->id);
    if (rc) goto done;
    if (s->partner_id && (rc = link_pair(db, s->id, s->partner_id, err))) goto done;
    if (ep && (rc = insert_endpoint(db, s->id, ep, err))) goto done;
    if (publish)
        rc = insert_history(db, s->id, ep->name, 1, ep->model_blob, ep->model_sha256, publish, err);
done:
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_service_get(rl_meta *m, const char *id, rl_service **out, rl_error *err)
{
    return get_by_id(m, "service", "SELECT " SVC_COLS " FROM service WHERE id = ?", id,
                     sizeof(rl_service), row_service, fini_service, (void **)out, err);
}

static int sqlite_service_list(rl_meta *m, const char *workspace_id, rl_service **out, size_t *n,
                               rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    char what[RL_META_ID_MAX + 32];
    snprintf(what, sizeof what, "workspace \"%s\"", workspace_id);
    int rc = tx_begin(db, 0, err);
    if (rc == RL_OK)
        rc = must_exist(db, what, "SELECT 1 FROM workspace WHERE id = ?", workspace_id, NULL, err);
    if (rc == RL_OK)
        rc = stmt(db, &st, err,
                  "SELECT " SVC_COLS " FROM service WHERE workspace_id = ? ORDER BY created, id",
                  "t", workspace_id);
    if (rc == RL_OK)
        rc = collect(db, st, sizeof(rl_service), row_service, fini_service, (void **)out, n, err);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_service_update(rl_meta *m, const rl_service *s, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int changes = 0;
    int rc =
        exec(db, err, &changes, "updating a service",
             "UPDATE service SET name = ?, description = ?, experiment_json = ?, "
             "model_resource_name = ? WHERE id = ?",
             "ttttt", s->name, s->description, s->experiment_json, s->model_resource_name, s->id);
    if (rc == RL_OK && changes == 0)
        rc = rl_error_set(err, RL_ENOTFOUND, "service \"%s\" not found", s->id);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_service_link(rl_meta *m, const char *a, const char *b, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    if (!a) {
        a = b;
        b = NULL;
    }
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK) rc = service_exists(db, a, err);
    if (rc == RL_OK && b) rc = service_exists(db, b, err);
    if (rc == RL_OK) rc = link_pair(db, a, b, err);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_service_delete(rl_meta *m, const char *id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int changes = 0;
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = exec(db, err, &changes, "deleting a service", "DELETE FROM service WHERE id = ?", "t",
                  id);
    if (rc == RL_OK && changes == 0)
        rc = rl_error_set(err, RL_ENOTFOUND, "service \"%s\" not found", id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

/* ---- endpoints ---- */

static int sqlite_endpoint_create(rl_meta *m, const rl_endpoint *e, const rl_history_entry *initial,
                                  rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK) rc = service_exists(db, e->service_id, err);
    if (rc == RL_OK) rc = insert_endpoint(db, e->service_id, e, err);
    if (rc == RL_OK && initial)
        rc = insert_history(db, e->service_id, e->name, 1, e->model_blob, e->model_sha256, initial,
                            err);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_endpoint_get(rl_meta *m, const char *service_id, const char *name,
                               rl_endpoint **out, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    char nf[2 * RL_META_ID_MAX + 64];
    snprintf(nf, sizeof nf, "endpoint \"%s\" of service \"%s\" not found", name, service_id);
    int rc =
        stmt(db, &st, err, "SELECT " EP_COLS " FROM endpoint WHERE service_id = ? AND name = ?",
             "tt", service_id, name);
    if (rc == RL_OK)
        rc = fetch_one(db, st, sizeof(rl_endpoint), row_endpoint, fini_endpoint, (void **)out, nf,
                       err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_endpoint_list(rl_meta *m, const char *service_id, rl_endpoint **out, size_t *n,
                                rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    int rc = tx_begin(db, 0, err);
    if (rc == RL_OK) rc = service_exists(db, service_id, err);
    if (rc == RL_OK)
        rc = stmt(db, &st, err,
                  "SELECT " EP_COLS " FROM endpoint WHERE service_id = ? "
                  "ORDER BY is_default DESC, name",
                  "t", service_id);
    if (rc == RL_OK)
        rc =
            collect(db, st, sizeof(rl_endpoint), row_endpoint, fini_endpoint, (void **)out, n, err);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_endpoint_update(rl_meta *m, const rl_endpoint *e, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int changes = 0;
    int rc = exec(db, err, &changes, "updating an endpoint",
                  "UPDATE endpoint SET description = ?, primary_key_hash = ?, "
                  "secondary_key_hash = ?, key_nonce_primary = ?, key_nonce_secondary = ?, "
                  "throttle_level = ?, max_concurrent_calls = ?, diagnostics_trace_level = ?, "
                  "is_default = ? WHERE service_id = ? AND name = ?",
                  "ttttttntntt", e->description, e->primary_key_hash, e->secondary_key_hash,
                  e->key_nonce_primary, e->key_nonce_secondary, rl_throttle_name(e->throttle_level),
                  e->max_concurrent_calls, rl_trace_level_name(e->diagnostics_trace_level),
                  e->is_default, e->service_id, e->name);
    if (rc == RL_EEXIST)
        rl_error_set(err, RL_EEXIST,
                     "service \"%s\" has a default endpoint already; \"%s\" cannot be another",
                     e->service_id, e->name);
    if (rc == RL_OK && changes == 0)
        rc = rl_error_set(err, RL_ENOTFOUND, "endpoint \"%s\" of service \"%s\" not found", e->name,
                          e->service_id);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_endpoint_set_model(rl_meta *m, const char *service_id, const char *name,
                                     const char *model_blob, const char *model_sha256,
                                     const rl_history_entry *entry, int64_t expected_version,
                                     int64_t *new_version, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int64_t version = 0, seq = 0;
    int found = 0;
    int rc = tx_begin(db, 1, err);
    if (rc) goto done;
    if ((rc = query_int(db, err, &version, &found, "reading the endpoint version",
                        "SELECT version FROM endpoint WHERE service_id = ? AND name = ?", "tt",
                        service_id, name)))
        goto done;
    if (!found) {
        rc = rl_error_set(err, RL_ENOTFOUND, "endpoint \"%s\" of service \"%s\" not found", name,
                          service_id);
        goto done;
    }
    if (expected_version >= 0 && version != expected_version) {
        rc = rl_error_set(err, RL_ESTATE,
                          "endpoint \"%s\" is at version %lld, not %lld: its model changed "
                          "meanwhile; reload and retry",
                          name, (long long)version, (long long)expected_version);
        goto done;
    }
    if ((rc = query_int(db, err, &seq, &found, "reading the endpoint history",
                        "SELECT COALESCE(MAX(seq), 0) + 1 FROM history "
                        "WHERE service_id = ? AND endpoint = ?",
                        "tt", service_id, name)))
        goto done;
    if ((rc = exec(db, err, NULL, "changing the endpoint model",
                   "UPDATE endpoint SET model_blob = ?, model_sha256 = ?, version = ? "
                   "WHERE service_id = ? AND name = ?",
                   "ttitt", model_blob, model_sha256, version + 1, service_id, name)))
        goto done;
    rc = insert_history(db, service_id, name, seq, model_blob, model_sha256, entry, err);
done:
    rc = tx_end(db, rc, err);
    if (rc == RL_OK && new_version) *new_version = version + 1;
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_endpoint_delete(rl_meta *m, const char *service_id, const char *name,
                                  rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int changes = 0;
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = exec(db, err, &changes, "deleting an endpoint",
                  "DELETE FROM endpoint WHERE service_id = ? AND name = ?", "tt", service_id, name);
    if (rc == RL_OK && changes == 0)
        rc = rl_error_set(err, RL_ENOTFOUND, "endpoint \"%s\" of service \"%s\" not found", name,
                          service_id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

/* ---- history ---- */

static int sqlite_history_list(rl_meta *m, const char *service_id, const char *endpoint,
                               rl_history_entry **out, size_t *n, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    int rc = tx_begin(db, 0, err);
    if (rc == RL_OK) rc = endpoint_exists(db, service_id, endpoint, err);
    if (rc == RL_OK)
        rc = stmt(db, &st, err,
                  "SELECT " HIST_COLS " FROM history WHERE service_id = ? AND endpoint = ? "
                  "ORDER BY seq",
                  "tt", service_id, endpoint);
    if (rc == RL_OK)
        rc = collect(db, st, sizeof(rl_history_entry), row_history, fini_history, (void **)out, n,
                     err);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_history_get(rl_meta *m, const char *service_id, const char *endpoint, int64_t seq,
                              rl_history_entry **out, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    char nf[2 * RL_META_ID_MAX + 96];
    snprintf(nf, sizeof nf, "history entry %lld of endpoint \"%s\" of service \"%s\" not found",
             (long long)seq, endpoint, service_id);
    int rc =
        stmt(db, &st, err,
             "SELECT " HIST_COLS " FROM history WHERE service_id = ? AND endpoint = ? AND seq = ?",
             "tti", service_id, endpoint, seq);
    if (rc == RL_OK)
        rc = fetch_one(db, st, sizeof(rl_history_entry), row_history, fini_history, (void **)out,
                       nf, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_history_find_job(rl_meta *m, const char *service_id, const char *endpoint,
                                   const char *model_blob, char *job_id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    char id[RL_META_ID_MAX + 1];
    int rc = query_text(db, err, id, sizeof id, "looking up the job of a history entry",
                        "SELECT job_id FROM history WHERE service_id = ? AND endpoint = ? AND "
                        "model_blob = ? AND job_id IS NOT NULL ORDER BY seq DESC LIMIT 1",
                        "ttt", service_id, endpoint, model_blob);
    if (rc == RL_OK) memcpy(job_id, id, strlen(id) + 1);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_blob_referenced(rl_meta *m, const char *address, int *referenced, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int64_t v = 0;
    int found = 0;
    int rc = query_int(db, err, &v, &found, "looking up blob references",
                       "SELECT EXISTS (SELECT 1 FROM endpoint WHERE model_blob = ?1) "
                       "OR EXISTS (SELECT 1 FROM history WHERE model_blob = ?1)",
                       "t", address);
    if (rc == RL_OK) *referenced = found && v != 0;
    pool_put(SM(m), db);
    return rc;
}

/* ---- jobs ---- */

static int sqlite_job_create(rl_meta *m, const rl_job *j, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK) rc = service_exists(db, j->service_id, err);
    if (rc == RL_OK) {
        rc = exec(db, err, NULL, "creating a job",
                  "INSERT INTO job (" JOB_COLS ") VALUES "
                  "(?, ?, ?, 'NotStarted', ?, ?, NULL, NULL, 0, ?, NULL, NULL, 0)",
                  "tttnti", j->id, j->service_id, j->endpoint, j->start_requested, j->request_json,
                  (int64_t)j->created);
        if (rc == RL_EEXIST) rl_error_set(err, RL_EEXIST, "job \"%s\" exists already", j->id);
    }
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_get(rl_meta *m, const char *id, rl_job **out, rl_error *err)
{
    return get_by_id(m, "job", "SELECT " JOB_COLS " FROM job WHERE id = ?", id, sizeof(rl_job),
                     row_job, fini_job, (void **)out, err);
}

static int sqlite_job_list(rl_meta *m, const char *service_id, rl_job **out, size_t *n,
                           rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    int rc = tx_begin(db, 0, err);
    if (rc == RL_OK) rc = service_exists(db, service_id, err);
    if (rc == RL_OK)
        rc = stmt(db, &st, err,
                  "SELECT " JOB_COLS " FROM job WHERE service_id = ? ORDER BY created, id", "t",
                  service_id);
    if (rc == RL_OK) rc = collect(db, st, sizeof(rl_job), row_job, fini_job, (void **)out, n, err);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_find_by_result(rl_meta *m, const char *service_id, const char *text,
                                     char *id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    char found[RL_META_ID_MAX + 1];
    int rc = query_text(db, err, found, sizeof found, "looking up the job of a result",
                        "SELECT id FROM job WHERE service_id = ? AND instr(results_json, ?) > 0 "
                        "ORDER BY created DESC, id DESC LIMIT 1",
                        "tt", service_id, text);
    if (rc == RL_OK) memcpy(id, found, strlen(found) + 1);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_list_runnable(rl_meta *m, rl_job **out, size_t *n, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    sqlite3_stmt *st = NULL;
    int rc = stmt(db, &st, err,
                  "SELECT " JOB_COLS " FROM job WHERE status = 'NotStarted' AND "
                  "start_requested = 1 ORDER BY created, id",
                  "");
    if (rc == RL_OK) rc = collect(db, st, sizeof(rl_job), row_job, fini_job, (void **)out, n, err);
    pool_put(SM(m), db);
    return rc;
}

#define ST(s) (1u << (s))

/* Inside the caller's write transaction: RL_OK when job id exists, is in one
 * of the statuses in `allowed` and, when need_queued, was asked to start;
 * RL_ENOTFOUND or RL_ESTATE ("cannot <verb> job X: it is <status>; only
 * <allowed_text> ...") otherwise. */
static int job_guard(sqlite3 *db, const char *id, unsigned allowed, int need_queued,
                     const char *verb, const char *allowed_text, rl_error *err)
{
    sqlite3_stmt *st = NULL;
    int row = 0;
    int rc = stmt(db, &st, err, "SELECT status, start_requested FROM job WHERE id = ?", "t", id);
    if (rc) return rc;
    rc = step(db, st, &row, "reading the job status", err);
    if (rc == RL_OK && !row) rc = rl_error_set(err, RL_ENOTFOUND, "job \"%s\" not found", id);
    if (rc == RL_OK) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        rl_job_status status;
        if (rl_job_status_parse(text, &status, NULL) != RL_OK) {
            rc = bad_enum("job status", text, err);
        } else if (!(allowed & ST(status))) {
            rc = rl_error_set(err, RL_ESTATE, "cannot %s job \"%s\": it is %s; only %s jobs can",
                              verb, id, rl_job_status_name(status), allowed_text);
        } else if (need_queued && !sqlite3_column_int(st, 1)) {
            rc = rl_error_set(err, RL_ESTATE,
                              "cannot %s job \"%s\": it is NotStarted and its client has not "
                              "started it",
                              verb, id);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_job_start_request(rl_meta *m, const char *id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK) rc = job_guard(db, id, ST(RL_JOB_NOT_STARTED), 0, "start", "NotStarted", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "queueing a job",
                  "UPDATE job SET start_requested = 1 WHERE id = ?", "t", id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_claim(rl_meta *m, const char *id, int64_t now, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = job_guard(db, id, ST(RL_JOB_NOT_STARTED), 1, "run", "queued NotStarted", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "claiming a job",
                  "UPDATE job SET status = 'Running', started = COALESCE(started, ?), "
                  "attempts = attempts + 1, progress = 0 WHERE id = ?",
                  "it", now, id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_cancel(rl_meta *m, const char *id, const char *reason, int64_t now,
                             rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = job_guard(db, id, ST(RL_JOB_NOT_STARTED) | ST(RL_JOB_RUNNING), 0, "cancel",
                       "NotStarted or Running", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "cancelling a job",
                  "UPDATE job SET status = 'Cancelled', finished = ?, details = ? WHERE id = ?",
                  "itt", now, reason, id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_finish(rl_meta *m, const char *id, rl_job_status status,
                             const char *results_json, const char *details, int64_t now,
                             rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    const char *verb = status == RL_JOB_FINISHED ? "finish" : "fail";
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK) rc = job_guard(db, id, ST(RL_JOB_RUNNING), 0, verb, "Running", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "finishing a job",
                  "UPDATE job SET status = ?1, finished = ?2, results_json = ?3, details = ?4, "
                  "progress = CASE WHEN ?1 = 'Finished' THEN 1 ELSE progress END WHERE id = ?5",
                  "tittt", rl_job_status_name(status), now, results_json, details, id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_requeue(rl_meta *m, const char *id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK) rc = job_guard(db, id, ST(RL_JOB_RUNNING), 0, "requeue", "Running", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "requeueing a job",
                  "UPDATE job SET status = 'NotStarted', start_requested = 1, progress = 0, "
                  "attempts = MAX(attempts - 1, 0) WHERE id = ?",
                  "t", id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_delete(rl_meta *m, const char *id, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = job_guard(db, id,
                       ST(RL_JOB_NOT_STARTED) | ST(RL_JOB_FAILED) | ST(RL_JOB_CANCELLED) |
                           ST(RL_JOB_FINISHED),
                       0, "delete", "NotStarted, Failed, Cancelled or Finished", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "deleting a job", "DELETE FROM job WHERE id = ?", "t", id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_set_progress(rl_meta *m, const char *id, double progress, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = job_guard(db, id, ST(RL_JOB_RUNNING), 0, "set the progress of", "Running", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "setting job progress", "UPDATE job SET progress = ? WHERE id = ?",
                  "dt", progress, id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_job_set_results(rl_meta *m, const char *id, const char *results_json,
                                  rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = job_guard(db, id, ST(RL_JOB_RUNNING) | ST(RL_JOB_FINISHED), 0, "set the results of",
                       "Running or Finished", err);
    if (rc == RL_OK)
        rc = exec(db, err, NULL, "setting job results",
                  "UPDATE job SET results_json = ? WHERE id = ?", "tt", results_json, id);
    rc = tx_end(db, rc, err);
    pool_put(SM(m), db);
    return rc;
}

static int sqlite_jobs_recover(rl_meta *m, int max_attempts, int64_t now, size_t *requeued,
                               size_t *failed, rl_error *err)
{
    sqlite3 *db = pool_get(SM(m));
    int nfailed = 0, nrequeued = 0;
    int rc = tx_begin(db, 1, err);
    if (rc == RL_OK)
        rc = exec(db, err, &nfailed, "failing interrupted jobs",
                  "UPDATE job SET status = 'Failed', finished = ?1, details = "
                  "printf('the job was interrupted %d times by a stop of relearnd while it ran "
                  "(limit %d attempts); it is not run again', attempts, ?2) "
                  "WHERE status = 'Running' AND attempts >= ?2",
                  "in", now, max_attempts);
    if (rc == RL_OK)
        rc = exec(db, err, &nrequeued, "requeueing interrupted jobs",
                  "UPDATE job SET status = 'NotStarted', start_requested = 1, progress = 0 "
                  "WHERE status = 'Running'",
                  "");
    rc = tx_end(db, rc, err);
    if (rc == RL_OK) {
        if (requeued) *requeued = (size_t)nrequeued;
        if (failed) *failed = (size_t)nfailed;
    }
    pool_put(SM(m), db);
    return rc;
}

static const rl_meta_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .check = sqlite_check,
    .workspace_create = sqlite_workspace_create,
    .workspace_get = sqlite_workspace_get,
    .workspace_list = sqlite_workspace_list,
    .workspace_delete = sqlite_workspace_delete,
    .service_create = sqlite_service_create,
    .service_get = sqlite_service_get,
    .service_list = sqlite_service_list,
    .service_update = sqlite_service_update,
    .service_link = sqlite_service_link,
    .service_delete = sqlite_service_delete,
    .endpoint_create = sqlite_endpoint_create,
    .endpoint_get = sqlite_endpoint_get,
    .endpoint_list = sqlite_endpoint_list,
    .endpoint_update = sqlite_endpoint_update,
    .endpoint_set_model = sqlite_endpoint_set_model,
    .endpoint_delete = sqlite_endpoint_delete,
    .history_list = sqlite_history_list,
    .history_get = sqlite_history_get,
    .history_find_job = sqlite_history_find_job,
    .blob_referenced = sqlite_blob_referenced,
    .job_create = sqlite_job_create,
    .job_get = sqlite_job_get,
    .job_list = sqlite_job_list,
    .job_find_by_result = sqlite_job_find_by_result,
    .job_list_runnable = sqlite_job_list_runnable,
    .job_start_request = sqlite_job_start_request,
    .job_claim = sqlite_job_claim,
    .job_cancel = sqlite_job_cancel,
    .job_finish = sqlite_job_finish,
    .job_requeue = sqlite_job_requeue,
    .job_delete = sqlite_job_delete,
    .job_set_progress = sqlite_job_set_progress,
    .job_set_results = sqlite_job_set_results,
    .jobs_recover = sqlite_jobs_recover,
};
