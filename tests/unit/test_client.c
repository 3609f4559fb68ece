/* test_client.c - the pieces of the relearnd HTTP client that need no server:
 * URL joining, percent-encoding, the mapping of HTTP answers and libcurl
 * failures to rl errors, option checks, a daemon that is not there, and
 * out-of-memory paths. (Calls against a real relearnd are tested end to end
 * in tests/e2e/test_cli_service.py.) */
#include "base/mem.h"
#include "cli/client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_url_join(void **state)
{
    (void)state;
    char *u = NULL;
    assert_int_equal(rl_client_url_join("http://h:1", "/a/b?x=1", &u, NULL), RL_OK);
    assert_string_equal(u, "http://h:1/a/b?x=1");
    rl_free(u);
    assert_int_equal(rl_client_url_join("http://h:1///", "/health", &u, NULL), RL_OK);
    assert_string_equal(u, "http://h:1/health");
    rl_free(u);
    /* An absolute URL (an ApiLocation) is used as it is, whatever the base. */
    assert_int_equal(rl_client_url_join("http://h:1", "HTTPS://other/ws/x", &u, NULL), RL_OK);
    assert_string_equal(u, "HTTPS://other/ws/x");
    rl_free(u);
    rl_error err;
    u = NULL;
    assert_int_equal(rl_client_url_join("http://h:1", "relative/path", &u, &err), RL_EINVAL);
    assert_null(u);
    assert_non_null(strstr(err.msg, "relative/path"));
    assert_int_equal(rl_client_url_join("http://h:1", "ftp://x/y", &u, &err), RL_EINVAL);
    assert_null(u);
}

static void test_escape(void **state)
{
    (void)state;
    char *e = NULL;
    assert_int_equal(rl_client_escape("a b/c?d#e%f&g=h", &e, NULL), RL_OK);
    assert_string_equal(e, "a%20b%2Fc%3Fd%23e%25f%26g%3Dh");
    rl_free(e);
    assert_int_equal(rl_client_escape("Az09-._~", &e, NULL), RL_OK);
    assert_string_equal(e, "Az09-._~");
    rl_free(e);
    assert_int_equal(rl_client_escape("", &e, NULL), RL_OK);
    assert_string_equal(e, "");
    rl_free(e);
    /* UTF-8 bytes each become %XX. */
    assert_int_equal(rl_client_escape("\xc3\xa9", &e, NULL), RL_OK);
    assert_string_equal(e, "%C3%A9");
    rl_free(e);
}

static void test_escape_path(void **state)
{
    (void)state;
    char *e = NULL;
    assert_int_equal(rl_client_escape_path("my data/a b.csv", &e, NULL), RL_OK);
    assert_string_equal(e, "my%20data/a%20b.csv");
    rl_free(e);
    assert_int_equal(rl_client_escape_path("data/q?x=1#f/100%.csv", &e, NULL), RL_OK);
    assert_string_equal(e, "data/q%3Fx%3D1%23f/100%25.csv");
    rl_free(e);
    /* Slashes are kept exactly, empty segments included: the daemon, not the
     * client, decides that "a//b" and "/a" are bad paths. */
    assert_int_equal(rl_client_escape_path("/a//b/", &e, NULL), RL_OK);
    assert_string_equal(e, "/a//b/");
    rl_free(e);
    /* An encoded dot-dot stays visible as dots (unreserved). */
    assert_int_equal(rl_client_escape_path("c/../x", &e, NULL), RL_OK);
    assert_string_equal(e, "c/../x");
    rl_free(e);
    assert_int_equal(rl_client_escape_path("", &e, NULL), RL_OK);
    assert_string_equal(e, "");
    rl_free(e);
    assert_int_equal(rl_client_escape_path("x", &e, NULL), RL_OK);
    assert_string_equal(e, "x");
    rl_free(e);
}

