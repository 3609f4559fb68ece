/* io_impl.h - private to src/data: what the CSV and ARFF readers share.
 *
 * A reader tokenizes its input and hands each field to a column builder
 * (rl_ingest): the builder infers the column's type as values arrive (or checks
 * them against a forced type), parses numbers, interns strings and grows the
 * column arrays, and at the end turns itself into an rl_table. Errors carry the
 * source name, line and column the reader passes along.
 *
 * Type inference is one pass: a column starts EMPTY (all missing so far),
 * becomes NUMERIC or BOOLEAN at its first present value and STRING when a value
 * does not fit. A numeric or boolean column that turns STRING at row r has lost
 * the text of rows [0, r): the builder records r (refill) and the CSV reader
 * rescans those rows once at the end for all such columns together
 * (rl_ingest_refill_put), so inference costs at most one extra pass.
 *
 * Ownership: an rl_ingest owns its columns until rl_ingest_finish hands them
 * to a table. Not thread-safe; one reader uses one builder.
 */
#ifndef RL_DATA_IO_IMPL_H
#define RL_DATA_IO_IMPL_H

#include "base/buf.h"
#include "base/error.h"
#include "data/io.h"
#include "data/table.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { RL_COLB_EMPTY = 0, RL_COLB_NUMERIC, RL_COLB_BOOLEAN, RL_COLB_STRING };

/* A fast string-to-code cache in front of a column's rl_levels (ingest.c
 * explains it); the hit path is inline below. */
typedef struct rl_islot {
    uint64_t a, b, c; /* the key: the bytes themselves up to 24, else a hash */
    uint32_t n;
    int32_t code; /* -1: empty */
} rl_islot;

typedef struct rl_icache {
    rl_islot *slot;
    size_t mask, used;
} rl_icache;

typedef struct rl_colb {
    char *name;
    int state;             /* RL_COLB_* */
    rl_type forced;        /* 0: inferred; else the only type accepted */
    unsigned flags;        /* RL_COL_* for the finished column */
    const char *forced_by; /* why the type is forced, for messages */
    void *mem;             /* cap slots of 8 bytes: doubles, or int32 codes */
    rl_levels *levels;     /* STRING: the dictionary (NULL before) */
    rl_icache *ic;         /* STRING: lookups into levels, hashed fast */
    rl_levels *nominal;    /* ARFF nominal: the declared values (NULL: any) */
    size_t refill;         /* rows [0, refill) lost their text: rescan them */
} rl_colb;

typedef struct rl_ingest {
    const char *source; /* for messages */
    rl_colb *cols;
    size_t ncols;
    size_t nrows;     /* rows finished */
    size_t cap;       /* slots allocated in every column */
    rl_levels *names; /* the column names, to find duplicates and overrides */
    rl_error *err;
} rl_ingest;

/* Sets up ncols unnamed columns with room for cap_hint rows. */
int rl_ingest_init(rl_ingest *in, const char *source, size_t ncols, size_t cap_hint, rl_error *err);
void rl_ingest_fini(rl_ingest *in);
/* Names column j (copied): RL_EPARSE for an empty name or one used already,
 * naming line and colno. */
int rl_ingest_set_name(rl_ingest *in, size_t j, const char *name, size_t len, size_t line,
                       size_t colno);
/* Forces column j to type (and flags); why says who forced it, for messages
 * ("a type override"). Before any row only. */
int rl_ingest_force(rl_ingest *in, size_t j, rl_type type, unsigned flags, const char *why);
/* Applies opts' overrides (after all names are set): RL_ESCHEMA for a column
 * the input does not have. */
int rl_ingest_apply_overrides(rl_ingest *in, const rl_read_opts *opts);
/* Makes room for one more row. */
int rl_ingest_grow(rl_ingest *in);

/* Stores value s[0..n) of column j in the current row (in->nrows); missing
 * when missing is non-zero. line and colno (1-based) are for messages.
 * rl_ingest_put is the inline fast path (a text value seen before, a number
 * in a numeric column) in front of rl_ingest_put_slow. */
int rl_ingest_put_slow(rl_ingest *in, size_t j, const char *s, size_t n, int missing, size_t line,
                       size_t colno);
/* Stores the text of row `row` of a column that turned STRING (row < refill). */
int rl_ingest_refill_put(rl_ingest *in, size_t j, size_t row, const char *s, size_t n, int missing);
/* The largest refill over all columns (0 when nothing to rescan). */
size_t rl_ingest_refill_rows(const rl_ingest *in);
/* Builds the table. The builder is empty afterwards, on success or not. */
int rl_ingest_finish(rl_ingest *in, rl_table **out);

