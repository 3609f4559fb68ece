/* ingest.c - the column builder the CSV and ARFF readers share (io_impl.h).
 *
 * Each column keeps one array of 8-byte slots, one per row: doubles while the
 * column is EMPTY, NUMERIC or BOOLEAN (NAN for missing), int32 codes packed in
 * the first half once it is STRING (-1 for missing). Turning a column STRING
 * reuses the same memory: the doubles of earlier rows are dropped and their
 * text is rescanned later (refill). A finished array is shrunk and handed to
 * the rl_column without copying.
 *
 * Also here: UTF-8 validation and the quoting of values in messages.
 * Not thread-safe: a builder belongs to one reader.
 */
#include "base/mem.h"
#include "data/io_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

/* ---- UTF-8 ---- */

size_t rl_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80) return c ? 1 : 0;
    size_t left = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF) return left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && p[1] > 0x9F) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && p[1] > 0x8F) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

size_t rl_utf8_check(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* Eight ASCII bytes without a NUL at a time. */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
            if ((w & 0x8080808080808080ULL) | zero) break;
            p += 8;
        }
        if (p == end) break;
        size_t k = rl_utf8_seq(p, end);
        if (!k) return (size_t)((const char *)p - s);
        p += k;
    }
    return n;
}

/* ---- numbers ----
 *
 * The writers print numbers with rl_format_double (base/buf.c), which
 * prints the common decimals and 16-17 digit scores without printf.
 */

size_t rl_format_number(char *out, double v)
{
    return rl_format_double(out, v);
}

void rl_msg_value(char *out, size_t cap, const char *s, size_t n)
{
    size_t w = 0;
    if (cap < 8) {
        if (cap) out[0] = '\0';
        return;
    }
    out[w++] = '\'';
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t shown = 0;
    while (p < end && shown < 40 && w + 8 < cap) {
        size_t k = rl_utf8_seq(p, end);
        if (k <= 1) {
            out[w++] = (k == 1 && *p >= 0x20 && *p != 0x7F) ? (char)*p : '?';
            p++;
        } else {
            memcpy(out + w, p, k);
            w += k;
            p += k;
        }
        shown++;
    }
    if (p < end && w + 4 < cap) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w++] = '\'';
    out[w] = '\0';
}

/* ---- the intern cache ----
 *
 * rl_levels_intern hashes byte by byte; a text column of a million rows
 * calls it a million times. The cache answers the common case (a value seen
 * before) with a few word operations: a string of at most 24 bytes is keyed
 * exactly by three 8-byte words that cover it and its length, so a hit needs
 * no memcmp; a longer one by a hash of all its bytes, confirmed with memcmp.
 * A miss falls through to rl_levels_intern, which stays the single owner of
 * codes: the cache only remembers its answers.
 */

uint64_t rl_icache_key_long(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        h = (h ^ rl_load64(s + i)) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    h = (h ^ rl_load64(s + n - 8)) * 0xC2B2AE3D27D4EB4FULL;
    return h ^ (h >> 29);
}

static rl_icache *icache_new(void)
{
    rl_icache *ic = rl_malloc(sizeof *ic);
    if (!ic) return NULL;
    ic->slot = rl_malloc(64 * sizeof *ic->slot);
    if (!ic->slot) {
        rl_free(ic);
        return NULL;
    }
    for (size_t i = 0; i < 64; i++)
        ic->slot[i].code = -1;
    ic->mask = 63;
    ic->used = 0;
    return ic;
}

static void icache_free(rl_icache *ic)
{
    if (!ic) return;
    rl_free(ic->slot);
    rl_free(ic);
}

static int icache_grow(rl_icache *ic)
{
    size_t n = (ic->mask + 1) * 2;
    rl_islot *s = rl_malloc(n * sizeof *s);
    if (!s) return RL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        s[i].code = -1;
    for (size_t i = 0; i <= ic->mask; i++) {
        rl_islot *e = &ic->slot[i];
        if (e->code < 0) continue;
        uint64_t k[3] = {e->a, e->b, e->c};
        size_t h = rl_icache_hash(k, e->n) & (n - 1);
        while (s[h].code >= 0)
            h = (h + 1) & (n - 1);
        s[h] = *e;
    }
    rl_free(ic->slot);
    ic->slot = s;
    ic->mask = n - 1;
    return RL_OK;
}

/* The code of s[0..n) in lv, interning it when new; negative when out of
 * memory. */
