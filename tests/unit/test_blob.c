/* test_blob.c - the blob store (store/blob.h) on its local backend: address
 * rules, atomic writes, crash leftovers, symlink and traversal refusal,
 * damage detection, listing, locking and concurrency. */
#include "base/crypto.h"
#include "base/mem.h"
#include "store/blob.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];   /* scratch directory */
    char root[128]; /* the store, inside dir */
    rl_blob_store *s;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    chmod(p, 0700);
    return remove(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rl_blob_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->root, sizeof f->root, "%s/store", f->dir);
    rl_error err;
    if (rl_blob_open_local(f->root, &f->s, &err) != RL_OK) {
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
    rl_blob_close(f->s);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void reopen(fixture *f)
{
    rl_error err;
    rl_blob_close(f->s);
    f->s = NULL;
    if (rl_blob_open_local(f->root, &f->s, &err) != RL_OK) fprintf(stderr, "%s\n", err.msg);
    assert_non_null(f->s);
}

/* Number of entries (not . and ..) in dir, or -1 when it does not exist. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int count_files_cb_n;
static int count_files_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)p;
    (void)sb;
    (void)ftw;
    if (flag == FTW_F) count_files_cb_n++;
    return 0;
}

/* Regular files anywhere below dir. */
static int count_files(const char *dir)
{
    count_files_cb_n = 0;
    nftw(dir, count_files_cb, 8, FTW_PHYS);
    return count_files_cb_n;
}

static void put_str(fixture *f, const char *address, const char *text)
{
    rl_error err;
    int rc = rl_blob_put(f->s, address, text, strlen(text), NULL, &err);
    if (rc) fprintf(stderr, "put %s: %s\n", address, err.msg);
    assert_int_equal(rc, RL_OK);
}

static void expect_str(fixture *f, const char *address, const char *text)
{
    char *data = NULL;
    size_t len = 0;
    rl_error err;
    int rc = rl_blob_get(f->s, address, 0, &data, &len, NULL, &err);
    if (rc) fprintf(stderr, "get %s: %s\n", address, err.msg);
    assert_int_equal(rc, RL_OK);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(data, text, len);
    assert_int_equal(data[len], '\0');
    rl_free(data);
}

/* The one object file of the blob (via its local path). */
static char *object_path(fixture *f, const char *address)
{
    char *path = NULL;
    assert_int_equal(rl_blob_local_path(f->s, address, &path, NULL, NULL), RL_OK);
    return path;
}

/* ---- address rules ---- */

static void test_address_rules(void **state)
{
    (void)state;
    static const char *valid[] = {
        "abc/x",
        "my-container-01/a/b/c.csv",
        "abc/100%",
        "abc/50%off", /* '%' not followed by two hex digits */
        "abc/..x",    /* only exactly "." and ".." are special */
        "abc/.hidden",
        "abc/x..",
        "abc/file with spaces; and 'quotes'",
        "abc/unicode \xc3\xa9\xe6\x97\xa5",
        "a1b/x",
        "123/x",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        rl_error err;
        int rc = rl_blob_address_check(valid[i], &err);
        if (rc) fprintf(stderr, "%s: %s\n", valid[i], err.msg);
        assert_int_equal(rc, RL_OK);
    }
    static const struct {
        const char *address, *word;
    } invalid[] = {
        {"", "empty"},
        {"ab/x", "3 to 63"},
        {"Abc/x", "lowercase"},
        {"ab_c/x", "lowercase"},
        {"-abc/x", "start and end"},
        {"abc-/x", "start and end"},
        {"a--b/x", "\"--\""},
        {"abc", "no path"},
        {"abc/", "empty path segment"},
        {"abc//x", "empty path segment"},
        {"abc/x/", "empty path segment"},
        {"abc/.", "\".\" segment"},
        {"abc/./x", "\".\" segment"},
        {"abc/..", "\"..\" segment"},
        {"abc/../x", "\"..\" segment"},
        {"abc/x/../../../etc/passwd", "\"..\" segment"},
        {"/etc/passwd", "starts with '/'"},
        {"/abc/x", "starts with '/'"},
        {"abc/x\\..\\y", "backslash"},
        {"abc\\x", "backslash"},
        {"abc/x\x01y", "control character"},
        {"abc/x\ny", "control character"},
        {"abc/x\x7f", "control character"},
        {"abc/%2e%2e/x", "percent-escape"},
        {"abc/%2E%2e", "percent-escape"},
        {"abc/a%2fb", "percent-escape"},
        {"abc/a%00", "percent-escape"},
        {"abc/a%5c..", "percent-escape"},
        {"abc/\xff", "UTF-8"},
        {"abc/\xc0\xae\xc0\xae", "UTF-8"}, /* overlong ".." */
        {"abc/\xed\xa0\x80", "UTF-8"},     /* a surrogate */
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        rl_error err;
        int rc = rl_blob_address_check(invalid[i].address, &err);
        if (rc != RL_EINVAL || !strstr(err.msg, invalid[i].word))
            fprintf(stderr, "%s -> %d %s\n", invalid[i].address, rc, err.msg);
        assert_int_equal(rc, RL_EINVAL);
        assert_non_null(strstr(err.msg, invalid[i].word));
    }
    assert_int_equal(rl_blob_address_check(NULL, NULL), RL_EINVAL);
    /* Length and segment limits. */
    char long_addr[RL_BLOB_ADDRESS_MAX + 8];
    memcpy(long_addr, "abc/", 4);
    memset(long_addr + 4, 'x', sizeof long_addr - 5);
    long_addr[RL_BLOB_ADDRESS_MAX] = '\0';
    assert_int_equal(rl_blob_address_check(long_addr, NULL), RL_OK);
    long_addr[RL_BLOB_ADDRESS_MAX] = 'x';
    long_addr[RL_BLOB_ADDRESS_MAX + 1] = '\0';
    assert_int_equal(rl_blob_address_check(long_addr, NULL), RL_EINVAL);
    char many[4 + 2 * 256];
    memcpy(many, "abc", 3);
    size_t o = 3;
    for (int i = 0; i < 255; i++) {
        many[o++] = '/';
        many[o++] = 'a';
    }
    many[o] = '\0';
    rl_error err;
    assert_int_equal(rl_blob_address_check(many, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "segments"));
    many[o - 2] = '\0'; /* 254 segments */
    assert_int_equal(rl_blob_address_check(many, &err), RL_OK);
    /* Containers alone. */
    assert_int_equal(rl_blob_container_check("abc", NULL), RL_OK);
    assert_int_equal(rl_blob_container_check("ab", NULL), RL_EINVAL);
    char c64[65];
    memset(c64, 'a', 64);
    c64[64] = '\0';
    assert_int_equal(rl_blob_container_check(c64, NULL), RL_EINVAL);
    c64[63] = '\0';
    assert_int_equal(rl_blob_container_check(c64, NULL), RL_OK);
}

/* ---- writes and reads ---- */

static void test_put_get_stat(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_blob_info info;
    const char *text = "age,workclass\n39,State-gov\n";
    assert_int_equal(rl_blob_put(f->s, "data/census/train.csv", text, strlen(text), &info, &err),
                     RL_OK);
    char hex[RL_SHA256_HEX_SIZE];
    rl_sha256_hex(text, strlen(text), hex, NULL);
    assert_string_equal(info.sha256, hex);
    assert_int_equal(info.size, strlen(text));
    assert_true(info.mtime > 1600000000000LL);
    expect_str(f, "data/census/train.csv", text);
    rl_blob_info st;
    assert_int_equal(rl_blob_stat(f->s, "data/census/train.csv", &st, &err), RL_OK);
    assert_int_equal(st.size, info.size);
    assert_int_equal(st.mtime, info.mtime);
    assert_string_equal(st.sha256, info.sha256);
    assert_int_equal(rl_blob_verify(f->s, "data/census/train.csv", &err), RL_OK);
    /* Overwrite: the new content, the old object gone. */
    put_str(f, "data/census/train.csv", "new");
    expect_str(f, "data/census/train.csv", "new");
    char objects[200];
    snprintf(objects, sizeof objects, "%s/objects", f->root);
    assert_int_equal(count_files(objects), 1);
    /* Empty blob. */
    assert_int_equal(rl_blob_put(f->s, "data/empty", NULL, 0, &info, &err), RL_OK);
    assert_string_equal(info.sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_str(f, "data/empty", "");
    /* Limits and absence. */
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(rl_blob_get(f->s, "data/census/train.csv", 2, &data, &len, NULL, &err),
                     RL_ETOOBIG);
    assert_null(data);
    assert_int_equal(rl_blob_get(f->s, "data/census/train.csv", 3, &data, &len, NULL, &err), RL_OK);
    rl_free(data);
    assert_int_equal(rl_blob_get(f->s, "data/nope", 0, &data, &len, NULL, &err), RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "data/nope"));
    assert_int_equal(rl_blob_get(f->s, "nope/x/y", 0, &data, &len, NULL, &err), RL_ENOTFOUND);
    assert_int_equal(rl_blob_stat(f->s, "data/census", &st, &err), RL_ENOTFOUND);
    assert_int_equal(rl_blob_put(f->s, "data/x", NULL, 3, NULL, &err), RL_EINVAL);
    /* Persisted across reopen. */
    reopen(f);
    expect_str(f, "data/census/train.csv", "new");
    assert_string_equal(rl_blob_backend(f->s), "local");
}

static void test_file_and_directory_names_coexist(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "abc/a", "file a");
    put_str(f, "abc/a/b", "file a/b");
    put_str(f, "abc/a%b", "percent b");
    put_str(f, "abc/100%", "hundred");
    put_str(f, "abc/a%b/c", "under percent b");
    expect_str(f, "abc/a", "file a");
    expect_str(f, "abc/a/b", "file a/b");
    expect_str(f, "abc/a%b", "percent b");
    expect_str(f, "abc/100%", "hundred");
    expect_str(f, "abc/a%b/c", "under percent b");
    /* "%25" is a percent-escape: refused, so it cannot alias "%". */
    assert_int_equal(rl_blob_put(f->s, "abc/100%25", "x", 1, NULL, &err), RL_EINVAL);
    rl_blob_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_blob_list(f->s, "abc", NULL, &v, &n, &err), RL_OK);
    assert_int_equal(n, 5);
    assert_string_equal(v[0].name, "100%");
    assert_string_equal(v[1].name, "a");
    assert_string_equal(v[2].name, "a%b");
    assert_string_equal(v[3].name, "a%b/c");
    assert_string_equal(v[4].name, "a/b");
    rl_blob_list_free(v, n);
    assert_int_equal(rl_blob_delete(f->s, "abc/a", &err), RL_OK);
    expect_str(f, "abc/a/b", "file a/b");
}