static inline uint64_t rl_load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t rl_load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The cache key of s[0..n): exact for n <= 24 (words covering every byte,
 * with the length), else a hash of every byte (rl_icache_key_long). */
uint64_t rl_icache_key_long(const char *s, size_t n);

static inline void rl_icache_key(const char *s, size_t n, uint64_t k[3])
{
    if (n >= 8) {
        if (n > 24) {
            k[0] = rl_icache_key_long(s, n);
            k[1] = k[2] = 0;
            return;
        }
        k[0] = rl_load64(s);
        k[1] = rl_load64(s + n - 8);
        k[2] = n > 16 ? rl_load64(s + 8) : 0;
    } else if (n >= 4) {
        k[0] = rl_load32(s);
        k[1] = rl_load32(s + n - 4);
        k[2] = 0;
    } else {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v |= (uint64_t)(unsigned char)s[i] << (8 * i);
        k[0] = v;
        k[1] = k[2] = 0;
    }
}

static inline size_t rl_icache_hash(const uint64_t k[3], size_t n)
{
    uint64_t h = k[0] * 0x9E3779B97F4A7C15ULL ^ k[1] * 0xC2B2AE3D27D4EB4FULL ^
                 (k[2] + n) * 0x165667B19E3779F9ULL;
    return (size_t)(h ^ (h >> 29) ^ (h >> 47));
}

/* The slot of s[0..n) (k its key) in ic: a hit (code >= 0) or the empty
 * slot where it belongs. */
static inline rl_islot *rl_icache_find(const rl_icache *ic, const rl_levels *lv, const char *s,
                                       size_t n, const uint64_t k[3])
{
    for (size_t h = rl_icache_hash(k, n) & ic->mask;; h = (h + 1) & ic->mask) {
        rl_islot *e = &ic->slot[h];
        if (e->code < 0) return e;
        if (e->a == k[0] && e->b == k[1] && e->c == k[2] && e->n == n &&
            (n <= 24 || memcmp(rl_levels_get(lv, e->code), s, n) == 0))
            return e;
    }
}

/* rl_parse_number with the commonest case inline: up to 15 plain digits. */
static inline int rl_parse_number_fast(const char *s, size_t n, double *v)
{
    if (n == 0 || n > 15) return rl_parse_number(s, n, v);
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return rl_parse_number(s, n, v);
        m = m * 10 + d;
    }
    *v = (double)m;
    return 1;
}

static inline int rl_ingest_put(rl_ingest *in, size_t j, const char *s, size_t n, int missing,
                                size_t line, size_t colno)
{
    rl_colb *c = &in->cols[j];
    if (!missing && !c->nominal) {
        if (c->state == RL_COLB_STRING && c->ic) {
            uint64_t k[3];
            rl_icache_key(s, n, k);
            rl_islot *e = rl_icache_find(c->ic, c->levels, s, n, k);
            if (e->code >= 0) {
                ((int32_t *)c->mem)[in->nrows] = e->code;
                return RL_OK;
            }
        } else if (c->state == RL_COLB_NUMERIC) {
            double v;
            if (rl_parse_number_fast(s, n, &v)) {
                ((double *)c->mem)[in->nrows] = v;
                return RL_OK;
            }
        }
    }
    return rl_ingest_put_slow(in, j, s, n, missing, line, colno);
}

/* ---- helpers ---- */
/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid or a NUL. */
size_t rl_utf8_seq(const unsigned char *p, const unsigned char *end);
/* Offset of the first invalid UTF-8 byte (or NUL) in s[0..n), or n. */
size_t rl_utf8_check(const char *s, size_t n);
/* Writes v as rl_format_double does (same bytes; out has 32 bytes or more)
 * and returns the length, faster for decimals of at most 15 significant
 * digits between 1e-4 and 1e15. */
size_t rl_format_number(char *out, double v);
/* s[0..n) for a message: quoted, at most 40 bytes, control bytes as '?'. */
void rl_msg_value(char *out, size_t cap, const char *s, size_t n);

/* ---- formats ---- */
int rl_csv_read(const char *data, size_t len, char sep, const rl_read_opts *opts,
                const char *source, rl_table **out, rl_error *err);
int rl_csv_write(rl_buf *out, char sep, const rl_table *t, rl_error *err);
/* The same, handing out's text to fn every ~1 MiB and at the end (out is
 * left empty); fn NULL: rl_csv_write. */
int rl_csv_write_to(rl_buf *out, char sep, const rl_table *t, rl_write_fn fn, void *ctx,
                    rl_error *err);
int rl_arff_read(const char *data, size_t len, const rl_read_opts *opts, const char *source,
                 rl_table **out, rl_error *err);
int rl_arff_write(rl_buf *out, const rl_table *t, const char *relation, rl_error *err);

#endif
