/* common.c - the learners' payload envelope and input checks (common.h).
 *
 * Integers and doubles are written byte by byte in little-endian order so the
 * bytes are the same on every machine; a double travels as its IEEE-754 bit
 * pattern, so reading it back gives exactly the value written.
 */
#include "learners/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const unsigned char MAGIC[4] = {'R', 'L', 'L', 'M'};

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int rl_wire_begin(rl_buf *out, uint32_t tag, size_t *mark)
{
    unsigned char h[RL_WIRE_HEADER] = {0};
    memcpy(h, MAGIC, 4);
    le32(h + 4, RL_WIRE_VERSION);
    le32(h + 8, tag);
    *mark = out->len;
    return rl_buf_append(out, h, sizeof h);
}

void rl_wire_end(rl_buf *out, size_t mark)
{
    unsigned char *h = (unsigned char *)out->data + mark;
    size_t n = out->len - mark - RL_WIRE_HEADER;
    le64(h + 16, n);
    le64(h + 24, fnv1a64(h + RL_WIRE_HEADER, n));
}

int rl_wire_put_u32(rl_buf *out, uint32_t v)
{
    unsigned char b[4];
    le32(b, v);
    return rl_buf_append(out, b, sizeof b);
}

int rl_wire_put_u64(rl_buf *out, uint64_t v)
{
    unsigned char b[8];
    le64(b, v);
    return rl_buf_append(out, b, sizeof b);
}

static uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

int rl_wire_put_f64(rl_buf *out, double v)
{
    return rl_wire_put_u64(out, f64_bits(v));
}

int rl_wire_put_f64s(rl_buf *out, const double *v, size_t n)
{
    if (n > SIZE_MAX / 8 || rl_buf_reserve(out, n * 8)) return RL_ENOMEM;
    unsigned char *p = (unsigned char *)out->data + out->len;
    for (size_t i = 0; i < n; i++)
        le64(p + 8 * i, f64_bits(v[i]));
    out->len += n * 8;
    out->data[out->len] = '\0';
    return RL_OK;
}

int rl_wire_corrupt(rl_error *err, const char *what, const char *detail)
{
    return rl_error_set(err, RL_EFORMAT,
                        "the %s is damaged (%s); restore the model file from a copy or "
                        "train the model again",
                        what, detail);
}

int rl_wire_open(const void *data, size_t len, uint32_t tag, const char *what, rl_wire_reader *r,
                 rl_error *err)
{
    const unsigned char *p = data;
    char detail[160];
    if (!p || len < RL_WIRE_HEADER) {
        snprintf(detail, sizeof detail, "%zu bytes, shorter than its %u-byte header", len,
                 RL_WIRE_HEADER);
        return rl_wire_corrupt(err, what, detail);
    }
    if (memcmp(p, MAGIC, 4) != 0) return rl_wire_corrupt(err, what, "bad magic bytes");
    uint32_t version = rd32(p + 4);
    if (version != RL_WIRE_VERSION)
        return rl_error_set(err, RL_EFORMAT,
                            "the %s has format version %u, this relearn reads version %u; "
                            "use the relearn that wrote it or train the model again",
                            what, version, RL_WIRE_VERSION);
    if (rd32(p + 8) != tag) return rl_wire_corrupt(err, what, "it is another library's payload");
    if (rd32(p + 12) != 0) return rl_wire_corrupt(err, what, "reserved header bits are set");
    uint64_t n = rd64(p + 16);
    if (n != len - RL_WIRE_HEADER) {
        snprintf(detail, sizeof detail, "its header announces %llu payload bytes, %zu are there",
                 (unsigned long long)n, len - RL_WIRE_HEADER);
        return rl_wire_corrupt(err, what, detail);
    }
    if (fnv1a64(p + RL_WIRE_HEADER, (size_t)n) != rd64(p + 24))
        return rl_wire_corrupt(err, what, "checksum mismatch");
    r->p = p + RL_WIRE_HEADER;
    r->len = (size_t)n;
    r->pos = 0;
    r->bad = 0;
    return RL_OK;
}

const void *rl_wire_get_bytes(rl_wire_reader *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const void *p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint32_t rl_wire_get_u32(rl_wire_reader *r)
{
    const unsigned char *p = rl_wire_get_bytes(r, 4);
    return p ? rd32(p) : 0;
}

uint64_t rl_wire_get_u64(rl_wire_reader *r)
{
    const unsigned char *p = rl_wire_get_bytes(r, 8);
    return p ? rd64(p) : 0;
}

static double bits_f64(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

double rl_wire_get_f64(rl_wire_reader *r)
{
    return bits_f64(rl_wire_get_u64(r));
}

void rl_wire_get_f64s(rl_wire_reader *r, double *v, size_t n)
{
    const unsigned char *p = n <= SIZE_MAX / 8 ? rl_wire_get_bytes(r, n * 8) : NULL;
    if (!p) {
        r->bad = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = bits_f64(rd64(p + 8 * i));
}

size_t rl_wire_left(const rl_wire_reader *r)
{
    return r->len - r->pos;
}

int rl_wire_close(const rl_wire_reader *r, const char *what, rl_error *err)
{
    if (r->bad) return rl_wire_corrupt(err, what, "a field runs past the end");
    if (r->pos != r->len) return rl_wire_corrupt(err, what, "unexpected bytes after the end");
    return RL_OK;
}

/* ---- input checks ---- */

int rl_learner_check_train(const rl_learner_kind *k, const rl_matrix *x, const double *y,
                           int nclass, rl_error *err)
{
    if (x->rows == 0)
        return rl_error_set(err, RL_EINVAL, "%s needs at least one training row", k->name);
    if (x->cols == 0 || !x->data)
        return rl_error_set(err, RL_EINVAL, "%s needs at least one feature column", k->name);
    if (x->cols > (size_t)INT32_MAX - 2 || x->rows > (size_t)INT32_MAX - 1)
        return rl_error_set(err, RL_ETOOBIG, "%zu rows x %zu features is more than %s can train on",
                            x->rows, x->cols, k->name);
    if (k->task == RL_TASK_MULTICLASS && (nclass < 2 || nclass > 1000000))
        return rl_error_set(err, RL_EINVAL, "%s needs between 2 and 1000000 classes, got %d",
                            k->name, nclass);
    for (size_t i = 0; i < x->rows; i++) {
        double v = y[i];
        int ok = isfinite(v);
        if (k->task == RL_TASK_BINARY) ok = v == 0.0 || v == 1.0;
        if (k->task == RL_TASK_MULTICLASS) ok = ok && v >= 0 && v < nclass && v == floor(v);
        if (!ok)
            return rl_error_set(err, RL_EINVAL, "training row %zu: target %g is not %s", i + 1, v,
                                k->task == RL_TASK_BINARY       ? "0 or 1"
                                : k->task == RL_TASK_MULTICLASS ? "a class index"
                                                                : "a finite number");
    }
    return rl_learner_check_predict(x, x->cols, err);
}

int rl_learner_check_predict(const rl_matrix *x, size_t nfeat, rl_error *err)
{
    if (x->cols != nfeat)
        return rl_error_set(err, RL_ESCHEMA,
                            "the matrix has %zu feature columns, the model was trained on %zu",
                            x->cols, nfeat);
    size_t n = x->rows * x->cols;
    for (size_t i = 0; i < n; i++)
        if (isinf(x->data[i]))
            return rl_error_set(err, RL_EINVAL,
                                "row %zu, feature column %zu is infinite; learners take finite "
                                "numbers (or missing values)",
                                i / x->cols + 1, i % x->cols + 1);
    return RL_OK;
}