static void test_list(void **state)
{
    fixture *f = *state;
    rl_error err;
    const char *names[] = {"results/job2/out.csv",
                           "results/job1/model.ilearner",
                           "results/job1/eval.json",
                           "results/a",
                           "other.txt",
                           "results2/x"};
    for (size_t i = 0; i < 6; i++) {
        char address[128];
        snprintf(address, sizeof address, "jobs/%s", names[i]);
        put_str(f, address, names[i]);
    }
    put_str(f, "elsewhere/results/x", "not in jobs");
    rl_blob_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_blob_list(f->s, "jobs", "", &v, &n, &err), RL_OK);
    assert_int_equal(n, 6);
    assert_string_equal(v[0].name, "other.txt");
    assert_string_equal(v[1].name, "results/a");
    assert_string_equal(v[2].name, "results/job1/eval.json");
    assert_string_equal(v[3].name, "results/job1/model.ilearner");
    assert_string_equal(v[4].name, "results/job2/out.csv");
    assert_string_equal(v[5].name, "results2/x");
    assert_int_equal(v[4].info.size, strlen("results/job2/out.csv"));
    char hex[RL_SHA256_HEX_SIZE];
    rl_sha256_hex("other.txt", 9, hex, NULL);
    assert_string_equal(v[0].info.sha256, hex);
    rl_blob_list_free(v, n);
    /* Prefixes need not end at a '/'. */
    assert_int_equal(rl_blob_list(f->s, "jobs", "results/job1/", &v, &n, &err), RL_OK);
    assert_int_equal(n, 2);
    rl_blob_list_free(v, n);
    assert_int_equal(rl_blob_list(f->s, "jobs", "results", &v, &n, &err), RL_OK);
    assert_int_equal(n, 5);
    rl_blob_list_free(v, n);
    assert_int_equal(rl_blob_list(f->s, "jobs", "results/job", &v, &n, &err), RL_OK);
    assert_int_equal(n, 3);
    rl_blob_list_free(v, n);
    assert_int_equal(rl_blob_list(f->s, "jobs", "zzz", &v, &n, &err), RL_OK);
    assert_int_equal(n, 0);
    assert_null(v);
    /* A container without blobs is empty, an invalid one refused. */
    assert_int_equal(rl_blob_list(f->s, "nothing-here", NULL, &v, &n, &err), RL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(rl_blob_list(f->s, "../x", NULL, &v, &n, &err), RL_EINVAL);
    assert_int_equal(rl_blob_list(f->s, "jobs", "a\x01", &v, &n, &err), RL_EINVAL);
}

