/* blob_local.c - the local-directory backend of the blob store (store/blob.h).
 *
 * The idea: content and names are kept apart so that one rename publishes a
 * blob whole, together with its checksum.
 *
 *   ROOT/FORMAT                    "relearn-blobs 1": the layout's version
 *   ROOT/LOCK                      flock()ed while a process has the store open
 *   ROOT/tmp/.rl-tmp-<16 hex>      temporary files (uploads, pointers in the making)
 *   ROOT/objects/<ab>/<sha256>-<16 hex>
 *                                  content, immutable (mode 0444), never renamed over
 *   ROOT/refs/<container>/<seg>/.../<last>%b
 *                                  pointer files: "relearn-blob 1\nsha256 ...\n
 *                                  size ...\nmtime ...\nobject ...\n"
 *
 * A commit hashes the temporary file, fsyncs it, renames it into objects/
 * (fsyncing the directory), then writes a new pointer file in tmp/ and
 * renames it over the address's pointer (fsyncing that directory). A crash
 * leaves either the old pointer or the new one, each naming a whole object;
 * what it can leave behind (temporary files, objects no pointer names) is
 * removed at the next open. '%' in a segment is stored as "%25" so the "%b"
 * suffix of pointer files never collides with a directory: "c/a" and "c/a/b"
 * can both be blobs.
 *
 * Every path is resolved with openat() one segment at a time from
 * descriptors opened at start, with O_NOFOLLOW (and O_DIRECTORY for
 * directories): a symbolic link planted anywhere inside the store is refused
 * (RL_EFORBIDDEN), never followed; the address rules (blob.c) exclude "..",
 * so nothing resolves outside ROOT.
 *
 * Thread safety: reads take no lock (a pointer is replaced by rename, so a
 * reader sees the old or the new one; an object whose blob was replaced
 * while being opened is retried). Changes of pointers and of the directories
 * holding them (commit, delete) are serialized by one mutex; hashing and
 * writing content happen outside it. One process per ROOT (the LOCK file).
 */
#include "base/buf.h"
#include "base/crypto.h"
#include "base/fs.h"
#include "base/mem.h"
#include "store/blob.h"
#include "store/blob_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FORMAT_FILE "FORMAT"
#define FORMAT_MAGIC "relearn-blobs "
#define FORMAT_VERSION 1
#define TMP_PREFIX ".rl-tmp-"
#define PTR_SUFFIX "%b"
#define PTR_MAGIC "relearn-blob 1\n"
#define OBJECT_NAME_LEN (64 + 1 + 16)
#define OPEN_RETRIES 4

typedef struct local_store {
    struct rl_blob_store base;
    char *root; /* absolute, resolved */
    int root_fd, lock_fd, tmp_fd, objects_fd, refs_fd;
    pthread_mutex_t mu;
} local_store;

typedef struct pointer {
    char sha[RL_SHA256_HEX_SIZE];
    uint64_t size;
    int64_t mtime;
    char object[OBJECT_NAME_LEN + 1];
} pointer;

/* An address split into on-disk names: seg[0] is the container, seg[1..n-1]
 * the encoded path segments, the last with PTR_SUFFIX. */
typedef struct enc_addr {
    char *buf;
    char *seg[RL_BLOB_SEGMENTS_MAX + 1];
    int n;
} enc_addr;

#define LS(s) ((local_store *)(s))

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps errno e of an operation on `name` to our codes and a message. */
static int os_error(int e, const char *what, const char *name, rl_error *err)
{
    switch (e) {
    case ENOENT:
        return rl_error_set(err, RL_ENOTFOUND, "blob \"%s\" not found", name);
    case ELOOP:
    case ENOTDIR:
    case EISDIR:
        return rl_error_set(err, RL_EFORBIDDEN,
                            "%s \"%s\": the store holds a symbolic link or a foreign entry on "
                            "that path; refused (remove it from the store directory)",
                            what, name);
    case ENAMETOOLONG:
        return rl_error_set(err, RL_EINVAL, "%s \"%s\": a name is too long for the file system",
                            what, name);
    case ENOMEM:
        return rl_error_set(err, RL_ENOMEM, "%s \"%s\": out of memory", what, name);
    case ENOSPC:
    case EDQUOT:
        return rl_error_set(err, RL_EIO, "%s \"%s\": the disk is full (%s); free space and retry",
                            what, name, strerror(e));
    default:
        return rl_error_set(err, RL_EIO, "%s \"%s\": %s", what, name, strerror(e));
    }
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Opens (creating when create is set, fsyncing parent then) the directory
 * name under parent, refusing symbolic links. -1 with errno on failure. */
static int open_dir_at(int parent, const char *name, int create)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT || !create) return fd;
        if (mkdirat(parent, name, 0755) != 0 && errno != EEXIST) return -1;
        fsync(parent);
    }
    errno = ENOENT;
    return -1;
}

/* A fresh temporary file name: TMP_PREFIX and 16 random hex digits. */
static int tmp_name(char out[sizeof TMP_PREFIX + 16], rl_error *err)
{
    char hex[17];
    int rc = rl_random_hex(8, hex, sizeof hex, err);
    if (rc) return rc;
    memcpy(out, TMP_PREFIX, sizeof TMP_PREFIX - 1);
    memcpy(out + sizeof TMP_PREFIX - 1, hex, 17);
    return RL_OK;
}

/* Creates a new temporary file in tmp/: *fd (read-write) and name. */
static int tmp_create(local_store *ls, int *fd, char name[sizeof TMP_PREFIX + 16], rl_error *err)
{
    for (int tries = 0; tries < 5; tries++) {
        int rc = tmp_name(name, err);
        if (rc) return rc;
        int f = openat(ls->tmp_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f >= 0) {
            *fd = f;
            return RL_OK;
        }
        if (errno != EEXIST) return os_error(errno, "creating a temporary file in", ls->root, err);
    }
    return rl_error_set(err, RL_EIO, "cannot find a free temporary file name in %s/tmp", ls->root);
}

