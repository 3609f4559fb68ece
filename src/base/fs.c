/* fs.c - whole-file reads and atomic writes (temp file, fsync, rename). */
#include "base/fs.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rl_file_read_all(const char *path, char **data, size_t *len, rl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rl_error_set(err, errno == ENOENT ? RL_ENOTFOUND : RL_EIO, "cannot open %s: %s",
                            path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return rl_error_set(err, RL_EIO, "cannot read %s: %s", path,
                            S_ISDIR(st.st_mode) ? "it is a directory" : strerror(errno));
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    size_t n = 0;
    char *buf = rl_malloc(cap);
    if (!buf) {
        close(fd);
        return rl_error_set(err, RL_ENOMEM, "out of memory reading %s (%zu bytes)", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = rl_realloc(buf, cap * 2);
            if (!nb) {
                rl_free(buf);
                close(fd);
                return rl_error_set(err, RL_ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            rl_free(buf);
            close(fd);
            return rl_error_set(err, RL_EIO, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return RL_OK;
}

static int fsync_dir_of(const char *path)
{
    char *copy = rl_strdup(path);
    if (!copy) return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rl_free(copy);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rl_fd_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int rl_file_atomic_open(rl_atomic_file *f, const char *path, int private, rl_error *err)
{
    size_t plen = strlen(path);
    f->fd = -1;
    f->private = private;
    f->path = rl_strdup(path);
    f->tmp = rl_malloc(plen + 32);
    if (!f->path || !f->tmp) {
        rl_free(f->path);
        rl_free(f->tmp);
        f->path = f->tmp = NULL;
        return rl_error_set(err, RL_ENOMEM, "out of memory writing %s", path);
    }
    snprintf(f->tmp, plen + 32, "%s.tmp.XXXXXX", path);
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;
        rl_free(f->path);
        rl_free(f->tmp);
        f->path = f->tmp = NULL;
        return rl_error_set(err, RL_EIO, "cannot create a file beside %s: %s", path, strerror(e));
    }
    return RL_OK;
}

int rl_file_atomic_write(rl_atomic_file *f, const void *data, size_t len, rl_error *err)
{
    if (rl_fd_write_all(f->fd, data, len) != 0)
        return rl_error_set(err, RL_EIO, "cannot write %s: %s", f->path, strerror(errno));
    return RL_OK;
}

int rl_file_atomic_commit(rl_atomic_file *f, rl_error *err)
{
    if (fchmod(f->fd, f->private ? 0600 : 0644) != 0 || fsync(f->fd) != 0)
        return rl_error_set(err, RL_EIO, "cannot write %s: %s", f->path, strerror(errno));
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0 || rename(f->tmp, f->path) != 0)
        return rl_error_set(err, RL_EIO, "cannot write %s: %s", f->path, strerror(errno));
    fsync_dir_of(f->path);
    rl_free(f->tmp);
    rl_free(f->path);
    f->tmp = f->path = NULL;
    return RL_OK;
}

void rl_file_atomic_abort(rl_atomic_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) unlink(f->tmp);
    rl_free(f->tmp);
    rl_free(f->path);
    f->tmp = f->path = NULL;
}

int rl_file_write_atomic(const char *path, const void *data, size_t len, int private, rl_error *err)
{
    rl_atomic_file f;
    int rc = rl_file_atomic_open(&f, path, private, err);
    if (rc) return rc;
    if ((rc = rl_file_atomic_write(&f, data, len, err)) || (rc = rl_file_atomic_commit(&f, err)))
        rl_file_atomic_abort(&f);
    return rc;
}

int rl_mkdir_p(const char *path, int private, rl_error *err)
{
    char *copy = rl_strdup(path);
    if (!copy) return rl_error_set(err, RL_ENOMEM, "out of memory");
    mode_t mode = private ? 0700 : 0755;
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, mode) != 0 && errno != EEXIST) {
                int e = errno;
                rl_error_set(err, RL_EIO, "cannot create directory %s: %s", copy, strerror(e));
                rl_free(copy);
                return RL_EIO;
            }
            *p = c;
            if (!c) break;
        }
    }
    rl_free(copy);
    return RL_OK;
}

const char *rl_path_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot && dot[1] ? dot + 1 : "";
}