static void test_delete(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "box/a/b/c/d", "deep");
    put_str(f, "box/a/keep", "keep");
    assert_int_equal(rl_blob_delete(f->s, "box/a/b/c/d", &err), RL_OK);
    assert_int_equal(rl_blob_delete(f->s, "box/a/b/c/d", &err), RL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "box/a/b/c/d"));
    assert_int_equal(rl_blob_delete(f->s, "box/a/b", &err), RL_ENOTFOUND);
    assert_int_equal(rl_blob_delete(f->s, "nobox/x", &err), RL_ENOTFOUND);
    /* Emptied directories are removed, others kept. */
    char p[256];
    snprintf(p, sizeof p, "%s/refs/box/a/b", f->root);
    assert_int_equal(count_entries(p), -1);
    snprintf(p, sizeof p, "%s/refs/box/a", f->root);
    assert_int_equal(count_entries(p), 1);
    snprintf(p, sizeof p, "%s/objects", f->root);
    assert_int_equal(count_files(p), 1);
    assert_int_equal(rl_blob_delete(f->s, "box/a/keep", &err), RL_OK);
    snprintf(p, sizeof p, "%s/refs", f->root);
    assert_int_equal(count_entries(p), 0);
    snprintf(p, sizeof p, "%s/objects", f->root);
    assert_int_equal(count_files(p), 0);
    assert_int_equal(rl_blob_delete(f->s, "box/../x", &err), RL_EINVAL);
}