/* ---- address encoding ---- */

static void enc_addr_fini(enc_addr *ea)
{
    rl_free(ea->buf);
    ea->buf = NULL;
    ea->n = 0;
}

/* Splits a valid address into on-disk names ('%' -> "%25", suffix on the
 * last). RL_EINVAL when a name would exceed NAME_MAX. */
static int encode_address(const char *address, enc_addr *ea, rl_error *err)
{
    size_t len = strlen(address);
    char *buf = rl_malloc(3 * len + sizeof PTR_SUFFIX + 1);
    if (!buf) return rl_error_set(err, RL_ENOMEM, "out of memory for blob \"%s\"", address);
    char *o = buf;
    int n = 0;
    const char *p = address;
    ea->seg[n++] = o;
    for (;; p++) {
        if (*p == '/' || *p == '\0') {
            if (*p == '\0') {
                memcpy(o, PTR_SUFFIX, sizeof PTR_SUFFIX - 1);
                o += sizeof PTR_SUFFIX - 1;
            }
            size_t seglen = (size_t)(o - ea->seg[n - 1]);
            if (seglen > NAME_MAX) {
                rl_free(buf);
                return rl_error_set(err, RL_EINVAL,
                                    "blob \"%.80s\": a path segment is too long for the local "
                                    "store (%zu bytes on disk, limit %d)",
                                    address, seglen, NAME_MAX);
            }
            *o++ = '\0';
            if (*p == '\0') break;
            ea->seg[n++] = o;
        } else if (*p == '%') {
            memcpy(o, "%25", 3);
            o += 3;
        } else {
            *o++ = *p;
        }
    }
    ea->buf = buf;
    ea->n = n;
    return RL_OK;
}

/* Decodes an on-disk name (without suffix) into out; -1 when it is not one
 * of ours (a '%' not starting "%25"). */
static int decode_name(const char *name, size_t len, rl_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '%') {
            if (i + 2 >= len || name[i + 1] != '2' || name[i + 2] != '5') return -1;
            if (rl_buf_putc(out, '%')) return -2;
            i += 2;
        } else if (rl_buf_putc(out, name[i])) {
            return -2;
        }
    }
    return 0;
}

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
}

/* Opens the directories of ea: fds[0] the container's, fds[ea->n - 2] the
 * one holding the pointer. With create, makes missing ones. */
static int walk(local_store *ls, const enc_addr *ea, const char *address, int create, int *fds,
                rl_error *err)
{
    int parent = ls->refs_fd;
    for (int i = 0; i < ea->n - 1; i++) {
        int fd = open_dir_at(parent, ea->seg[i], create);
        if (fd < 0) {
            int e = errno;
            close_fds(fds, i);
            return os_error(e, "opening blob", address, err);
        }
        fds[i] = fd;
        parent = fd;
    }
    return RL_OK;
}

/* ---- pointer files ---- */

