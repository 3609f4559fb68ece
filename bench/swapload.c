/* swapload.c - the load generator of bench/update.py: keep-alive POSTs to one
 * URL from THREADS threads, each request recorded with its send and
 * completion times and which of two expected answers it got.
 *
 * Usage: swapload URL KEY DIR NBODIES THREADS MAX_SECONDS OUT
 *   DIR holds body-K.json (a request) and a-K.json, b-K.json (the exact
 *   answers of models A and B to it), K = 0..NBODIES-1. Thread T sends body
 *   (T*5 + i) mod NBODIES on its i-th request. It runs until standard input
 *   reaches end of file (update.py closes it when done) or MAX_SECONDS pass,
 *   then writes OUT: one line per request, "SENT_NS DONE_NS KIND", KIND A or B
 *   (the answer is byte for byte that model's), X (HTTP 200, but neither
 *   answer) or E (an HTTP error or a failed transfer).
 * Times are CLOCK_MONOTONIC nanoseconds, the clock Python's time.monotonic_ns
 * reads, so update.py lines its PATCH times up with these.
 * Build: cc -O2 -Isrc bench/swapload.c build/release/librelearn.a -lcurl -pthread
 *
 * Each thread owns its curl handle, response buffer and records; the main
 * thread only reads them after joining.
 */
#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct record {
    int64_t sent, done;
    char kind;
} record;

typedef struct text {
    char *data;
    size_t len;
} text;

typedef struct worker {
    pthread_t thread;
    int index;
    record *v;
    size_t n, cap;
    int failed; /* out of memory or no curl handle */
} worker;

static const char *g_url;
static struct curl_slist *g_headers;
static text *g_body, *g_a, *g_b;
static long g_nbodies;
static int64_t g_deadline;
static atomic_int g_stop;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    return rl_buf_append(arg, p, size * n) ? 0 : size * n;
}

static int same(const rl_buf *b, const text *t)
{
    return b->len == t->len && memcmp(b->data, t->data, t->len) == 0;
}

static void *work(void *arg)
{
    worker *w = arg;
    rl_buf resp = RL_BUF_INIT;
    CURL *c = curl_easy_init();
    if (!c) {
        w->failed = 1;
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_URL, g_url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, g_headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    for (long i = 0; !atomic_load(&g_stop) && now_ns() < g_deadline; i++) {
        long k = ((long)w->index * 5 + i) % g_nbodies;
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 4096;
            record *v = rl_reallocarray(w->v, cap, sizeof *v);
            if (!v) {
                w->failed = 1;
                break;
            }
            w->v = v;
            w->cap = cap;
        }
        resp.len = 0;
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, g_body[k].data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)g_body[k].len);
        record *r = &w->v[w->n++];
        r->sent = now_ns();
        CURLcode rc = curl_easy_perform(c);
        r->done = now_ns();
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200)
            r->kind = 'E';
        else
            r->kind = same(&resp, &g_a[k]) ? 'A' : same(&resp, &g_b[k]) ? 'B' : 'X';
    }
    curl_easy_cleanup(c);
    rl_buf_fini(&resp);
    return NULL;
}

static int load(const char *dir, const char *name, long k, text *out)
{
    char path[4096];
    rl_error err;
    snprintf(path, sizeof path, "%s/%s-%ld.json", dir, name, k);
    if (rl_file_read_all(path, &out->data, &out->len, &err)) {
        fprintf(stderr, "swapload: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: swapload URL KEY DIR NBODIES THREADS MAX_SECONDS OUT\n");
        return 2;
    }
    char *end;
    long nbodies = strtol(argv[4], &end, 10);
    long nthreads = *end ? 0 : strtol(argv[5], &end, 10);
    long max_s = *end ? 0 : strtol(argv[6], &end, 10);
    if (*end || nbodies < 1 || nthreads < 1 || nthreads > 256 || max_s < 1) {
        fprintf(stderr, "swapload: NBODIES, THREADS (1..256) and MAX_SECONDS must be positive "
                        "integers\n");
        return 2;
    }
    int status = 1;
    char auth[512];
    worker *w = NULL;
    long started = 0;
    g_url = argv[1];
    g_nbodies = nbodies;
    g_body = rl_calloc((size_t)nbodies, sizeof *g_body);
    g_a = rl_calloc((size_t)nbodies, sizeof *g_a);
    g_b = rl_calloc((size_t)nbodies, sizeof *g_b);
    w = rl_calloc((size_t)nthreads, sizeof *w);
    if (!g_body || !g_a || !g_b || !w) goto done;
    for (long k = 0; k < nbodies; k++)
        if (load(argv[3], "body", k, &g_body[k]) || load(argv[3], "a", k, &g_a[k]) ||
            load(argv[3], "b", k, &g_b[k]))
            goto done;
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) goto done;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    g_headers = curl_slist_append(NULL, auth);
    g_headers = curl_slist_append(g_headers, "Content-Type: application/json");
    g_headers = curl_slist_append(g_headers, "Expect:");
    g_deadline = now_ns() + (int64_t)max_s * 1000000000;
    for (; started < nthreads; started++) {
        w[started].index = (int)started;
        if (pthread_create(&w[started].thread, NULL, work, &w[started])) break;
    }
    /* Until update.py closes our standard input, or the deadline. */
    for (;;) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        char buf[256];
        if (now_ns() >= g_deadline) break;
        int n = poll(&p, 1, 100);
        if (n > 0 && read(STDIN_FILENO, buf, sizeof buf) <= 0) break;
        if (n < 0) break;
    }
    atomic_store(&g_stop, 1);
    int failed = started < nthreads;
    for (long t = 0; t < started; t++) {
        pthread_join(w[t].thread, NULL);
        failed |= w[t].failed;
    }
    FILE *f = fopen(argv[7], "w");
    if (!f) {
        perror(argv[7]);
        goto done;
    }
    for (long t = 0; t < started; t++)
        for (size_t i = 0; i < w[t].n; i++)
            fprintf(f, "%lld %lld %c\n", (long long)w[t].v[i].sent, (long long)w[t].v[i].done,
                    w[t].v[i].kind);
    if (fclose(f)) {
        perror(argv[7]);
        goto done;
    }
    if (failed) fprintf(stderr, "swapload: a thread could not start or ran out of memory\n");
    status = failed;
done:
    curl_slist_free_all(g_headers);
    for (long t = 0; w && t < nthreads; t++)
        rl_free(w[t].v);
    for (long k = 0; k < nbodies; k++) {
        if (g_body) rl_free(g_body[k].data);
        if (g_a) rl_free(g_a[k].data);
        if (g_b) rl_free(g_b[k].data);
    }
    rl_free(g_body);
    rl_free(g_a);
    rl_free(g_b);
    rl_free(w);
    return status;
}