/* ---- large uploads through temporary files ---- */

static void test_tmp_commit(void **state)
{
    fixture *f = *state;
    rl_error err;
    int fd = -1;
    char *tmp = NULL;
    assert_int_equal(rl_blob_tmp_open(f->s, &fd, &tmp, &err), RL_OK);
    assert_non_null(strstr(tmp, "/tmp/.rl-tmp-"));
    /* 1 MiB written in pieces, as a streaming upload would. */
    size_t total = 1 << 20;
    char *chunk = malloc(4096);
    rl_sha256_ctx *ctx = NULL;
    rl_sha256_new(&ctx, NULL);
    for (size_t off = 0; off < total; off += 4096) {
        for (int i = 0; i < 4096; i++)
            chunk[i] = (char)((off + (size_t)i) * 31 % 251);
        assert_int_equal(write(fd, chunk, 4096), 4096);
        rl_sha256_update(ctx, chunk, 4096, NULL);
    }
    free(chunk);
    uint8_t d[RL_SHA256_LEN];
    char hex[RL_SHA256_HEX_SIZE];
    rl_sha256_final(ctx, d, NULL);
    rl_sha256_free(ctx);
    rl_hex_encode(d, sizeof d, hex, sizeof hex, NULL);
    close(fd);
    /* Not visible before the commit. */
    rl_blob_info info;
    assert_int_equal(rl_blob_stat(f->s, "uploads/big.bin", &info, &err), RL_ENOTFOUND);
    assert_int_equal(rl_blob_commit_tmp(f->s, tmp, "uploads/big.bin", &info, &err), RL_OK);
    assert_string_equal(info.sha256, hex);
    assert_int_equal(info.size, total);
    assert_int_equal(rl_blob_verify(f->s, "uploads/big.bin", &err), RL_OK);
    /* Committing again: the temporary file is gone. */
    assert_int_equal(rl_blob_commit_tmp(f->s, tmp, "uploads/again", &info, &err), RL_EINVAL);
    rl_free(tmp);
    char tmpdir[200];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", f->root);
    assert_int_equal(count_entries(tmpdir), 0);
    /* Only the store's own temporary files can be committed. */
    char outside[200];
    snprintf(outside, sizeof outside, "%s/outside.txt", f->dir);
    FILE *fp = fopen(outside, "w");
    fputs("secret", fp);
    fclose(fp);
    assert_int_equal(rl_blob_commit_tmp(f->s, outside, "uploads/x", &info, &err), RL_EINVAL);
    char sneaky[300];
    snprintf(sneaky, sizeof sneaky, "%s/tmp/../../outside.txt", f->root);
    assert_int_equal(rl_blob_commit_tmp(f->s, sneaky, "uploads/x", &info, &err), RL_EINVAL);
    snprintf(sneaky, sizeof sneaky, "%s/tmp/.rl-tmp-0123456789abcdef/../../x", f->root);
    assert_int_equal(rl_blob_commit_tmp(f->s, sneaky, "uploads/x", &info, &err), RL_EINVAL);
    /* Discard. */
    assert_int_equal(rl_blob_tmp_open(f->s, &fd, &tmp, &err), RL_OK);
    close(fd);
    assert_int_equal(count_entries(tmpdir), 1);
    rl_blob_tmp_discard(f->s, tmp);
    rl_free(tmp);
    rl_blob_tmp_discard(f->s, outside); /* ignored */
    assert_int_equal(count_entries(tmpdir), 0);
    assert_int_equal(access(outside, F_OK), 0);
    /* A failed commit (bad address) keeps the temporary file. */
    assert_int_equal(rl_blob_tmp_open(f->s, &fd, &tmp, &err), RL_OK);
    close(fd);
    assert_int_equal(rl_blob_commit_tmp(f->s, tmp, "up/../x", &info, &err), RL_EINVAL);
    assert_int_equal(access(tmp, F_OK), 0);
    rl_blob_tmp_discard(f->s, tmp);
    rl_free(tmp);
}