/* Parses "key value\n" at *p for key; advances *p. */
static int parse_line(const char **p, const char *key, const char **value, size_t *len)
{
    size_t k = strlen(key);
    if (strncmp(*p, key, k) != 0 || (*p)[k] != ' ') return -1;
    const char *v = *p + k + 1;
    const char *nl = strchr(v, '\n');
    if (!nl || nl == v) return -1;
    *value = v;
    *len = (size_t)(nl - v);
    *p = nl + 1;
    return 0;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_pointer(const char *text, pointer *p)
{
    const char *c = text, *v;
    size_t len;
    uint64_t u;
    if (strncmp(c, PTR_MAGIC, sizeof PTR_MAGIC - 1) != 0) return -1;
    c += sizeof PTR_MAGIC - 1;
    if (parse_line(&c, "sha256", &v, &len) || len != 64 || strspn(v, "0123456789abcdef") < 64)
        return -1;
    memcpy(p->sha, v, 64);
    p->sha[64] = '\0';
    if (parse_line(&c, "size", &v, &len) || parse_u64(v, len, &p->size)) return -1;
    if (parse_line(&c, "mtime", &v, &len) || parse_u64(v, len, &u) || u > INT64_MAX) return -1;
    p->mtime = (int64_t)u;
    if (parse_line(&c, "object", &v, &len) || len != OBJECT_NAME_LEN ||
        memcmp(v, p->sha, 64) != 0 || v[64] != '-' || strspn(v + 65, "0123456789abcdef") < 16)
        return -1;
    memcpy(p->object, v, OBJECT_NAME_LEN);
    p->object[OBJECT_NAME_LEN] = '\0';
    return *c == '\0' ? 0 : -1;
}

/* Reads the pointer leaf in dirfd. */
static int read_pointer_at(int dirfd, const char *leaf, const char *address, pointer *p,
                           rl_error *err)
{
    char text[512];
    int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return os_error(errno, "reading blob", address, err);
    struct stat st;
    size_t n = 0;
    int rc = RL_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = rl_error_set(err, RL_EFORBIDDEN,
                          "blob \"%s\": its pointer is not a regular file; refused", address);
        goto done;
    }
    while (n < sizeof text - 1) {
        ssize_t r = read(fd, text + n, sizeof text - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = os_error(errno, "reading blob", address, err);
            goto done;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    text[n] = '\0';
    if (strlen(text) != n || parse_pointer(text, p) != 0)
        rc = rl_error_set(err, RL_EFORMAT,
                          "blob \"%s\": its pointer file is damaged (run `relearn doctor`)",
                          address);
done:
    close(fd);
    return rc;
}

/* Writes p as the pointer leaf in dirfd: temp file, fsync, rename, fsync. */
static int write_pointer_at(local_store *ls, int dirfd, const char *leaf, const char *address,
                            const pointer *p, rl_error *err)
{
    char text[512], name[sizeof TMP_PREFIX + 16];
    int n = snprintf(text, sizeof text, PTR_MAGIC "sha256 %s\nsize %llu\nmtime %lld\nobject %s\n",
                     p->sha, (unsigned long long)p->size, (long long)p->mtime, p->object);
    int fd = -1;
    int rc = tmp_create(ls, &fd, name, err);
    if (rc) return rc;
    if (write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0) {
        rc = os_error(errno, "writing the pointer of blob", address, err);
        close(fd);
        unlinkat(ls->tmp_fd, name, 0);
        return rc;
    }
    close(fd);
    if (renameat(ls->tmp_fd, name, dirfd, leaf) != 0) {
        rc = os_error(errno, "publishing blob", address, err);
        unlinkat(ls->tmp_fd, name, 0);
        return rc;
    }
    if (fsync(dirfd) != 0) return os_error(errno, "syncing the directory of blob", address, err);
    return RL_OK;
}

/* Looks the address up: RL_OK with *p, or RL_ENOTFOUND etc. */
static int lookup(local_store *ls, const char *address, pointer *p, rl_error *err)
{
    enc_addr ea;
    int fds[RL_BLOB_SEGMENTS_MAX + 1];
    int rc = encode_address(address, &ea, err);
    if (rc) return rc;
    rc = walk(ls, &ea, address, 0, fds, err);
    if (rc == RL_OK) {
        rc = read_pointer_at(fds[ea.n - 2], ea.seg[ea.n - 1], address, p, err);
        close_fds(fds, ea.n - 1);
    }
    enc_addr_fini(&ea);
    return rc;
}

/* Opens the object of p for reading: fd, or -1 with errno. */
static int open_object(local_store *ls, const pointer *p)
{
    char sub[3] = {p->object[0], p->object[1], '\0'};
    int dfd = openat(ls->objects_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) return -1;
    int fd = openat(dfd, p->object, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dfd);
    errno = e;
    return fd;
}

/* Looks up address and opens its object, retrying when the blob was
 * replaced between the two steps. */
static int lookup_open(local_store *ls, const char *address, pointer *p, int *fd, rl_error *err)
{
    for (int attempt = 0;; attempt++) {
        int rc = lookup(ls, address, p, err);
        if (rc) return rc;
        int f = open_object(ls, p);
        if (f >= 0) {
            struct stat st;
            if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
                close(f);
                return rl_error_set(err, RL_EFORBIDDEN,
                                    "blob \"%s\": its object is not a regular file", address);
            }
            if ((uint64_t)st.st_size != p->size) {
                close(f);
                return rl_error_set(
                    err, RL_EFORMAT, "blob \"%s\" is damaged: %llu bytes on disk, %llu recorded",
                    address, (unsigned long long)st.st_size, (unsigned long long)p->size);
            }
            *fd = f;
            return RL_OK;
        }
        if (errno != ENOENT || attempt + 1 >= OPEN_RETRIES) {
            if (errno == ENOENT)
                return rl_error_set(err, RL_EFORMAT,
                                    "blob \"%s\" is damaged: its object %s is missing", address,
                                    p->object);
            return os_error(errno, "opening blob", address, err);
        }
    }
}

static void fill_info(const pointer *p, rl_blob_info *info)
{
    if (!info) return;
    info->size = p->size;
    info->mtime = p->mtime;
    memcpy(info->sha256, p->sha, sizeof info->sha256);
}

/* ---- commit ---- */

/* Publishes tmp/<name> at address. On success the temporary file is gone;
 * on failure it is still there (the caller removes it). */
static int commit_named(local_store *ls, const char *name, const char *address, rl_blob_info *info,
                        rl_error *err)
{
    pointer p, old;
    uint8_t digest[RL_SHA256_LEN];
    char rnd[17], sub[3];
    int fd = -1, subfd = -1, have_old = 0, published = 0;
    int fds[RL_BLOB_SEGMENTS_MAX + 1];
    enc_addr ea = {0};
    int rc = encode_address(address, &ea, err);
    if (rc) return rc;

    fd = openat(ls->tmp_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? rl_error_set(err, RL_EINVAL,
                                            "temporary file %s/tmp/%s does not exist (committed "
                                            "or discarded already?)",
                                            ls->root, name)
                             : os_error(errno, "opening the upload for", address, err);
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = rl_error_set(err, RL_EINVAL, "temporary file %s is not a regular file", name);
        goto done;
    }
    if ((rc = rl_sha256_fd(fd, digest, &p.size, err))) goto done;
    rl_hex_encode(digest, sizeof digest, p.sha, sizeof p.sha, NULL);
    if (fchmod(fd, 0444) != 0 || fsync(fd) != 0) {
        rc = os_error(errno, "syncing the content of", address, err);
        goto done;
    }
    if ((rc = rl_random_hex(8, rnd, sizeof rnd, err))) goto done;
    snprintf(p.object, sizeof p.object, "%s-%s", p.sha, rnd);
    p.mtime = now_ms();

    /* The content: into objects/<ab>/, durable before any pointer names it. */
    sub[0] = p.sha[0];
    sub[1] = p.sha[1];
    sub[2] = '\0';
    subfd = open_dir_at(ls->objects_fd, sub, 1);
    if (subfd < 0 || renameat(ls->tmp_fd, name, subfd, p.object) != 0) {
        rc = os_error(errno, "storing the content of", address, err);
        goto done;
    }
    if (fsync(subfd) != 0) {
        rc = os_error(errno, "syncing the content of", address, err);
        renameat(subfd, p.object, ls->tmp_fd, name); /* give the upload back */
        goto done;
    }

    /* The name: swap the pointer under the lock. */
    pthread_mutex_lock(&ls->mu);
    rc = walk(ls, &ea, address, 1, fds, err);
    if (rc == RL_OK) {
        int dirfd = fds[ea.n - 2];
        const char *leaf = ea.seg[ea.n - 1];
        rl_error ignored;
        have_old = read_pointer_at(dirfd, leaf, address, &old, &ignored) == RL_OK;
        rc = write_pointer_at(ls, dirfd, leaf, address, &p, err);
        published = rc == RL_OK;
        close_fds(fds, ea.n - 1);
    }
    if (published && have_old && strcmp(old.object, p.object) != 0) {
        /* The old content is no longer named; a crash before this unlink
         * leaves an orphan that the next open removes. */
        char osub[3] = {old.object[0], old.object[1], '\0'};
        int ofd = openat(ls->objects_fd, osub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ofd >= 0) {
            unlinkat(ofd, old.object, 0);
            close(ofd);
        }
    }
    pthread_mutex_unlock(&ls->mu);
    if (!published) {
        /* The pointer was not written: give the upload back. */
        renameat(subfd, p.object, ls->tmp_fd, name);
        goto done;
    }
    fill_info(&p, info);
done:
    if (fd >= 0) close(fd);
    if (subfd >= 0) close(subfd);
    enc_addr_fini(&ea);
    return rc;
}

/* Checks that tmp_path is ROOT/tmp/<one of our temporary names>; *name
 * points into tmp_path. */
static int own_tmp(local_store *ls, const char *tmp_path, const char **name)
{
    size_t rl = strlen(ls->root);
    if (strncmp(tmp_path, ls->root, rl) != 0 || strncmp(tmp_path + rl, "/tmp/", 5) != 0) return 0;
    const char *n = tmp_path + rl + 5;
    if (strncmp(n, TMP_PREFIX, sizeof TMP_PREFIX - 1) != 0 || strlen(n) != sizeof TMP_PREFIX + 15 ||
        strspn(n + sizeof TMP_PREFIX - 1, "0123456789abcdef") != 16)
        return 0;
    *name = n;
    return 1;
}

static int local_tmp_open(rl_blob_store *s, int *fd, char **tmp_path, rl_error *err)
{
    local_store *ls = LS(s);
    char name[sizeof TMP_PREFIX + 16];
    int f = -1;
    int rc = tmp_create(ls, &f, name, err);
    if (rc) return rc;
    size_t len = strlen(ls->root) + 5 + strlen(name) + 1;
    char *path = rl_malloc(len);
    if (!path) {
        close(f);
        unlinkat(ls->tmp_fd, name, 0);
        return rl_error_set(err, RL_ENOMEM, "out of memory for a temporary file name");
    }
    snprintf(path, len, "%s/tmp/%s", ls->root, name);
    *fd = f;
    *tmp_path = path;
    return RL_OK;
}

static int local_commit_tmp(rl_blob_store *s, const char *tmp_path, const char *address,
                            rl_blob_info *info, rl_error *err)
{
    local_store *ls = LS(s);
    const char *name;
    if (!own_tmp(ls, tmp_path, &name))
        return rl_error_set(err, RL_EINVAL,
                            "\"%s\" is not a temporary file of the blob store at %s; get one "
                            "from rl_blob_tmp_open",
                            tmp_path, ls->root);
    return commit_named(ls, name, address, info, err);
}

static void local_tmp_discard(rl_blob_store *s, const char *tmp_path)
{
    local_store *ls = LS(s);
    const char *name;
    if (own_tmp(ls, tmp_path, &name)) unlinkat(ls->tmp_fd, name, 0);
}

static int local_put(rl_blob_store *s, const char *address, const void *data, size_t len,
                     rl_blob_info *info, rl_error *err)
{
    local_store *ls = LS(s);
    char name[sizeof TMP_PREFIX + 16];
    int fd = -1;
    int rc = tmp_create(ls, &fd, name, err);
    if (rc) return rc;
    if (write_all(fd, data, len) != 0) {
        rc = os_error(errno, "writing blob", address, err);
        close(fd);
    } else {
        close(fd);
        rc = commit_named(ls, name, address, info, err);
    }
    if (rc) unlinkat(ls->tmp_fd, name, 0);
    return rc;
}

/* Copies everything readable from src into dst. */
static int copy_fd(int src, int dst)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(src, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return 0;
        if (write_all(dst, buf, (size_t)r) != 0) return -1;
    }
}