static int32_t icache_intern(rl_icache *ic, rl_levels *lv, const char *s, size_t n)
{
    uint64_t k[3];
    rl_icache_key(s, n, k);
    rl_islot *e = rl_icache_find(ic, lv, s, n, k);
    if (e->code >= 0) return e->code;
    if (n > UINT32_MAX) return RL_ENOMEM;
    int32_t code = rl_levels_intern(lv, s, n);
    if (code < 0) return code;
    if ((ic->used + 1) * 2 > ic->mask + 1) {
        if (icache_grow(ic)) return code; /* still correct, just not cached */
        e = rl_icache_find(ic, lv, s, n, k);
    }
    *e = (rl_islot){k[0], k[1], k[2], (uint32_t)n, code};
    ic->used++;
    return code;
}

/* Asks for transparent huge pages on a large array: a million-row column is
 * thousands of page faults otherwise, a large part of reading. Advice only. */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (n < 2 * huge) return;
    uintptr_t s = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
    if (e > s) madvise((void *)s, e - s, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* ---- the builder ---- */

int rl_ingest_init(rl_ingest *in, const char *source, size_t ncols, size_t cap_hint, rl_error *err)
{
    memset(in, 0, sizeof *in);
    in->source = source;
    in->err = err;
    in->cap = cap_hint < 16 ? 16 : cap_hint;
    if (in->cap > SIZE_MAX / 8) in->cap = SIZE_MAX / 8;
    in->cols = rl_calloc(ncols ? ncols : 1, sizeof *in->cols);
    in->names = rl_levels_new();
    if (!in->cols || !in->names) goto oom;
    in->ncols = ncols;
    for (size_t j = 0; j < ncols; j++) {
        in->cols[j].mem = rl_malloc(in->cap * 8);
        if (!in->cols[j].mem) goto oom;
        advise_huge(in->cols[j].mem, in->cap * 8);
    }
    return RL_OK;
oom:
    rl_ingest_fini(in);
    return rl_error_set(err, RL_ENOMEM, "out of memory reading %s (%zu columns)", source, ncols);
}

void rl_ingest_fini(rl_ingest *in)
{
    for (size_t j = 0; j < in->ncols; j++) {
        rl_free(in->cols[j].name);
        rl_free(in->cols[j].mem);
        rl_levels_free(in->cols[j].levels);
        rl_levels_free(in->cols[j].nominal);
        icache_free(in->cols[j].ic);
    }
    rl_free(in->cols);
    rl_levels_free(in->names);
    in->cols = NULL;
    in->names = NULL;
    in->ncols = 0;
}

int rl_ingest_set_name(rl_ingest *in, size_t j, const char *name, size_t len, size_t line,
                       size_t colno)
{
    if (len == 0)
        return rl_error_set(in->err, RL_EPARSE,
                            "%s:%zu:%zu: column %zu has an empty name; give every column a "
                            "name in the header",
                            in->source, line, colno, colno);
    size_t before = rl_levels_count(in->names);
    int32_t code = rl_levels_intern(in->names, name, len);
    if (code < 0) return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
    if ((size_t)code < before) {
        char q[96];
        rl_msg_value(q, sizeof q, name, len);
        return rl_error_set(in->err, RL_EPARSE,
                            "%s:%zu:%zu: column name %s appears twice (columns %zu and %zu); "
                            "rename one of them",
                            in->source, line, colno, q, (size_t)code + 1, colno);
    }
    in->cols[j].name = rl_strndup(name, len);
    if (!in->cols[j].name)
        return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
    return RL_OK;
}

int rl_ingest_force(rl_ingest *in, size_t j, rl_type type, unsigned flags, const char *why)
{
    rl_colb *c = &in->cols[j];
    c->forced = type;
    c->flags = flags;
    c->forced_by = why;
    c->state = type == RL_TYPE_NUMERIC   ? RL_COLB_NUMERIC
               : type == RL_TYPE_BOOLEAN ? RL_COLB_BOOLEAN
                                         : RL_COLB_STRING;
    if (type == RL_TYPE_STRING && !c->levels) {
        c->levels = rl_levels_new();
        if (!c->levels)
            return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
    } else if (type != RL_TYPE_STRING) {
        rl_levels_free(c->levels);
        c->levels = NULL;
        icache_free(c->ic);
        c->ic = NULL;
    }
    return RL_OK;
}

int rl_ingest_apply_overrides(rl_ingest *in, const rl_read_opts *opts)
{
    if (!opts || !opts->overrides) return RL_OK;
    for (size_t k = 0; k < opts->noverrides; k++) {
        const rl_type_override *o = &opts->overrides[k];
        int32_t j = rl_levels_find(in->names, o->column, strlen(o->column));
        if (j < 0) {
            rl_buf list = RL_BUF_INIT;
            for (size_t i = 0; i < in->ncols && i < 12; i++)
                rl_buf_printf(&list, "%s'%s'", i ? ", " : "", in->cols[i].name);
            if (in->ncols > 12) rl_buf_puts(&list, ", ...");
            int rc = rl_error_set(in->err, RL_ESCHEMA,
                                  "%s has no column '%s' (named by a type override); its "
                                  "columns are %s",
                                  in->source, o->column, list.data ? list.data : "none");
            rl_buf_fini(&list);
            return rc;
        }
        if (o->type != RL_TYPE_NUMERIC && o->type != RL_TYPE_BOOLEAN && o->type != RL_TYPE_STRING)
            return rl_error_set(in->err, RL_EINVAL,
                                "type override for column '%s': unknown "
                                "type %d",
                                o->column, (int)o->type);
        int rc = rl_ingest_force(in, (size_t)j, o->type, o->flags, "a type override");
        if (rc) return rc;
    }
    return RL_OK;
}

int rl_ingest_grow(rl_ingest *in)
{
    if (in->nrows < in->cap) return RL_OK;
    if (in->cap > SIZE_MAX / 16) goto oom;
    size_t cap = in->cap * 2;
    for (size_t j = 0; j < in->ncols; j++) {
        void *m = rl_realloc(in->cols[j].mem, cap * 8);
        if (!m) goto oom; /* columns grown so far keep their larger arrays */
        in->cols[j].mem = m;
        advise_huge(m, cap * 8);
    }
    in->cap = cap;
    return RL_OK;
oom:
    return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s (%zu rows so far)",
                        in->source, in->nrows);
}