static void test_put_file(void **state)
{
    fixture *f = *state;
    rl_error err;
    char src[200];
    snprintf(src, sizeof src, "%s/model.ilearner", f->dir);
    FILE *fp = fopen(src, "w");
    fputs("model bytes", fp);
    fclose(fp);
    assert_int_equal(rl_blob_put_file(f->s, "models/copy", src, 0, NULL, &err), RL_OK);
    assert_int_equal(access(src, F_OK), 0);
    expect_str(f, "models/copy", "model bytes");
    assert_int_equal(rl_blob_put_file(f->s, "models/moved", src, 1, NULL, &err), RL_OK);
    assert_int_equal(access(src, F_OK), -1);
    expect_str(f, "models/moved", "model bytes");
    assert_int_equal(rl_blob_put_file(f->s, "models/x", src, 1, NULL, &err), RL_ENOTFOUND);
    assert_int_equal(rl_blob_put_file(f->s, "models/x", f->dir, 0, NULL, &err), RL_EINVAL);
    /* A move that cannot be committed puts the file back. */
    fp = fopen(src, "w");
    fputs("again", fp);
    fclose(fp);
    char blocker[300];
    snprintf(blocker, sizeof blocker, "%s/refs/models/blocked", f->root);
    assert_int_equal(mkdir(blocker, 0755), 0);
    snprintf(blocker, sizeof blocker, "%s/refs/models/blocked/inner%%b", f->root);
    assert_int_equal(mkdir(blocker, 0755), 0); /* a directory where a pointer would go */
    assert_int_not_equal(rl_blob_put_file(f->s, "models/blocked/inner", src, 1, NULL, &err), RL_OK);
    assert_int_equal(access(src, F_OK), 0);
}

static void test_open_read_and_local_path(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "data/x.csv", "a,b\n1,2\n");
    int fd = -1;
    rl_blob_info info;
    assert_int_equal(rl_blob_open_read(f->s, "data/x.csv", &fd, &info, &err), RL_OK);
    assert_int_equal(info.size, 8);
    char *path = object_path(f, "data/x.csv");
    assert_true(path[0] == '/');
    FILE *fp = fopen(path, "r");
    char buf[32] = {0};
    assert_int_equal(fread(buf, 1, sizeof buf, fp), 8);
    fclose(fp);
    assert_string_equal(buf, "a,b\n1,2\n");
    /* The descriptor outlives a replacement and a delete. */
    put_str(f, "data/x.csv", "replaced");
    assert_int_equal(rl_blob_delete(f->s, "data/x.csv", &err), RL_OK);
    memset(buf, 0, sizeof buf);
    assert_int_equal(read(fd, buf, sizeof buf), 8);
    assert_string_equal(buf, "a,b\n1,2\n");
    close(fd);
    assert_int_equal(access(path, F_OK), -1);
    rl_free(path);
    assert_int_equal(rl_blob_open_read(f->s, "data/x.csv", &fd, &info, &err), RL_ENOTFOUND);
}

/* ---- crash leftovers ---- */