static int local_put_file(rl_blob_store *s, const char *address, const char *path, int move,
                          rl_blob_info *info, rl_error *err)
{
    local_store *ls = LS(s);
    char name[sizeof TMP_PREFIX + 16];
    int src = open(path, O_RDONLY | O_CLOEXEC | (move ? O_NOFOLLOW : 0));
    if (src < 0) {
        int e = errno;
        return rl_error_set(err, e == ENOENT ? RL_ENOTFOUND : RL_EIO, "cannot open %s: %s", path,
                            strerror(e));
    }
    struct stat st;
    if (fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(src);
        return rl_error_set(err, RL_EINVAL, "%s is not a regular file", path);
    }
    int rc, moved = 0;
    if (move) {
        if ((rc = tmp_name(name, err))) {
            close(src);
            return rc;
        }
        if (renameat(AT_FDCWD, path, ls->tmp_fd, name) == 0) {
            moved = 1;
        } else if (errno != EXDEV) {
            int e = errno;
            close(src);
            return rl_error_set(err, RL_EIO, "cannot move %s into the blob store: %s", path,
                                strerror(e));
        }
    }
    if (!moved) {
        int dst = -1;
        if ((rc = tmp_create(ls, &dst, name, err))) {
            close(src);
            return rc;
        }
        if (copy_fd(src, dst) != 0) {
            rc = rl_error_set(err, RL_EIO, "cannot copy %s into the blob store: %s", path,
                              strerror(errno));
            close(dst);
            close(src);
            unlinkat(ls->tmp_fd, name, 0);
            return rc;
        }
        close(dst);
    }
    close(src);
    rc = commit_named(ls, name, address, info, err);
    if (rc) {
        /* A moved file goes back where it was; a copy is dropped. */
        if (!(moved && renameat(ls->tmp_fd, name, AT_FDCWD, path) == 0))
            unlinkat(ls->tmp_fd, name, 0);
        return rc;
    }
    if (move && !moved) unlink(path); /* copied across file systems */
    return RL_OK;
}

