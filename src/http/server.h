/* server.h - relearnd: the daemon that serves experiments as web services.
 *
 * One rl_server holds the metadata store, the blob store, the server secret,
 * the registry of served endpoints (with their loaded models) and the batch
 * job workers, and answers HTTP with libmicrohttpd's own thread pool
 * (docs/api.md is the contract).
 *
 * Lifecycle: rl_server_open (stores, first-start bootstrap, registry) ->
 * rl_server_start (listening) -> rl_server_quiesce (stop accepting; in-flight
 * requests finish) -> rl_server_free (jobs checkpointed, stores closed).
 *
 * With tls_cert and tls_key it serves HTTPS only (libmicrohttpd with GnuTLS)
 * and the URLs it hands out start with https://.
 *
 * Thread safety: the lifecycle functions belong to the main thread.
 */
#ifndef RL_HTTP_SERVER_H
#define RL_HTTP_SERVER_H

#include "base/error.h"

#include <stddef.h>

typedef struct rl_server_config {
    const char *data_dir;     /* created if missing (mode 0700) */
    const char *host;         /* address to listen on, e.g. "127.0.0.1" */
    int port;                 /* 0: any free port (see rl_server_port) */
    const char *public_url;   /* base of the URLs handed out; NULL: http://host:port */
    int threads;              /* HTTP threads; 0: the number of cores */
    int workers;              /* batch job workers; 0: 1 */
    size_t max_body;          /* JSON bodies; 0: 16 MiB */
    size_t max_upload;        /* blob uploads; 0: 1 GiB */
    size_t max_rows;          /* rows in one RRS request; 0: 100000 */
    size_t max_columns;       /* columns in one RRS request; 0: 10000 */
    size_t max_header_bytes;  /* per-connection memory for request line and headers
                                 (libmicrohttpd's connection memory limit); 0: 65536 */
    int max_connections;      /* 0: 1024 */
    int request_timeout;      /* seconds a connection may idle; 0: 60 */
    const char *tls_cert;     /* PEM certificate (chain) file: serve HTTPS; NULL: HTTP */
    const char *tls_key;      /* PEM private key file, with tls_cert */
    int quiet;                /* no request log */
    int preload;              /* RL_PRELOAD_*: which models load at start (defaults) */
    int model_idle_seconds;   /* unload models unused this long; 0: 600 */
} rl_server_config;

enum { RL_PRELOAD_DEFAULTS = 0, RL_PRELOAD_ALL = 1, RL_PRELOAD_NONE = 2 };

typedef struct rl_server rl_server;

/* Opens the data directory: metadata (DIR/meta.db, 0600), blobs (DIR/blobs),
 * the secret (DIR/secret, 0600), and on first start the workspace "default"
 * with its token (RELEARN_ADMIN_TOKEN, else generated into DIR/admin-token,
 * 0600). Reads the TLS certificate and key if given. Loads every endpoint's
 * model. */
int rl_server_open(const rl_server_config *cfg, rl_server **out, rl_error *err);
/* Starts listening and the job workers. */
int rl_server_start(rl_server *s, rl_error *err);
/* The port listened on (after start). */
int rl_server_port(const rl_server *s);
/* Stops accepting connections; returns when in-flight requests are done. */
void rl_server_quiesce(rl_server *s);
/* Stops everything and frees s; NULL is fine. */
void rl_server_free(rl_server *s);

#endif