static void test_status_codes(void **state)
{
    (void)state;
    assert_int_equal(rl_client_status_code(200), RL_OK);
    assert_int_equal(rl_client_status_code(201), RL_OK);
    assert_int_equal(rl_client_status_code(204), RL_OK);
    assert_int_equal(rl_client_status_code(400), RL_EINVAL);
    assert_int_equal(rl_client_status_code(401), RL_EAUTH);
    assert_int_equal(rl_client_status_code(403), RL_EFORBIDDEN);
    assert_int_equal(rl_client_status_code(404), RL_ENOTFOUND);
    assert_int_equal(rl_client_status_code(405), RL_EINVAL);
    assert_int_equal(rl_client_status_code(409), RL_ESTATE);
    assert_int_equal(rl_client_status_code(413), RL_ETOOBIG);
    assert_int_equal(rl_client_status_code(503), RL_EBUSY);
    assert_int_equal(rl_client_status_code(500), RL_EINTERNAL);
    assert_int_equal(rl_client_status_code(502), RL_EINTERNAL);
    assert_int_equal(rl_client_status_code(599), RL_EINTERNAL);
    assert_int_equal(rl_client_status_code(302), RL_EIO);
    assert_int_equal(rl_client_status_code(0), RL_EIO);
}

static void test_http_error_json(void **state)
{
    (void)state;
    const char *body =
        "{\"error\": {\"code\": \"BadArgument\", \"message\": \"Invalid argument provided.\","
        " \"details\": [{\"code\": \"MissingInputColumn\", \"target\": \"input1\","
        " \"message\": \"input1 lacks column 'age' that the model needs\"},"
        " {\"code\": \"BadParameter\", \"message\": \"number-of-trees must be 1 to 10000\"},"
        " {\"code\": \"OnlyCode\"}, 7, {}]}}";
    rl_error err;
    int rc = rl_client_http_error(400, body, strlen(body), "POST",
                                  "http://h:1/workspaces/default/services/abc/execute?"
                                  "api-version=2.0&sig=SECRET",
                                  "--key or RELEARN_KEY", 0, &err);
    assert_int_equal(rc, RL_EINVAL);
    assert_int_equal(err.code, RL_EINVAL);
    assert_string_equal(err.msg,
                        "input1 lacks column 'age' that the model "
                        "needs [MissingInputColumn input1]; number-of-trees must be 1 to 10000 "
                        "[BadParameter]; OnlyCode (HTTP 400 BadArgument, POST "
                        "http://h:1/workspaces/default/services/abc/execute)");
    /* No query string (it may hold a signature), no credential hint for 400. */
    assert_null(strstr(err.msg, "SECRET"));
    assert_null(strstr(err.msg, "RELEARN_KEY"));
}

static void test_http_error_auth_busy_big(void **state)
{
    (void)state;
    const char *body = "{\"error\":{\"code\":\"Unauthorized\",\"message\":\"Unknown token.\"}}";
    rl_error err;
    assert_int_equal(rl_client_http_error(401, body, strlen(body), "GET", "http://h/workspaces/w",
                                          "--token or RELEARN_TOKEN", 0, &err),
                     RL_EAUTH);
    assert_string_equal(err.msg, "Unknown token. (HTTP 401 Unauthorized, GET http://h/workspaces/w)"
                                 "; check the credential: --token or RELEARN_TOKEN");
    assert_int_equal(rl_client_http_error(403, "", 0, "GET", "http://h/x", NULL, 0, &err),
                     RL_EFORBIDDEN);
    assert_string_equal(err.msg, "the answer had no body (HTTP 403, GET http://h/x)");
    assert_int_equal(rl_client_http_error(503, "", 0, "POST", "http://h/x", "hint", 7, &err),
                     RL_EBUSY);
    assert_non_null(strstr(err.msg, "retry in 7 s"));
    assert_null(strstr(err.msg, "hint"));
    assert_int_equal(rl_client_http_error(503, "", 0, "POST", "http://h/x", NULL, 0, &err),
                     RL_EBUSY);
    assert_non_null(strstr(err.msg, "retry later"));
    assert_int_equal(rl_client_http_error(413, "", 0, "PUT", "http://h/x", NULL, 0, &err),
                     RL_ETOOBIG);
    assert_non_null(strstr(err.msg, "--max-body"));
    assert_int_equal(rl_client_http_error(409, "", 0, "DELETE", "http://h/x", NULL, 0, &err),
                     RL_ESTATE);
    assert_int_equal(rl_client_http_error(404, "", 0, "GET", "http://h/x", NULL, 0, &err),
                     RL_ENOTFOUND);
    assert_int_equal(rl_client_http_error(500, "", 0, "GET", "http://h/x", NULL, 0, &err),
                     RL_EINTERNAL);
    /* A 2xx given by mistake is still an error, never RL_OK with a message. */
    assert_int_equal(rl_client_http_error(200, "", 0, "GET", "http://h/x", NULL, 0, &err),
                     RL_EINTERNAL);
}