/* ---- reads ---- */

static int local_get(rl_blob_store *s, const char *address, size_t max, char **data, size_t *len,
                     rl_blob_info *info, rl_error *err)
{
    local_store *ls = LS(s);
    pointer p;
    int fd = -1;
    int rc = lookup_open(ls, address, &p, &fd, err);
    if (rc) return rc;
    char *buf = NULL;
    if ((max && p.size > max) || p.size >= SIZE_MAX) {
        rc = rl_error_set(err, RL_ETOOBIG, "blob \"%s\" has %llu bytes; the limit here is %zu",
                          address, (unsigned long long)p.size, max);
        goto done;
    }
    buf = rl_malloc((size_t)p.size + 1);
    if (!buf) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory reading blob \"%s\" (%llu bytes)", address,
                          (unsigned long long)p.size);
        goto done;
    }
    size_t got = 0;
    while (got < p.size) {
        ssize_t r = read(fd, buf + got, (size_t)p.size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = os_error(errno, "reading blob", address, err);
            goto done;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    char hex[RL_SHA256_HEX_SIZE];
    if (got != p.size) {
        rc = rl_error_set(err, RL_EFORMAT, "blob \"%s\" is damaged: %zu bytes read, %llu recorded",
                          address, got, (unsigned long long)p.size);
        goto done;
    }
    if ((rc = rl_sha256_hex(buf, got, hex, err))) goto done;
    if (strcmp(hex, p.sha) != 0) {
        rc = rl_error_set(err, RL_EFORMAT,
                          "blob \"%s\" is damaged: its content has SHA-256 %s, %s was recorded",
                          address, hex, p.sha);
        goto done;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
    fill_info(&p, info);
done:
    rl_free(buf);
    close(fd);
    return rc;
}

static int local_open_read(rl_blob_store *s, const char *address, int *fd, rl_blob_info *info,
                           rl_error *err)
{
    pointer p;
    int f = -1;
    int rc = lookup_open(LS(s), address, &p, &f, err);
    if (rc) return rc;
    *fd = f;
    fill_info(&p, info);
    return RL_OK;
}

static int local_local_path(rl_blob_store *s, const char *address, char **path, rl_blob_info *info,
                            rl_error *err)
{
    local_store *ls = LS(s);
    pointer p;
    int f = -1;
    int rc = lookup_open(ls, address, &p, &f, err);
    if (rc) return rc;
    close(f);
    size_t len = strlen(ls->root) + sizeof "/objects/ab/" + OBJECT_NAME_LEN;
    char *out = rl_malloc(len);
    if (!out) return rl_error_set(err, RL_ENOMEM, "out of memory for the path of \"%s\"", address);
    snprintf(out, len, "%s/objects/%.2s/%s", ls->root, p.object, p.object);
    *path = out;
    fill_info(&p, info);
    return RL_OK;
}

static int local_stat(rl_blob_store *s, const char *address, rl_blob_info *info, rl_error *err)
{
    pointer p;
    int rc = lookup(LS(s), address, &p, err);
    if (rc == RL_OK) fill_info(&p, info);
    return rc;
}

/* Hashes the open object and compares with p. */
static int verify_fd(int fd, const pointer *p, const char *address, rl_error *err)
{
    uint8_t digest[RL_SHA256_LEN];
    uint64_t size = 0;
    char hex[RL_SHA256_HEX_SIZE];
    int rc = rl_sha256_fd(fd, digest, &size, err);
    if (rc) return rc;
    rl_hex_encode(digest, sizeof digest, hex, sizeof hex, NULL);
    if (size != p->size || strcmp(hex, p->sha) != 0)
        return rl_error_set(err, RL_EFORMAT,
                            "blob \"%s\" is damaged: content has %llu bytes and SHA-256 %s; "
                            "%llu bytes and %s were recorded",
                            address, (unsigned long long)size, hex, (unsigned long long)p->size,
                            p->sha);
    return RL_OK;
}

static int local_verify(rl_blob_store *s, const char *address, rl_error *err)
{
    pointer p;
    int fd = -1;
    int rc = lookup_open(LS(s), address, &p, &fd, err);
    if (rc) return rc;
    rc = verify_fd(fd, &p, address, err);
    close(fd);
    return rc;
}

/* ---- walking the refs tree ---- */

/* Called for each pointer file: path is the blob's path inside its
 * container, (dirfd, leaf) the pointer. */
typedef int (*visit_fn)(void *ctx, const char *container, const char *path, int dirfd,
                        const char *leaf, rl_error *err);

/* Visits the pointers under fd whose path (prefix `path`, "" or ending
 * in '/') starts with `prefix`. Entries that are neither our directories nor
 * our pointer files are skipped. Takes ownership of fd. */
static int walk_tree(int fd, const char *container, rl_buf *path, const char *prefix, visit_fn fn,
                     void *ctx, rl_error *err)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return rl_error_set(err, RL_EIO, "cannot list container %s: %s", container, strerror(e));
    }
    size_t plen = strlen(prefix);
    size_t base = path->len;
    int rc = RL_OK;
    struct dirent *de;
    while (rc == RL_OK && (errno = 0, de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue; /* gone meanwhile */
        size_t nlen = strlen(n);
        int is_ptr = nlen > 2 && strcmp(n + nlen - 2, PTR_SUFFIX) == 0;
        path->len = base;
        if (path->data) path->data[base] = '\0';
        if (S_ISREG(st.st_mode) && is_ptr) {
            int drc = decode_name(n, nlen - 2, path);
            if (drc == -2) rc = rl_error_set(err, RL_ENOMEM, "out of memory listing blobs");
            if (drc != 0) continue;
            if (strncmp(path->data, prefix, plen) != 0) continue;
            rc = fn(ctx, container, path->data, dirfd(d), n, err);
        } else if (S_ISDIR(st.st_mode) && !is_ptr) {
            int drc = decode_name(n, nlen, path);
            if (drc == 0 && rl_buf_putc(path, '/') != 0) drc = -2;
            if (drc == -2) rc = rl_error_set(err, RL_ENOMEM, "out of memory listing blobs");
            if (drc != 0) continue;
            size_t k = path->len < plen ? path->len : plen;
            if (strncmp(path->data, prefix, k) != 0) continue; /* cannot match below */
            int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) continue; /* removed meanwhile */
            rc = walk_tree(sub, container, path, prefix, fn, ctx, err);
        }
    }
    if (rc == RL_OK && errno != 0 && !de)
        rc = rl_error_set(err, RL_EIO, "cannot list container %s: %s", container, strerror(errno));
    path->len = base;
    if (path->data) path->data[base] = '\0';
    closedir(d);
    return rc;
}

