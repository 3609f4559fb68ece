/* relearnd.c - main() of the daemon: options, signals, and the server's
 * lifecycle (src/http does the work). */
#include "http/server.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: relearnd --data-dir DIR [--listen HOST:PORT] [options]\n\n"
    "Serves experiments as web services (request-response and batch), with\n"
    "embedded metadata (SQLite) and blob store under DIR. See docs/api.md.\n\n"
    "  --data-dir DIR        where everything is kept (created if missing)\n"
    "  --listen HOST:PORT    address to listen on (127.0.0.1:8080; port 0: any)\n"
    "  --public-url URL      base of the URLs handed out (http://HOST:PORT)\n"
    "  --threads N           HTTP threads (the number of cores)\n"
    "  --workers N           batch job workers (1)\n"
    "  --tls-cert FILE       serve HTTPS with this PEM certificate (chain)...\n"
    "  --tls-key FILE        ...and this PEM private key (both, or neither: HTTP)\n\n"
    "Limits (over them: 413, or 414/431 for the request line and headers):\n"
    "  --max-body BYTES      largest JSON body (16777216)\n"
    "  --max-upload BYTES    largest blob upload (1073741824)\n"
    "  --max-rows N          most rows in one request-response call (100000)\n"
    "  --max-columns N       most columns in one request-response call (10000)\n"
    "  --max-header-bytes B  memory per connection for the request line and headers\n"
    "                        (65536; 16384 to 16777216)\n"
    "  --max-connections N   most open connections (1024); more wait to be accepted\n"
    "  --request-timeout S   seconds a connection may stay idle, e.g. a client\n"
    "                        that stops sending (60)\n\n"
    "Models and logging:\n"
    "  --preload-models WHICH  load at start: defaults (default endpoints), all, none\n"
    "  --model-idle-seconds S  unload a model unused this long (600); it reloads on use\n"
    "  --quiet               no request log\n\n"
    "On first start it creates workspace 'default' with the token from\n"
    "RELEARN_ADMIN_TOKEN, or a generated one written to DIR/admin-token.\n"
    "SIGTERM or SIGINT stops it gracefully.\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max) return -1;
    *out = v;
    return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "relearnd: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; see relearnd --help\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, 0, 'd'},  {"listen", required_argument, 0, 'l'},
        {"public-url", required_argument, 0, 'u'}, {"threads", required_argument, 0, 't'},
        {"workers", required_argument, 0, 'w'},    {"max-body", required_argument, 0, 'b'},
        {"max-upload", required_argument, 0, 'U'}, {"max-rows", required_argument, 0, 'r'},
        {"max-columns", required_argument, 0, 'C'},
        {"max-header-bytes", required_argument, 0, 'H'},
        {"tls-cert", required_argument, 0, 'X'},   {"tls-key", required_argument, 0, 'K'},
        {"max-connections", required_argument, 0, 'c'},
        {"request-timeout", required_argument, 0, 'T'},
        {"preload-models", required_argument, 0, 'P'},
        {"model-idle-seconds", required_argument, 0, 'I'},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},          {0, 0, 0, 0}};
    rl_server_config cfg = {0};
    char host[256] = "127.0.0.1";
    cfg.port = 8080;
    unsigned long long v;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': cfg.data_dir = optarg; break;
        case 'l': {
            char *colon = strrchr(optarg, ':');
            if (!colon || colon == optarg || parse_size(colon + 1, 65535, &v))
                return usage_error("--listen takes HOST:PORT (e.g. 127.0.0.1:8080), got '%s'",
                                   optarg);
            snprintf(host, sizeof host, "%.*s", (int)(colon - optarg), optarg);
            cfg.port = (int)v;
            break;
        }
        case 'u': cfg.public_url = optarg; break;
        case 't':
            if (parse_size(optarg, 256, &v) || !v)
                return usage_error("--threads takes 1 to 256, got '%s'", optarg);
            cfg.threads = (int)v;
            break;
        case 'w':
            if (parse_size(optarg, 64, &v) || !v)
                return usage_error("--workers takes 1 to 64, got '%s'", optarg);
            cfg.workers = (int)v;
            break;
        case 'b':
            if (parse_size(optarg, 1ULL << 32, &v) || v < 1024)
                return usage_error("--max-body takes 1024 to 4294967296 bytes, got '%s'", optarg);
            cfg.max_body = (size_t)v;
            break;
        case 'U':
            if (parse_size(optarg, 1ULL << 40, &v) || v < 1024)
                return usage_error("--max-upload takes at least 1024 bytes, got '%s'", optarg);
            cfg.max_upload = (size_t)v;
            break;
        case 'r':
            if (parse_size(optarg, 100000000, &v) || !v)
                return usage_error("--max-rows takes 1 to 100000000, got '%s'", optarg);
            cfg.max_rows = (size_t)v;
            break;
        case 'C':
            if (parse_size(optarg, 1000000, &v) || !v)
                return usage_error("--max-columns takes 1 to 1000000, got '%s'", optarg);
            cfg.max_columns = (size_t)v;
            break;
        case 'H':
            if (parse_size(optarg, 16u << 20, &v) || v < 16384)
                return usage_error("--max-header-bytes takes 16384 to 16777216 bytes, got '%s'",
                                   optarg);
            cfg.max_header_bytes = (size_t)v;
            break;
        case 'X': cfg.tls_cert = optarg; break;
        case 'K': cfg.tls_key = optarg; break;
        case 'c':
            if (parse_size(optarg, 100000, &v) || !v)
                return usage_error("--max-connections takes 1 to 100000, got '%s'", optarg);
            cfg.max_connections = (int)v;
            break;
        case 'T':
            if (parse_size(optarg, 86400, &v) || !v)
                return usage_error("--request-timeout takes 1 to 86400 seconds, got '%s'",
                                   optarg);
            cfg.request_timeout = (int)v;
            break;
        case 'P':
            if (!strcmp(optarg, "defaults")) cfg.preload = RL_PRELOAD_DEFAULTS;
            else if (!strcmp(optarg, "all")) cfg.preload = RL_PRELOAD_ALL;
            else if (!strcmp(optarg, "none")) cfg.preload = RL_PRELOAD_NONE;
            else return usage_error("--preload-models takes defaults, all or none, got '%s'",
                                    optarg);
            break;
        case 'I':
            if (parse_size(optarg, 86400 * 365, &v) || !v)
                return usage_error("--model-idle-seconds takes 1 to 31536000, got '%s'", optarg);
            cfg.model_idle_seconds = (int)v;
            break;
        case 'q': cfg.quiet = 1; break;
        case 'h': fputs(HELP, stdout); return 0;
        case 'V': puts("relearnd 0.1.0"); return 0;
        default: return usage_error("%s", "unknown option");
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (!cfg.data_dir) return usage_error("%s", "--data-dir is required");
    cfg.host = host;

    /* Signals stay blocked (also in the server's threads, which inherit the
     * mask) until the main thread waits for them in sigsuspend. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);

    rl_error err;
    rl_error_clear(&err);
    rl_server *s = NULL;
    if (rl_server_open(&cfg, &s, &err) || rl_server_start(s, &err)) {
        fprintf(stderr, "relearnd: %s\n", err.msg);
        rl_server_free(s);
        return 1;
    }
    fprintf(stderr, "relearnd: listening on %s:%d, data in %s\n", host, rl_server_port(s),
            cfg.data_dir);
    fflush(stderr);
    while (!stop_requested) sigsuspend(&old);
    fprintf(stderr, "relearnd: stopping\n");
    rl_server_quiesce(s);
    rl_server_free(s);
    fprintf(stderr, "relearnd: stopped\n");
    return 0;
}