static void test_crash_leftovers_cleaned(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "keep/me", "kept");
    /* An upload that was never committed (the process died mid-write). */
    int fd = -1;
    char *tmp = NULL;
    assert_int_equal(rl_blob_tmp_open(f->s, &fd, &tmp, &err), RL_OK);
    assert_int_equal(write(fd, "half of a uplo", 14), 14);
    close(fd);
    /* An object whose pointer was never written (died between the two
     * renames of a commit). */
    char *kept = object_path(f, "keep/me");
    char orphan[300];
    snprintf(orphan, sizeof orphan, "%s/objects/ab/%s-0123456789abcdef", f->root,
             "abababababababababababababababababababababababababababababababab");
    char sub[300];
    snprintf(sub, sizeof sub, "%s/objects/ab", f->root);
    mkdir(sub, 0755);
    FILE *fp = fopen(orphan, "w");
    fputs("orphan", fp);
    fclose(fp);
    /* A foreign file in tmp/ without our prefix is left alone. */
    char foreign[300];
    snprintf(foreign, sizeof foreign, "%s/tmp/notes.txt", f->root);
    fp = fopen(foreign, "w");
    fclose(fp);
    reopen(f);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(orphan, F_OK), -1);
    assert_int_equal(access(kept, F_OK), 0);
    assert_int_equal(access(foreign, F_OK), 0);
    expect_str(f, "keep/me", "kept");
    rl_blob_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_blob_list(f->s, "keep", NULL, &v, &n, &err), RL_OK);
    assert_int_equal(n, 1);
    rl_blob_list_free(v, n);
    size_t checked = 0;
    assert_int_equal(rl_blob_check(f->s, &checked, &err), RL_OK);
    assert_int_equal(checked, 1);
    rl_free(tmp);
    rl_free(kept);
}

static void test_damaged_pointer_blocks_gc(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "keep/a", "a");
    put_str(f, "keep/b", "b");
    char *obj_b = object_path(f, "keep/b");
    /* Damage a's pointer: its object cannot be told from an orphan now, so
     * the next open must not remove any object. */
    char ptr[300];
    snprintf(ptr, sizeof ptr, "%s/refs/keep/a%%b", f->root);
    FILE *fp = fopen(ptr, "w");
    fputs("relearn-blob 1\nsha256 nonsense\n", fp);
    fclose(fp);
    char objects[300];
    snprintf(objects, sizeof objects, "%s/objects", f->root);
    int before = count_files(objects);
    reopen(f);
    assert_int_equal(count_files(objects), before);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(rl_blob_get(f->s, "keep/a", 0, &data, &len, NULL, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "pointer file is damaged"));
    assert_int_equal(rl_blob_check(f->s, NULL, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "keep/a"));
    rl_blob_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_blob_list(f->s, "keep", NULL, &v, &n, &err), RL_EFORMAT);
    /* Deleting the damaged blob works and repairs the store. */
    assert_int_equal(rl_blob_delete(f->s, "keep/a", &err), RL_OK);
    assert_int_equal(rl_blob_check(f->s, NULL, &err), RL_OK);
    expect_str(f, "keep/b", "b");
    assert_int_equal(access(obj_b, F_OK), 0);
    rl_free(obj_b);
}

static void test_damage_detected(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "data/one", "0123456789");
    put_str(f, "data/two", "abcdefghij");
    char *path = object_path(f, "data/one");
    /* Same size, different bytes: only the checksum can tell. */
    chmod(path, 0644);
    FILE *fp = fopen(path, "r+");
    fputs("01234X6789", fp);
    fclose(fp);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(rl_blob_get(f->s, "data/one", 0, &data, &len, NULL, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "damaged"));
    assert_null(data);
    assert_int_equal(rl_blob_verify(f->s, "data/one", &err), RL_EFORMAT);
    size_t checked = 0;
    assert_int_equal(rl_blob_check(f->s, &checked, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "1 of 2"));
    assert_non_null(strstr(err.msg, "data/one"));
    /* Truncated. */
    assert_int_equal(truncate(path, 4), 0);
    assert_int_equal(rl_blob_get(f->s, "data/one", 0, &data, &len, NULL, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "4 bytes on disk"));
    /* Missing. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rl_blob_get(f->s, "data/one", 0, &data, &len, NULL, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "missing"));
    expect_str(f, "data/two", "abcdefghij");
    rl_free(path);
}

/* ---- traversal and symbolic links ---- */