/* Visits every pointer of every container. */
static int walk_all(local_store *ls, visit_fn fn, void *ctx, rl_error *err)
{
    int fd = openat(ls->refs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rl_error_set(err, RL_EIO, "cannot list %s/refs: %s", ls->root, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return rl_error_set(err, RL_EIO, "cannot list %s/refs: %s", ls->root, strerror(errno));
    }
    int rc = RL_OK;
    struct dirent *de;
    rl_buf path = RL_BUF_INIT;
    while (rc == RL_OK && (de = readdir(d)) != NULL) {
        if (rl_blob_container_check(de->d_name, NULL) != RL_OK) continue;
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        rc = walk_tree(sub, de->d_name, &path, "", fn, ctx, err);
    }
    rl_buf_fini(&path);
    closedir(d);
    return rc;
}

typedef struct list_ctx {
    rl_blob_entry *v;
    size_t n, cap;
} list_ctx;

static int list_visit(void *ctx, const char *container, const char *path, int dirfd,
                      const char *leaf, rl_error *err)
{
    list_ctx *lc = ctx;
    pointer p;
    rl_error e2;
    int rc = read_pointer_at(dirfd, leaf, path, &p, &e2);
    if (rc == RL_ENOTFOUND) return RL_OK; /* deleted meanwhile */
    if (rc) return rl_error_set(err, e2.code, "in container %s: %s", container, e2.msg);
    if (lc->n == lc->cap) {
        size_t ncap = lc->cap ? lc->cap * 2 : 16;
        rl_blob_entry *nv = rl_reallocarray(lc->v, ncap, sizeof *nv);
        if (!nv) return rl_error_set(err, RL_ENOMEM, "out of memory listing blobs");
        lc->v = nv;
        lc->cap = ncap;
    }
    char *name = rl_strdup(path);
    if (!name) return rl_error_set(err, RL_ENOMEM, "out of memory listing blobs");
    lc->v[lc->n].name = name;
    fill_info(&p, &lc->v[lc->n].info);
    lc->n++;
    return RL_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const rl_blob_entry *)a)->name, ((const rl_blob_entry *)b)->name);
}

static int local_list(rl_blob_store *s, const char *container, const char *prefix,
                      rl_blob_entry **out, size_t *n, rl_error *err)
{
    local_store *ls = LS(s);
    list_ctx lc = {NULL, 0, 0};
    rl_buf path = RL_BUF_INIT;
    int rc = RL_OK;
    int fd = openat(ls->refs_fd, container, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) return os_error(errno, "listing container", container, err);
    } else {
        rc = walk_tree(fd, container, &path, prefix, list_visit, &lc, err);
    }
    rl_buf_fini(&path);
    if (rc) {
        rl_blob_list_free(lc.v, lc.n);
        return rc;
    }
    if (lc.n > 1) qsort(lc.v, lc.n, sizeof *lc.v, cmp_entry);
    *out = lc.v;
    *n = lc.n;
    return RL_OK;
}

/* ---- delete ---- */