/* true/false in any case; with allow01 also 1/0. */
static int parse_bool(const char *s, size_t n, int allow01, double *v)
{
    if (n == 4 && strncasecmp(s, "true", 4) == 0) {
        *v = 1.0;
        return 1;
    }
    if (n == 5 && strncasecmp(s, "false", 5) == 0) {
        *v = 0.0;
        return 1;
    }
    if (allow01 && n == 1 && (s[0] == '0' || s[0] == '1')) {
        *v = s[0] == '1';
        return 1;
    }
    return 0;
}

static int intern(rl_ingest *in, rl_colb *c, const char *s, size_t n, int32_t *code)
{
    if (!c->ic && !(c->ic = icache_new()))
        return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s (column '%s')",
                            in->source, c->name);
    int32_t k = icache_intern(c->ic, c->levels, s, n);
    if (k < 0)
        return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s (column '%s')",
                            in->source, c->name);
    *code = k;
    return RL_OK;
}

static int bad_value(rl_ingest *in, rl_colb *c, const char *s, size_t n, size_t line, size_t colno)
{
    char q[96];
    rl_msg_value(q, sizeof q, s, n);
    const char *want = c->forced == RL_TYPE_NUMERIC ? "a number" : "true, false, 1 or 0";
    return rl_error_set(in->err, RL_EPARSE,
                        "%s:%zu:%zu: %s in column '%s' is not %s, and %s makes the column %s; "
                        "fix the value or the column's type",
                        in->source, line, colno, q, c->name, want, c->forced_by,
                        rl_type_name(c->forced));
}

static int not_declared(rl_ingest *in, rl_colb *c, const char *s, size_t n, size_t line,
                        size_t colno)
{
    char q[96];
    rl_msg_value(q, sizeof q, s, n);
    rl_buf list = RL_BUF_INIT;
    size_t nl = rl_levels_count(c->nominal);
    for (size_t k = 0; k < nl && k < 10; k++)
        rl_buf_printf(&list, "%s%s", k ? "," : "", rl_levels_get(c->nominal, (int32_t)k));
    if (nl > 10) rl_buf_puts(&list, ",...");
    int rc = rl_error_set(in->err, RL_EPARSE,
                          "%s:%zu:%zu: %s is not one of the values declared for attribute "
                          "'%s' {%s}; add it to the @attribute line or fix the value",
                          in->source, line, colno, q, c->name, list.data ? list.data : "");
    rl_buf_fini(&list);
    return rc;
}