static void test_symlinks_refused(void **state)
{
    fixture *f = *state;
    rl_error err;
    char outside[200], link[300], target[300];
    snprintf(outside, sizeof outside, "%s/outside", f->dir);
    assert_int_equal(mkdir(outside, 0755), 0);
    snprintf(target, sizeof target, "%s/secret.txt", outside);
    FILE *fp = fopen(target, "w");
    fputs("secret", fp);
    fclose(fp);

    /* A directory link inside a container. */
    put_str(f, "box/real", "real");
    snprintf(link, sizeof link, "%s/refs/box/evil", f->root);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(rl_blob_put(f->s, "box/evil/x", "pwn", 3, NULL, &err), RL_EFORBIDDEN);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(count_entries(outside), 1);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(rl_blob_get(f->s, "box/evil/secret.txt", 0, &data, &len, NULL, &err),
                     RL_EFORBIDDEN);
    assert_int_equal(rl_blob_delete(f->s, "box/evil/secret.txt", &err), RL_EFORBIDDEN);
    assert_int_equal(access(target, F_OK), 0);

    /* A container that is a link. */
    snprintf(link, sizeof link, "%s/refs/linked", f->root);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(rl_blob_put(f->s, "linked/x", "pwn", 3, NULL, &err), RL_EFORBIDDEN);
    rl_blob_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_blob_list(f->s, "linked", NULL, &v, &n, &err), RL_EFORBIDDEN);
    assert_int_equal(count_entries(outside), 1);

    /* A pointer file that is a link (to a file outside). */
    snprintf(link, sizeof link, "%s/refs/box/leak%%b", f->root);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(rl_blob_get(f->s, "box/leak", 0, &data, &len, NULL, &err), RL_EFORBIDDEN);
    rl_blob_info info;
    assert_int_equal(rl_blob_stat(f->s, "box/leak", &info, &err), RL_EFORBIDDEN);
    /* Listing skips what is not ours instead of following it. */
    assert_int_equal(rl_blob_list(f->s, "box", NULL, &v, &n, &err), RL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "real");
    rl_blob_list_free(v, n);

    /* An object that is a link. */
    char *obj = object_path(f, "box/real");
    assert_int_equal(unlink(obj), 0);
    assert_int_equal(symlink(target, obj), 0);
    assert_int_equal(rl_blob_get(f->s, "box/real", 0, &data, &len, NULL, &err), RL_EFORBIDDEN);
    rl_free(obj);

    /* Traversal by address never reaches a backend. */
    assert_int_equal(rl_blob_put(f->s, "box/../../outside/x", "pwn", 3, NULL, &err), RL_EINVAL);
    assert_int_equal(rl_blob_put(f->s, "/tmp/x", "pwn", 3, NULL, &err), RL_EINVAL);
    assert_int_equal(rl_blob_put(f->s, "box/..\\..\\x", "pwn", 3, NULL, &err), RL_EINVAL);
    assert_int_equal(rl_blob_put(f->s, "box/%2e%2e/%2e%2e/x", "pwn", 3, NULL, &err), RL_EINVAL);
    /* A NUL ends a C string: "box/x\0/../../y" is the address "box/x". */
    assert_int_equal(rl_blob_put(f->s, "box/x\0/../../y", "ok", 2, NULL, &err), RL_OK);
    expect_str(f, "box/x", "ok");
    assert_int_equal(count_entries(outside), 1);
    assert_int_equal(count_entries(f->dir), 2); /* store and outside only */
}

/* ---- opening ---- */