static int local_del(rl_blob_store *s, const char *address, rl_error *err)
{
    local_store *ls = LS(s);
    enc_addr ea;
    int fds[RL_BLOB_SEGMENTS_MAX + 1];
    pointer p;
    int rc = encode_address(address, &ea, err);
    if (rc) return rc;
    pthread_mutex_lock(&ls->mu);
    rc = walk(ls, &ea, address, 0, fds, err);
    if (rc) goto unlock;
    int dirfd = fds[ea.n - 2];
    const char *leaf = ea.seg[ea.n - 1];
    rl_error perr;
    int prc = read_pointer_at(dirfd, leaf, address, &p, &perr);
    if (prc != RL_OK && prc != RL_EFORMAT) {
        rc = rl_error_set(err, perr.code, "%s", perr.msg);
    } else if (unlinkat(dirfd, leaf, 0) != 0) {
        rc = os_error(errno, "deleting blob", address, err);
    } else {
        fsync(dirfd);
        if (prc == RL_OK) {
            char sub[3] = {p.object[0], p.object[1], '\0'};
            int ofd = openat(ls->objects_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (ofd >= 0) {
                unlinkat(ofd, p.object, 0);
                close(ofd);
            }
        }
        /* Remove directories left empty, deepest first. */
        for (int i = ea.n - 2; i >= 0; i--) {
            int parent = i ? fds[i - 1] : ls->refs_fd;
            if (unlinkat(parent, ea.seg[i], AT_REMOVEDIR) != 0) break;
        }
    }
    close_fds(fds, ea.n - 1);
unlock:
    pthread_mutex_unlock(&ls->mu);
    enc_addr_fini(&ea);
    return rc;
}

/* ---- check ---- */

typedef struct check_ctx {
    local_store *ls;
    size_t checked, bad;
    char report[512];
    size_t used;
} check_ctx;

static int check_visit(void *ctx, const char *container, const char *path, int dirfd,
                       const char *leaf, rl_error *err)
{
    check_ctx *cc = ctx;
    pointer p;
    rl_error e2;
    (void)err;
    char address[RL_BLOB_ADDRESS_MAX + 80];
    snprintf(address, sizeof address, "%s/%s", container, path);
    int rc = read_pointer_at(dirfd, leaf, address, &p, &e2);
    if (rc == RL_OK) {
        int fd = open_object(cc->ls, &p);
        if (fd < 0) {
            rc = rl_error_set(&e2, RL_EFORMAT, "blob \"%s\": object %s missing", address, p.object);
        } else {
            rc = verify_fd(fd, &p, address, &e2);
            close(fd);
        }
    }
    cc->checked++;
    if (rc == RL_ENOMEM) return rl_error_set(err, rc, "%s", e2.msg);
    if (rc) {
        cc->bad++;
        int w = snprintf(cc->report + cc->used, sizeof cc->report - cc->used, "%s%s",
                         cc->used ? "; " : "", e2.msg);
        if (w > 0)
            cc->used = (size_t)w < sizeof cc->report - cc->used ? cc->used + (size_t)w
                                                                : sizeof cc->report - 1;
    }
    return RL_OK;
}

static int local_check(rl_blob_store *s, size_t *checked, rl_error *err)
{
    check_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.ls = LS(s);
    int rc = walk_all(cc.ls, check_visit, &cc, err);
    if (rc) return rc;
    if (checked) *checked = cc.checked;
    if (cc.bad)
        return rl_error_set(err, RL_EFORMAT, "%zu of %zu blobs in %s are damaged: %s", cc.bad,
                            cc.checked, cc.ls->root, cc.report);
    return RL_OK;
}

/* ---- open: format, lock, crash leftovers ---- */

typedef struct gc_ctx {
    char **names;
    size_t n, cap;
    int unreadable;
} gc_ctx;

static int gc_visit(void *ctx, const char *container, const char *path, int dirfd, const char *leaf,
                    rl_error *err)
{
    gc_ctx *gc = ctx;
    pointer p;
    (void)container;
    if (read_pointer_at(dirfd, leaf, path, &p, NULL) != RL_OK) {
        gc->unreadable++;
        return RL_OK;
    }
    if (gc->n == gc->cap) {
        size_t ncap = gc->cap ? gc->cap * 2 : 64;
        char **nv = rl_reallocarray(gc->names, ncap, sizeof *nv);
        if (!nv) return rl_error_set(err, RL_ENOMEM, "out of memory checking the blob store");
        gc->names = nv;
        gc->cap = ncap;
    }
    if (!(gc->names[gc->n] = rl_strdup(p.object)))
        return rl_error_set(err, RL_ENOMEM, "out of memory checking the blob store");
    gc->n++;
    return RL_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Unlinks every entry of dirfd whose name starts with prefix (all when
 * prefix is NULL) and, when keep is given, is not in it. */
static void sweep(int dirfd, const char *prefix, gc_ctx *keep)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (prefix && strncmp(n, prefix, strlen(prefix)) != 0) continue;
        if (keep) {
            const char *key = n;
            if (strlen(n) != OBJECT_NAME_LEN ||
                (keep->n && bsearch(&key, keep->names, keep->n, sizeof *keep->names, cmp_str)))
                continue;
        }
        unlinkat(dirfd, n, 0);
    }
    closedir(d);
}

/* Removes temporary files, and objects no pointer names (unless some
 * pointer could not be read: then nothing is removed, to lose nothing). */
static int clean_leftovers(local_store *ls, rl_error *err)
{
    sweep(ls->tmp_fd, TMP_PREFIX, NULL);
    gc_ctx gc = {NULL, 0, 0, 0};
    int rc = walk_all(ls, gc_visit, &gc, err);
    if (rc == RL_OK && !gc.unreadable) {
        if (gc.n > 1) qsort(gc.names, gc.n, sizeof *gc.names, cmp_str);
        int fd = openat(ls->objects_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d && fd >= 0) close(fd);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strlen(de->d_name) != 2 || strspn(de->d_name, "0123456789abcdef") != 2) continue;
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) continue;
            sweep(sub, NULL, &gc);
            close(sub);
        }
        if (d) closedir(d);
    }
    for (size_t i = 0; i < gc.n; i++)
        rl_free(gc.names[i]);
    rl_free(gc.names);
    return rc;
}