static void test_http_error_not_json(void **state)
{
    (void)state;
    rl_error err;
    /* A proxy's HTML page: shown (cut short), control characters neutralised. */
    char body[600];
    memset(body, 'x', sizeof body);
    const char *head = "<html>\n\x1b[31mBad Gateway";
    memcpy(body, head, strlen(head));
    assert_int_equal(
        rl_client_http_error(502, body, sizeof body, "GET", "http://h/y?a=b", NULL, 0, &err),
        RL_EINTERNAL);
    assert_non_null(strstr(err.msg, "the answer was: <html> ?[31mBad Gateway"));
    assert_non_null(strstr(err.msg, "... (HTTP 502, GET http://h/y)"));
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\x1b'));
    /* JSON of another shape. */
    const char *other = "{\"message\": \"no\"}";
    assert_int_equal(
        rl_client_http_error(400, other, strlen(other), "GET", "http://h/", NULL, 0, &err),
        RL_EINVAL);
    assert_non_null(strstr(err.msg, "the answer was: {\"message\": \"no\"}"));
    /* A NUL inside the body does not cut the message short silently. */
    assert_int_equal(rl_client_http_error(400, "a\0b", 3, "GET", "http://h/", NULL, 0, &err),
                     RL_EINVAL);
    assert_non_null(strstr(err.msg, "the answer was: a?b"));
}

static void test_transport_errors(void **state)
{
    (void)state;
    rl_error err;
    assert_int_equal(rl_client_transport_error(CURLE_COULDNT_CONNECT,
                                               "http://127.0.0.1:9/workspaces/x?y=1",
                                               "Connection refused", &err),
                     RL_EIO);
    assert_non_null(strstr(err.msg, "cannot reach relearnd at http://127.0.0.1:9: is it "
                                    "running? (start it with relearnd --data-dir DIR --listen "
                                    "HOST:PORT"));
    assert_null(strstr(err.msg, "workspaces"));
    assert_int_equal(
        rl_client_transport_error(CURLE_COULDNT_RESOLVE_HOST, "http://nohost", NULL, &err), RL_EIO);
    assert_non_null(strstr(err.msg, "cannot resolve the host of http://nohost"));
    assert_int_equal(rl_client_transport_error(CURLE_OPERATION_TIMEDOUT, "https://h:1/a", "", &err),
                     RL_EIO);
    assert_non_null(strstr(err.msg, "https://h:1 did not answer in time"));
    assert_int_equal(rl_client_transport_error(CURLE_OUT_OF_MEMORY, "http://h", NULL, &err),
                     RL_ENOMEM);
    assert_int_equal(rl_client_transport_error(CURLE_RECV_ERROR, "http://h/x", "reset", &err),
                     RL_EIO);
    assert_non_null(strstr(err.msg, "broke (reset)"));
    assert_int_equal(rl_client_transport_error(CURLE_URL_MALFORMAT, "http://[", NULL, &err),
                     RL_EINVAL);
}