int rl_ingest_put_slow(rl_ingest *in, size_t j, const char *s, size_t n, int missing, size_t line,
                       size_t colno)
{
    rl_colb *c = &in->cols[j];
    size_t r = in->nrows;
    double *num = c->mem;
    int32_t *codes = c->mem;
    if (missing) {
        if (c->state == RL_COLB_STRING)
            codes[r] = -1;
        else
            num[r] = NAN;
        return RL_OK;
    }
    if (c->nominal && rl_levels_find(c->nominal, s, n) < 0)
        return not_declared(in, c, s, n, line, colno);
    double v;
    int32_t code = -1;
    int rc;
    switch (c->state) {
    case RL_COLB_STRING:
        if ((rc = intern(in, c, s, n, &code))) return rc;
        codes[r] = code;
        return RL_OK;
    case RL_COLB_NUMERIC:
        if (rl_parse_number(s, n, &v)) {
            num[r] = v;
            return RL_OK;
        }
        break;
    case RL_COLB_BOOLEAN:
        if (parse_bool(s, n, c->forced != 0, &v)) {
            num[r] = v;
            return RL_OK;
        }
        break;
    default: /* EMPTY: the first present value decides */
        if (rl_parse_number(s, n, &v)) {
            c->state = RL_COLB_NUMERIC;
            num[r] = v;
            return RL_OK;
        }
        if (parse_bool(s, n, 0, &v)) {
            c->state = RL_COLB_BOOLEAN;
            num[r] = v;
            return RL_OK;
        }
        c->levels = rl_levels_new();
        if (!c->levels)
            return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
        c->state = RL_COLB_STRING;
        for (size_t i = 0; i < r; i++)
            codes[i] = -1; /* all missing before */
        if ((rc = intern(in, c, s, n, &code))) return rc;
        codes[r] = code;
        return RL_OK;
    }
    if (c->forced) return bad_value(in, c, s, n, line, colno);
    /* Numbers or booleans so far, now text: the column is text, and the rows
     * before this one are rescanned for their text at the end. */
    c->levels = rl_levels_new();
    if (!c->levels) return rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
    c->state = RL_COLB_STRING;
    c->refill = r;
    if ((rc = intern(in, c, s, n, &code))) return rc;
    codes[r] = code;
    return RL_OK;
}

int rl_ingest_refill_put(rl_ingest *in, size_t j, size_t row, const char *s, size_t n, int missing)
{
    rl_colb *c = &in->cols[j];
    int32_t *codes = c->mem;
    if (missing) {
        codes[row] = -1;
        return RL_OK;
    }
    return intern(in, c, s, n, &codes[row]);
}

size_t rl_ingest_refill_rows(const rl_ingest *in)
{
    size_t m = 0;
    for (size_t j = 0; j < in->ncols; j++)
        if (in->cols[j].refill > m) m = in->cols[j].refill;
    return m;
}

/* After a refill the rows before the switch to text were interned last:
 * renumber the levels in first-seen order, as table.h promises. */
static int reorder_levels(rl_ingest *in, rl_colb *c)
{
    size_t nl = rl_levels_count(c->levels);
    int32_t *map = rl_malloc((nl ? nl : 1) * sizeof *map);
    rl_levels *lv = rl_levels_new();
    int32_t *codes = c->mem;
    int rc = RL_OK;
    if (!map || !lv) goto oom;
    memset(map, 0xff, (nl ? nl : 1) * sizeof *map);
    for (size_t i = 0; i < in->nrows; i++) {
        int32_t k = codes[i];
        if (k < 0) continue;
        if (map[k] < 0) {
            map[k] = rl_levels_intern(lv, rl_levels_get(c->levels, k), rl_levels_len(c->levels, k));
            if (map[k] < 0) goto oom;
        }
        codes[i] = map[k];
    }
    rl_levels_free(c->levels);
    c->levels = lv;
    lv = NULL;
    icache_free(c->ic); /* its codes are the old ones */
    c->ic = NULL;
    goto done;
oom:
    /* codes may be half renumbered: the builder is about to be thrown away. */
    rc = rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
done:
    rl_levels_free(lv);
    rl_free(map);
    return rc;
}

int rl_ingest_finish(rl_ingest *in, rl_table **out)
{
    int rc = RL_OK;
    rl_table *t = rl_table_new(in->nrows);
    if (!t) {
        rc = rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
        goto fail;
    }
    for (size_t j = 0; j < in->ncols; j++) {
        rl_colb *c = &in->cols[j];
        if (c->refill && (rc = reorder_levels(in, c))) goto fail;
        rl_type type = c->state == RL_COLB_STRING    ? RL_TYPE_STRING
                       : c->state == RL_COLB_BOOLEAN ? RL_TYPE_BOOLEAN
                                                     : RL_TYPE_NUMERIC;
        rl_column *col = rl_column_new(c->name, type, 0);
        if (!col) {
            rc = rl_error_set(in->err, RL_ENOMEM, "out of memory reading %s", in->source);
            goto fail;
        }
        size_t slot = type == RL_TYPE_STRING ? sizeof(int32_t) : sizeof(double);
        void *m = rl_realloc(c->mem, (in->nrows ? in->nrows : 1) * slot);
        if (m) c->mem = m; /* a failed shrink keeps the larger array */
        col->flags = c->flags;
        col->nrows = in->nrows;
        if (type == RL_TYPE_STRING) {
            rl_free(col->codes);
            col->codes = c->mem;
            rl_levels_free(col->levels);
            col->levels = c->levels;
            c->levels = NULL;
        } else {
            rl_free(col->num);
            col->num = c->mem;
        }
        c->mem = NULL;
        if ((rc = rl_table_add(t, col, in->err))) goto fail;
    }
    rl_ingest_fini(in);
    *out = t;
    return RL_OK;
fail:
    rl_ingest_fini(in);
    rl_table_free(t);
    return rc;
}