/* Checks ROOT/FORMAT, or that ROOT is a fresh (or half-initialized) store. */
static int check_format(local_store *ls, int *fresh, rl_error *err)
{
    int fd = openat(ls->root_fd, FORMAT_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        char text[64];
        ssize_t r = read(fd, text, sizeof text - 1);
        close(fd);
        text[r > 0 ? r : 0] = '\0';
        size_t m = sizeof FORMAT_MAGIC - 1;
        char *end = NULL;
        long v = strncmp(text, FORMAT_MAGIC, m) == 0 ? strtol(text + m, &end, 10) : 0;
        if (!end || end == text + m || *end != '\n' || v < 1)
            return rl_error_set(err, RL_EFORMAT, "%s/%s is damaged or foreign", ls->root,
                                FORMAT_FILE);
        if (v > FORMAT_VERSION)
            return rl_error_set(err, RL_EFORMAT,
                                "blob store %s has format version %ld, newer than the version "
                                "%d this relearn understands; run a newer relearn",
                                ls->root, v, FORMAT_VERSION);
        *fresh = 0;
        return RL_OK;
    }
    if (errno != ENOENT) return os_error(errno, "reading the format of", ls->root, err);
    /* No FORMAT: only an empty directory, or one whose initialization was
     * interrupted, may become a store. */
    int dfd = openat(ls->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0) close(dfd);
        return os_error(errno, "listing", ls->root, err);
    }
    struct dirent *de;
    int rc = RL_OK;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "LOCK") || !strcmp(n, "tmp") ||
            !strcmp(n, "objects") || !strcmp(n, "refs"))
            continue;
        rc = rl_error_set(err, RL_EFORMAT,
                          "%s is not empty and not a relearn blob store (it holds \"%s\"); give "
                          "the store its own directory",
                          ls->root, n);
        break;
    }
    closedir(d);
    *fresh = 1;
    return rc;
}

static int write_format(local_store *ls, rl_error *err)
{
    char name[sizeof TMP_PREFIX + 16], text[64];
    int n = snprintf(text, sizeof text, FORMAT_MAGIC "%d\n", FORMAT_VERSION);
    int fd = -1;
    int rc = tmp_create(ls, &fd, name, err);
    if (rc) return rc;
    if (write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0 ||
        renameat(ls->tmp_fd, name, ls->root_fd, FORMAT_FILE) != 0 || fsync(ls->root_fd) != 0) {
        rc = os_error(errno, "writing the format of", ls->root, err);
        unlinkat(ls->tmp_fd, name, 0);
    }
    close(fd);
    return rc;
}

static void local_close(rl_blob_store *s)
{
    local_store *ls = LS(s);
    int fds[] = {ls->tmp_fd, ls->objects_fd, ls->refs_fd, ls->root_fd, ls->lock_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0) close(fds[i]); /* closing LOCK releases the flock */
    pthread_mutex_destroy(&ls->mu);
    rl_free(ls->root);
    rl_free(ls);
}

static const rl_blob_ops local_ops;

int rl_blob_open_local(const char *root, rl_blob_store **out, rl_error *err)
{
    if (!root || !*root) return rl_error_set(err, RL_EINVAL, "no blob store directory given");
    if (!out) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    int rc = rl_mkdir_p(root, 1, err);
    if (rc) return rc;
    local_store *ls = rl_calloc(1, sizeof *ls);
    if (!ls) return rl_error_set(err, RL_ENOMEM, "out of memory opening blob store %s", root);
    ls->base.ops = &local_ops;
    ls->root_fd = ls->lock_fd = ls->tmp_fd = ls->objects_fd = ls->refs_fd = -1;
    pthread_mutex_init(&ls->mu, NULL);
    char *real = realpath(root, NULL);
    if (!real) {
        rc = rl_error_set(err, RL_EIO, "cannot resolve blob store directory %s: %s", root,
                          strerror(errno));
        goto fail;
    }
    ls->root = rl_strdup(real);
    free(real); /* realpath's, from malloc */
    if (!ls->root) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory opening blob store %s", root);
        goto fail;
    }
    ls->root_fd = open(ls->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ls->root_fd < 0) {
        rc = os_error(errno, "opening blob store", ls->root, err);
        goto fail;
    }
    int fresh = 0;
    if ((rc = check_format(ls, &fresh, err))) goto fail;
    ls->lock_fd = openat(ls->root_fd, "LOCK", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (ls->lock_fd < 0) {
        rc = os_error(errno, "locking blob store", ls->root, err);
        goto fail;
    }
    if (flock(ls->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? rl_error_set(err, RL_EBUSY,
                                "blob store %s is open in another process (or twice in this "
                                "one); stop it first",
                                ls->root)
                 : os_error(errno, "locking blob store", ls->root, err);
        goto fail;
    }
    if ((ls->tmp_fd = open_dir_at(ls->root_fd, "tmp", 1)) < 0 ||
        (ls->objects_fd = open_dir_at(ls->root_fd, "objects", 1)) < 0 ||
        (ls->refs_fd = open_dir_at(ls->root_fd, "refs", 1)) < 0) {
        rc = os_error(errno, "opening the directories of blob store", ls->root, err);
        goto fail;
    }
    if (fresh && (rc = write_format(ls, err))) goto fail;
    if ((rc = clean_leftovers(ls, err))) goto fail;
    *out = &ls->base;
    return RL_OK;
fail:
    local_close(&ls->base);
    return rc;
}

static const rl_blob_ops local_ops = {
    .name = "local",
    .close = local_close,
    .put = local_put,
    .put_file = local_put_file,
    .tmp_open = local_tmp_open,
    .commit_tmp = local_commit_tmp,
    .tmp_discard = local_tmp_discard,
    .get = local_get,
    .open_read = local_open_read,
    .local_path = local_local_path,
    .stat = local_stat,
    .verify = local_verify,
    .list = local_list,
    .del = local_del,
    .check = local_check,
};