static void test_new_checks(void **state)
{
    (void)state;
    rl_client *c = NULL;
    rl_error err;
    rl_client_opts o = {"ftp://h", NULL, NULL, 0, 0};
    assert_int_equal(rl_client_new(&o, &c, &err), RL_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "--url must be an http:// or https:// URL"));

    o.url = "http://h:1//";
    o.token = "tok\r\nX-Evil: 1";
    assert_int_equal(rl_client_new(&o, &c, &err), RL_EINVAL);
    assert_null(c);
    o.token = "tok en";
    assert_int_equal(rl_client_new(&o, &c, &err), RL_EINVAL);
    o.token = "abc-_.123";
    assert_int_equal(rl_client_new(&o, &c, &err), RL_OK);
    assert_string_equal(rl_client_base_url(c), "http://h:1");
    rl_client_free(c);
    rl_client_free(NULL);

    /* No URL given: the environment, then the default. */
    o.url = NULL;
    o.token = NULL;
    setenv("RELEARN_URL", "https://example.org:8443/", 1);
    assert_int_equal(rl_client_new(&o, &c, &err), RL_OK);
    assert_string_equal(rl_client_base_url(c), "https://example.org:8443");
    rl_client_free(c);
    setenv("RELEARN_URL", "example.org", 1);
    assert_int_equal(rl_client_new(&o, &c, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "RELEARN_URL must be"));
    unsetenv("RELEARN_URL");
    assert_int_equal(rl_client_new(&o, &c, &err), RL_OK);
    assert_string_equal(rl_client_base_url(c), RL_CLIENT_DEFAULT_URL);
    rl_client_free(c);
}

/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_daemon_not_running(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    rl_client_opts o = {url, "t", NULL, 5, 2};
    rl_client *c = NULL;
    rl_error err;
    assert_int_equal(rl_client_new(&o, &c, &err), RL_OK);
    json_t *out = (json_t *)1;
    long status = -1;
    assert_int_equal(rl_client_json(c, "GET", "/health", NULL, &out, &status, &err), RL_EIO);
    assert_ptr_equal(out, (json_t *)1); /* untouched on failure */
    assert_int_equal(status, -1);
    char want[128];
    snprintf(want, sizeof want, "cannot reach relearnd at %s: is it running?", url);
    assert_non_null(strstr(err.msg, want));

    /* A JSON body, a POST without one, an upload: the same answer. */
    json_t *body = json_pack("{s:s}", "KeyName", "primary");
    assert_int_equal(rl_client_json(c, "POST", "/x", body, NULL, NULL, &err), RL_EIO);
    assert_int_equal(rl_client_json(c, "POST", "/x", NULL, NULL, NULL, &err), RL_EIO);
    json_decref(body);

    char dir[] = "/tmp/rl_client_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128], target[128];
    snprintf(file, sizeof file, "%s/up.csv", dir);
    FILE *f = fopen(file, "w");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    assert_int_equal(rl_client_upload(c, "PUT", "/storage/data/up.csv", file, NULL, &err), RL_EIO);
    assert_non_null(strstr(err.msg, "cannot reach relearnd"));

    /* A failed download leaves the target as it was and no temporary file. */
    snprintf(target, sizeof target, "%s/keep.csv", dir);
    f = fopen(target, "w");
    fputs("old", f);
    fclose(f);
    uint64_t size = 99;
    assert_int_equal(rl_client_download(c, "/storage/data/up.csv", target, &size, &err), RL_EIO);
    assert_int_equal(size, 99);
    f = fopen(target, "r");
    char buf[8] = {0};
    assert_int_equal(fread(buf, 1, sizeof buf, f), 3);
    fclose(f);
    assert_string_equal(buf, "old");
    unlink(target);
    unlink(file);
    assert_int_equal(rmdir(dir), 0); /* fails if a .part file was left behind */
    rl_client_free(c);
}

