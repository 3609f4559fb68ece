/* io.c - the public face of the readers and writers (io.h): picks the format,
 * reads files or standard input, writes files atomically or standard output.
 *
 * The format comes from the caller, else from the path's extension, else CSV.
 * Whole inputs are parsed in memory: a large regular file is mapped read-only
 * (no copy, prefaulted), anything else read with rl_file_read_all. The parsers
 * (csv.c, arff.c) never read past the length they are given, so the mapping
 * needs no terminator. A file truncated by another process while mapped would
 * fault; relearn replaces files by rename only, which a mapping survives.
 *
 * Thread safety: reentrant.
 */
#include "base/fs.h"
#include "base/mem.h"
#include "data/io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files at least this big are mapped rather than copied. */
#define MAP_MIN ((size_t)1 << 20)

rl_format rl_format_from_path(const char *path)
{
    const char *ext = rl_path_ext(path);
    if (!strcasecmp(ext, "csv")) return RL_FMT_CSV;
    if (!strcasecmp(ext, "tsv")) return RL_FMT_TSV;
    if (!strcasecmp(ext, "arff")) return RL_FMT_ARFF;
    return RL_FMT_AUTO;
}

const char *rl_format_name(rl_format f)
{
    switch (f) {
    case RL_FMT_CSV:
        return "csv";
    case RL_FMT_TSV:
        return "tsv";
    case RL_FMT_ARFF:
        return "arff";
    case RL_FMT_AUTO:
        break;
    }
    return "auto";
}

static int read_mem(const char *data, size_t len, rl_format fmt, const rl_read_opts *opts,
                    const char *source, rl_table **out, rl_error *err)
{
    switch (fmt) {
    case RL_FMT_TSV:
        return rl_csv_read(data, len, '\t', opts, source, out, err);
    case RL_FMT_ARFF:
        return rl_arff_read(data, len, opts, source, out, err);
    case RL_FMT_CSV:
    case RL_FMT_AUTO:
        break;
    }
    return rl_csv_read(data, len, ',', opts, source, out, err);
}

int rl_table_read_mem(const char *data, size_t len, const rl_read_opts *opts, rl_table **out,
                      rl_error *err)
{
    const char *source = opts && opts->source ? opts->source : "<input>";
    if (!data && len) return rl_error_set(err, RL_EINVAL, "%s: no data", source);
    return read_mem(data ? data : "", len, opts ? opts->format : RL_FMT_AUTO, opts, source, out,
                    err);
}

static int read_stdin(char **data, size_t *len, rl_error *err)
{
    rl_buf b = RL_BUF_INIT;
    for (;;) {
        if (rl_buf_reserve(&b, 65536)) {
            rl_buf_fini(&b);
            return rl_error_set(err, RL_ENOMEM, "out of memory reading standard input");
        }
        ssize_t r = read(STDIN_FILENO, b.data + b.len, b.cap - b.len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            rl_buf_fini(&b);
            return rl_error_set(err, RL_EIO, "cannot read standard input: %s", strerror(e));
        }
        if (r == 0) break;
        b.len += (size_t)r;
    }
    b.data[b.len] = '\0';
    *data = rl_buf_take(&b, len);
    return RL_OK;
}

/* Maps path when it is a large regular file: 1 and *map, *len set, else 0
 * (the caller reads it instead, which also reports any error). */
static int map_file(const char *path, void **map, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= MAP_MIN &&
        (uint64_t)st.st_size <= SIZE_MAX)
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return 0;
    *map = m;
    *len = (size_t)st.st_size;
    return 1;
}

int rl_table_read_file(const char *path, const rl_read_opts *opts, rl_table **out, rl_error *err)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *source = opts && opts->source ? opts->source : is_stdin ? "<stdin>" : path;
    rl_format fmt = opts ? opts->format : RL_FMT_AUTO;
    if (fmt == RL_FMT_AUTO && !is_stdin) fmt = rl_format_from_path(path);
    void *map;
    size_t len = 0;
    if (!is_stdin && map_file(path, &map, &len)) {
        int rc = read_mem(map, len, fmt, opts, source, out, err);
        munmap(map, len);
        return rc;
    }
    char *data = NULL;
    int rc = is_stdin ? read_stdin(&data, &len, err) : rl_file_read_all(path, &data, &len, err);
    if (rc) return rc;
    rc = read_mem(data, len, fmt, opts, source, out, err);
    rl_free(data);
    return rc;
}

int rl_table_write_buf(rl_buf *out, rl_format fmt, const rl_table *t, const char *relation,
                       rl_error *err)
{
    switch (fmt) {
    case RL_FMT_TSV:
        return rl_csv_write(out, '\t', t, err);
    case RL_FMT_ARFF:
        return rl_arff_write(out, t, relation ? relation : "relearn", err);
    case RL_FMT_CSV:
    case RL_FMT_AUTO:
        break;
    }
    return rl_csv_write(out, ',', t, err);
}

int rl_table_write_to(rl_write_fn fn, void *ctx, rl_format fmt, const rl_table *t,
                      const char *relation, rl_error *err)
{
    rl_buf b = RL_BUF_INIT;
    int rc;
    if (fmt == RL_FMT_ARFF) {
        rc = rl_arff_write(&b, t, relation ? relation : "relearn", err);
        if (!rc) rc = fn(ctx, b.data ? b.data : "", b.len, err);
    } else {
        rc = rl_csv_write_to(&b, fmt == RL_FMT_TSV ? '\t' : ',', t, fn, ctx, err);
    }
    rl_buf_fini(&b);
    return rc;
}

static int to_stdout(void *ctx, const char *data, size_t len, rl_error *err)
{
    (void)ctx;
    if (rl_fd_write_all(STDOUT_FILENO, data, len) != 0)
        return rl_error_set(err, RL_EIO, "cannot write standard output: %s", strerror(errno));
    return RL_OK;
}

static int to_atomic_file(void *ctx, const char *data, size_t len, rl_error *err)
{
    return rl_file_atomic_write(ctx, data, len, err);
}

int rl_table_write_file(const char *path, rl_format fmt, const rl_table *t, rl_error *err)
{
    if (strcmp(path, "-") == 0) return rl_table_write_to(to_stdout, NULL, fmt, t, NULL, err);
    if (fmt == RL_FMT_AUTO) fmt = rl_format_from_path(path);
    rl_atomic_file f;
    int rc = rl_file_atomic_open(&f, path, 0, err);
    if (rc) return rc;
    if ((rc = rl_table_write_to(to_atomic_file, &f, fmt, t, NULL, err)) ||
        (rc = rl_file_atomic_commit(&f, err)))
        rl_file_atomic_abort(&f);
    return rc;
}