static void test_lock_and_format(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_blob_store *second = NULL;
    assert_int_equal(rl_blob_open_local(f->root, &second, &err), RL_EBUSY);
    assert_non_null(strstr(err.msg, "another process"));
    assert_null(second);
    rl_blob_close(f->s);
    f->s = NULL;
    assert_int_equal(rl_blob_open_local(f->root, &f->s, &err), RL_OK);

    /* A newer layout is refused. */
    rl_blob_close(f->s);
    f->s = NULL;
    char fmt[200];
    snprintf(fmt, sizeof fmt, "%s/FORMAT", f->root);
    FILE *fp = fopen(fmt, "w");
    fputs("relearn-blobs 2\n", fp);
    fclose(fp);
    assert_int_equal(rl_blob_open_local(f->root, &f->s, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "version 2"));
    fp = fopen(fmt, "w");
    fputs("garbage", fp);
    fclose(fp);
    assert_int_equal(rl_blob_open_local(f->root, &f->s, &err), RL_EFORMAT);
    fp = fopen(fmt, "w");
    fputs("relearn-blobs 1\n", fp);
    fclose(fp);
    assert_int_equal(rl_blob_open_local(f->root, &f->s, &err), RL_OK);

    /* A directory with someone else's files is not taken over. */
    char home[200], file[300];
    snprintf(home, sizeof home, "%s/home", f->dir);
    mkdir(home, 0755);
    snprintf(file, sizeof file, "%s/thesis.tex", home);
    fp = fopen(file, "w");
    fclose(fp);
    rl_blob_store *other = NULL;
    assert_int_equal(rl_blob_open_local(home, &other, &err), RL_EFORMAT);
    assert_non_null(strstr(err.msg, "thesis.tex"));
    assert_int_equal(count_entries(home), 1);
    /* A fresh directory (created with its parents) is fine. */
    snprintf(home, sizeof home, "%s/new/deeper/store", f->dir);
    assert_int_equal(rl_blob_open_local(home, &other, &err), RL_OK);
    rl_blob_close(other);
    assert_int_equal(rl_blob_open_local("", &other, &err), RL_EINVAL);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ROUNDS 30

typedef struct worker {
    rl_blob_store *s;
    int index;
    int failures;
    char msg[RL_ERROR_MSG_MAX];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    rl_error err;
    for (int r = 0; r < ROUNDS; r++) {
        char own[64], body[64];
        snprintf(own, sizeof own, "conc/t%d/r%d", w->index, r % 5);
        snprintf(body, sizeof body, "thread %d round %d", w->index, r);
        /* Own blobs, rewritten, and one shared blob everyone rewrites. */
        if (rl_blob_put(w->s, own, body, strlen(body), NULL, &err) ||
            rl_blob_put(w->s, "conc/shared/blob", body, strlen(body), NULL, &err)) {
            w->failures++;
            snprintf(w->msg, sizeof w->msg, "%s", err.msg);
            continue;
        }
        char *data = NULL;
        size_t len = 0;
        /* Reads of the shared blob see one whole writer's content. */
        if (rl_blob_get(w->s, "conc/shared/blob", 0, &data, &len, NULL, &err) ||
            strncmp(data, "thread ", 7) != 0) {
            w->failures++;
            snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        }
        rl_free(data);
        if (r % 7 == 6 && rl_blob_delete(w->s, own, &err) != RL_OK) {
            w->failures++;
            snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        }
    }
    return NULL;
}

static void test_concurrent_threads(void **state)
{
    fixture *f = *state;
    rl_error err;
    pthread_t th[THREADS];
    worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].s = f->s;
        w[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures) fprintf(stderr, "thread %d: %s\n", i, w[i].msg);
        assert_int_equal(w[i].failures, 0);
    }
    size_t checked = 0;
    assert_int_equal(rl_blob_check(f->s, &checked, &err), RL_OK);
    rl_blob_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(rl_blob_list(f->s, "conc", NULL, &v, &n, &err), RL_OK);
    assert_int_equal(n, checked);
    rl_blob_list_free(v, n);
    /* One object per blob, no temporary file left. */
    char p[200];
    snprintf(p, sizeof p, "%s/objects", f->root);
    assert_int_equal(count_files(p), (int)checked);
    snprintf(p, sizeof p, "%s/tmp", f->root);
    assert_int_equal(count_entries(p), 0);
}

/* ---- out of memory ---- */

static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    rl_error err;
    put_str(f, "oom/a/b", "bytes");
    put_str(f, "oom/a/c", "more");
    int ok = 0;
    for (long k = 0; k < 100 && !ok; k++) {
        char *data = NULL;
        size_t len = 0;
        rl_mem_fail_after(k);
        int rc = rl_blob_get(f->s, "oom/a/b", 0, &data, &len, NULL, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            ok = 1;
            rl_free(data);
        } else {
            assert_int_equal(rc, RL_ENOMEM);
        }
    }
    assert_true(ok);
    ok = 0;
    for (long k = 0; k < 100 && !ok; k++) {
        rl_blob_entry *v = NULL;
        size_t n = 0;
        rl_mem_fail_after(k);
        int rc = rl_blob_list(f->s, "oom", NULL, &v, &n, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            ok = 1;
            assert_int_equal(n, 2);
            rl_blob_list_free(v, n);
        } else {
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(v);
        }
    }
    assert_true(ok);
    ok = 0;
    for (long k = 0; k < 100 && !ok; k++) {
        rl_mem_fail_after(k);
        int rc = rl_blob_put(f->s, "oom/new", "x", 1, NULL, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK)
            ok = 1;
        else
            assert_int_equal(rc, RL_ENOMEM);
    }
    assert_true(ok);
    /* Failed puts left nothing behind. */
    char p[200];
    snprintf(p, sizeof p, "%s/tmp", f->root);
    assert_int_equal(count_entries(p), 0);
    assert_int_equal(rl_blob_check(f->s, NULL, &err), RL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_rules),
        cmocka_unit_test_setup_teardown(test_put_get_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_and_directory_names_coexist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_read_and_local_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_leftovers_cleaned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_pointer_blocks_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