static void test_silent_peer_times_out(void **state)
{
    (void)state;
    /* Something listens but never answers (connections wait in the backlog):
     * the request gives up after its timeout with a clear message. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    rl_client_opts o = {url, "t", NULL, 5, 2};
    rl_client *c = NULL;
    rl_error err;
    assert_int_equal(rl_client_new(&o, &c, &err), RL_OK);
    rl_client_set_timeout(c, 1);
    assert_int_equal(rl_client_json(c, "GET", "/health", NULL, NULL, NULL, &err), RL_EIO);
    assert_non_null(strstr(err.msg, "did not answer in time"));
    assert_non_null(strstr(err.msg, url));
    rl_client_free(c);
    close(fd);
}

static void test_upload_local_errors(void **state)
{
    (void)state;
    rl_client_opts o = {"http://127.0.0.1:1", "t", NULL, 1, 1};
    rl_client *c = NULL;
    rl_error err;
    assert_int_equal(rl_client_new(&o, &c, &err), RL_OK);
    assert_int_equal(rl_client_upload(c, "PUT", "/storage/a/b", "/nonexistent/x.csv", NULL, &err),
                     RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/x.csv"));
    assert_int_equal(rl_client_upload(c, "PUT", "/storage/a/b", "/tmp", NULL, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    /* A download into a directory that does not exist. */
    assert_int_equal(rl_client_download(c, "/storage/a/b", "/nonexistent/dir/x", NULL, &err),
                     RL_ENOTFOUND);
    /* A target that is neither a path nor a URL. */
    assert_int_equal(rl_client_json(c, "GET", "health", NULL, NULL, NULL, &err), RL_EINVAL);
    rl_client_free(c);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    /* Every allocation of these may fail; each failure is reported as
     * RL_ENOMEM with nothing leaked (ASan checks) and nothing written. */
    int ok = 0;
    for (long n = 0; n < 64 && !ok; n++) {
        char *e = NULL;
        rl_error err;
        rl_mem_fail_after(n);
        int rc = rl_client_escape_path("my data/x y/z.csv", &e, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            assert_string_equal(e, "my%20data/x%20y/z.csv");
            rl_free(e);
            ok = 1;
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(e);
        }
    }
    assert_true(ok);
    ok = 0;
    for (long n = 0; n < 64 && !ok; n++) {
        rl_client *c = NULL;
        rl_error err;
        rl_client_opts o = {"http://h/", "tok", "hint", 0, 0};
        rl_mem_fail_after(n);
        int rc = rl_client_new(&o, &c, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            rl_client_free(c);
            ok = 1;
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(c);
        }
    }
    assert_true(ok);
    ok = 0;
    for (long n = 0; n < 64 && !ok; n++) {
        char *u = NULL;
        rl_error err;
        rl_mem_fail_after(n);
        int rc = rl_client_url_join("http://h", "/a", &u, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            assert_string_equal(u, "http://h/a");
            rl_free(u);
            ok = 1;
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(u);
        }
    }
    assert_true(ok);
    /* The error path itself under memory pressure still returns the status's
     * code with some message. */
    for (long n = 0; n < 8; n++) {
        rl_error err;
        const char *body = "{\"error\":{\"code\":\"NotFound\",\"message\":\"m\"}}";
        rl_mem_fail_after(n);
        int rc = rl_client_http_error(404, body, strlen(body), "GET", "http://h/x", NULL, 0, &err);
        rl_mem_fail_reset();
        assert_int_equal(rc, RL_ENOTFOUND);
        assert_int_equal(err.code, RL_ENOTFOUND);
        assert_true(err.msg[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_join),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_path),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_http_error_json),
        cmocka_unit_test(test_http_error_auth_busy_big),
        cmocka_unit_test(test_http_error_not_json),
        cmocka_unit_test(test_transport_errors),
        cmocka_unit_test(test_new_checks),
        cmocka_unit_test(test_daemon_not_running),
        cmocka_unit_test(test_silent_peer_times_out),
        cmocka_unit_test(test_upload_local_errors),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
