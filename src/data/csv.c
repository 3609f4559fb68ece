/* csv.c - CSV and TSV (RFC 4180) reading and writing.
 *
 * Reading is one pass over bytes already in memory: a field is scanned with a
 * byte-class table (separator, quote, CR, LF, NUL and non-ASCII bytes stop the
 * scan; everything else is skipped in a tight loop), quoted fields with memchr
 * for the next quote. Fields are handed straight to the column builder
 * (io_impl.h) without copying, except quoted fields with doubled quotes, which
 * are unescaped into one reused scratch buffer. UTF-8 is validated as a side
 * effect of the scan (only bytes >= 0x80 take the slow path). A column whose
 * inferred type turns to text after some rows makes one extra rescan of those
 * rows at the end (the builder's refill), shared by all such columns.
 *
 * Dialect: a header row; "" inside quoted fields; CR, LF or CRLF line ends;
 * a UTF-8 BOM is skipped. Missing values: an empty field, ? and NA unquoted,
 * and "" (a quoted empty field; CSV cannot tell it from an empty string).
 * Quoted "NA" and "?" are text. Blank lines are skipped, except in a file of
 * one column, where a blank line inside the data is a missing value (blank
 * lines at the end are ignored there too).
 *
 * Writing appends to an rl_buf, reserving room for blocks of rows and filling
 * it without per-value checks; the quoted form of each string level is built
 * once per column. Missing values are written as empty fields ("" in a
 * one-column table, so that the row is not a blank line); text that would
 * read back as missing (NA, ?, the empty string) is quoted.
 *
 * Thread safety: reentrant.
 */
#include "base/mem.h"
#include "data/io_impl.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { T_SEP, T_EOL, T_EOF };

typedef struct csv {
    const unsigned char *data; /* after the BOM */
    const unsigned char *p;    /* the cursor */
    const unsigned char *end;
    unsigned char sep;
    unsigned char stop[256];  /* bytes that end the fast scan of an unquoted field */
    const unsigned char *blk; /* find_stop's block of 64 bytes, and its stop bits */
    uint64_t bits;
    size_t line; /* line of the cursor, 1-based */
    size_t max_field;
    const char *src;
    rl_buf scratch; /* unescaped quoted fields */
    rl_error *err;
} csv;

typedef struct field {
    const char *s;
    size_t n;
    int quoted;
} field;

static const char *sep_name(unsigned char sep)
{
    return sep == '\t' ? "tab" : "comma";
}

static int bad_utf8(csv *x, const unsigned char *p, size_t colno)
{
    if (*p == 0)
        return rl_error_set(x->err, RL_EPARSE,
                            "%s:%zu:%zu: NUL byte in field %zu; the file is binary or not "
                            "UTF-8 (UTF-16?): save it as UTF-8 text",
                            x->src, x->line, colno, colno);
    return rl_error_set(x->err, RL_EPARSE,
                        "%s:%zu:%zu: invalid UTF-8 (byte 0x%02X) in field %zu; the data must "
                        "be UTF-8: convert the file (e.g. iconv -f latin1 -t utf-8)",
                        x->src, x->line, colno, (unsigned)*p, colno);
}

static int too_long(csv *x, size_t line, size_t colno, size_t n)
{
    return rl_error_set(x->err, RL_ETOOBIG,
                        "%s:%zu:%zu: field %zu is %zu bytes, over the limit of %zu; raise the "
                        "field size limit or check for a stray quote",
                        x->src, line, colno, colno, n, x->max_field);
}

/* Counts line breaks and validates bytes in a quoted span. */
static int scan_span(csv *x, const unsigned char *p, const unsigned char *q, size_t colno)
{
    while (p < q) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x80) {
            p++;
            continue;
        }
        if (c == '\n') {
            x->line++;
        } else if (c == '\r') {
            if (p + 1 == q || p[1] != '\n') x->line++;
        } else if (c == 0 || c >= 0x80) {
            size_t k = rl_utf8_seq(p, x->end);
            if (!k || p + k > q) return bad_utf8(x, p, colno);
            p += k;
            continue;
        }
        p++;
    }
    return RL_OK;
}

/* Consumes the line end at p (CR, LF or CRLF). */
static const unsigned char *eol(csv *x, const unsigned char *p)
{
    if (*p == '\r' && p + 1 < x->end && p[1] == '\n') return p + 2;
    return p + 1;
}

static int quoted_field(csv *x, size_t colno, field *f, int *term)
{
    const unsigned char *s = x->p + 1, *p = s, *e = x->end, *q;
    size_t open_line = x->line;
    int escaped = 0, rc;
    for (;;) {
        q = memchr(p, '"', (size_t)(e - p));
        if (!q)
            return rl_error_set(x->err, RL_EPARSE,
                                "%s:%zu:%zu: the quote that opens field %zu is never closed; "
                                "close it, or double quotes inside a quoted value (\"\")",
                                x->src, open_line, colno, colno);
        if ((rc = scan_span(x, p, q, colno))) return rc;
        if (q + 1 < e && q[1] == '"') {
            escaped = 1;
            p = q + 2;
            continue;
        }
        break;
    }
    size_t raw = (size_t)(q - s);
    if (raw > x->max_field) return too_long(x, open_line, colno, raw);
    p = q + 1;
    if (p == e) {
        *term = T_EOF;
    } else if (*p == x->sep) {
        *term = T_SEP;
        p++;
    } else if (*p == '\n' || *p == '\r') {
        *term = T_EOL;
        p = eol(x, p);
        x->line++;
    } else {
        return rl_error_set(x->err, RL_EPARSE,
                            "%s:%zu:%zu: text after the closing quote of field %zu; quote the "
                            "whole value and double the quotes inside it (\"\")",
                            x->src, x->line, colno, colno);
    }
    x->p = p;
    f->quoted = 1;
    if (!escaped) {
        f->s = (const char *)s;
        f->n = raw;
        return RL_OK;
    }
    x->scratch.len = 0;
    if (rl_buf_reserve(&x->scratch, raw))
        return rl_error_set(x->err, RL_ENOMEM, "out of memory reading %s", x->src);
    char *w = x->scratch.data;
    for (const unsigned char *r = s; r < q; r++) {
        *w++ = (char)*r;
        if (*r == '"') r++; /* a doubled quote: keep one */
    }
    f->s = x->scratch.data;
    f->n = (size_t)(w - x->scratch.data);
    return RL_OK;
}

/* ---- finding the bytes that end an unquoted field ----
 *
 * stop_mask gives a bit for each of 64 bytes that is the separator, a quote,
 * CR, LF, NUL or >= 0x80 (SSE2 where the compiler has it, the stop table
 * otherwise); find_stop keeps the mask of the current block so that a row's
 * fields are found with a shift and a count of trailing zeros each. Within 64
 * bytes of the end the scan is bytewise, never reading past the input.
 */

static uint64_t stop_mask(const csv *x, const unsigned char *p)
{
#ifdef __SSE2__
    const __m128i vs = _mm_set1_epi8((char)x->sep), vq = _mm_set1_epi8('"'),
                  vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r'), vz = _mm_setzero_si128();
    uint64_t m = 0;
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        __m128i t = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vs), _mm_cmpeq_epi8(v, vq)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, vn), _mm_cmpeq_epi8(v, vr)));
        t = _mm_or_si128(t, _mm_or_si128(_mm_cmpeq_epi8(v, vz), v)); /* v: the high bit */
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(t) << (16 * i);
    }
    return m;
#else
    uint64_t m = 0;
    for (int i = 0; i < 64; i++)
        m |= (uint64_t)x->stop[p[i]] << i;
    return m;
#endif
}

static inline const unsigned char *find_stop(csv *x, const unsigned char *p)
{
    for (;;) {
        uintptr_t off = (uintptr_t)p - (uintptr_t)x->blk;
        if (off < 64) {
            uint64_t m = x->bits >> off;
            if (m) return p + __builtin_ctzll(m);
            p = x->blk + 64;
        }
        if (x->end - p < 64) {
            while (p < x->end && !x->stop[*p])
                p++;
            return p;
        }
        x->blk = p;
        x->bits = stop_mask(x, p);
    }
}

/* The rest of an unquoted field from s whose scan stopped at p on something
 * other than the separator: a line end, the end, non-ASCII text or a quote. */
static int field_slow(csv *x, const unsigned char *s, const unsigned char *p, size_t colno,
                      field *f, int *term)
{
    const unsigned char *e = x->end;
    for (;;) {
        if (p == e) {
            *term = T_EOF;
            break;
        }
        unsigned c = *p;
        if (c == x->sep) {
            *term = T_SEP;
            break;
        }
        if (c == '\n' || c == '\r') {
            *term = T_EOL;
            break;
        }
        if (c == '"')
            return rl_error_set(x->err, RL_EPARSE,
                                "%s:%zu:%zu: a quote inside unquoted field %zu; quote the whole "
                                "value and double the quotes inside it (\"\")",
                                x->src, x->line, colno, colno);
        size_t k = rl_utf8_seq(p, e);
        if (!k) return bad_utf8(x, p, colno);
        p = find_stop(x, p + k);
    }
    f->s = (const char *)s;
    f->n = (size_t)(p - s);
    f->quoted = 0;
    if (f->n > x->max_field) return too_long(x, x->line, colno, f->n);
    if (*term == T_SEP) {
        p++;
    } else if (*term == T_EOL) {
        p = eol(x, p);
        x->line++;
    }
    x->p = p;
    return RL_OK;
}

/* Scans the field at the cursor: sets f and *term (what ended it), moves the
 * cursor past the separator or line end. The common case, a plain field
 * ended by the separator, stays inline. */
static inline __attribute__((always_inline)) int next_field(csv *x, size_t colno, field *f,
                                                            int *term)
{
    const unsigned char *s = x->p;
    if (s < x->end && *s == '"') return quoted_field(x, colno, f, term);
    const unsigned char *p = find_stop(x, s);
    if (p < x->end && *p == x->sep && (size_t)(p - s) <= x->max_field) {
        f->s = (const char *)s;
        f->n = (size_t)(p - s);
        f->quoted = 0;
        *term = T_SEP;
        x->p = p + 1;
        return RL_OK;
    }
    return field_slow(x, s, p, colno, f, term);
}

static inline int is_missing(const field *f)
{
    if (f->n == 0) return 1;
    if (f->quoted) return 0;
    return (f->n == 1 && f->s[0] == '?') || (f->n == 2 && f->s[0] == 'N' && f->s[1] == 'A');
}

static int ragged(csv *x, size_t line, size_t nfields, size_t ncols)
{
    if (nfields > ncols)
        return rl_error_set(x->err, RL_EPARSE,
                            "%s:%zu:%zu: row has %zu fields, the header has %zu; quote values "
                            "that contain a %s",
                            x->src, line, ncols + 1, nfields, ncols, sep_name(x->sep));
    return rl_error_set(x->err, RL_EPARSE,
                        "%s:%zu:%zu: row has %zu field%s, the header has %zu; add the missing "
                        "fields (empty for a missing value)",
                        x->src, line, nfields, nfields, nfields == 1 ? "" : "s", ncols);
}

/* A missing row (a blank line in a one-column file). */
static int blank_row(rl_ingest *in, int refill, size_t row)
{
    if (refill) return row < in->cols[0].refill ? rl_ingest_refill_put(in, 0, row, "", 0, 1) : 0;
    int rc = rl_ingest_grow(in);
    if (rc) return rc;
    rl_ingest_put(in, 0, "", 0, 1, 0, 0);
    in->nrows++;
    return RL_OK;
}

/* Reads the data rows from the cursor. refill: the rescan of the rows that
 * columns turned to text lost, stopping after row `stop`. */
static int read_rows(csv *x, rl_ingest *in, int refill, size_t stop)
{
    size_t ncols = in->ncols, row = 0, blanks = 0;
    int rc = RL_OK;
    while (x->p < x->end && (!refill || row < stop)) {
        if (*x->p == '\n' || *x->p == '\r') {
            x->p = eol(x, x->p);
            x->line++;
            if (ncols == 1) blanks++;
            continue;
        }
        for (; blanks; blanks--, row++)
            if ((rc = blank_row(in, refill, row))) return rc;
        if (!refill && (rc = rl_ingest_grow(in))) return rc;
        size_t line = x->line, j = 0;
        int term;
        do {
            field f;
            size_t fline = x->line;
            if ((rc = next_field(x, j + 1, &f, &term))) return rc;
            if (j < ncols) {
                if (!refill)
                    rc = rl_ingest_put(in, j, f.s, f.n, is_missing(&f), fline, j + 1);
                else if (row < in->cols[j].refill)
                    rc = rl_ingest_refill_put(in, j, row, f.s, f.n, is_missing(&f));
                if (rc) return rc;
            }
            j++;
        } while (term == T_SEP);
        if (j != ncols) return ragged(x, line, j, ncols);
        if (!refill) in->nrows++;
        row++;
    }
    return RL_OK;
}

/* A guess at the number of rows from [p, e), to size the column arrays once:
 * line ends in the first 64 KiB, scaled to the whole (the arrays grow when
 * the guess is short), and never more than the fields could fill. */
static size_t guess_rows(const unsigned char *p, const unsigned char *e, size_t ncols)
{
    size_t len = (size_t)(e - p), sample = len < 65536 ? len : 65536, n = 0;
    for (const unsigned char *q = p; (q = memchr(q, '\n', (size_t)(p + sample - q))); q++)
        n++;
    size_t guess =
        sample == len ? n + 1 : (size_t)((double)n * ((double)len / (double)sample) * 1.05) + 16;
    size_t bound = len / (ncols > 1 ? ncols - 1 : 1) + 1; /* a row has ncols - 1 separators */
    return guess < bound ? guess : bound;
}

int rl_csv_read(const char *data, size_t len, char sep, const rl_read_opts *opts,
                const char *source, rl_table **out, rl_error *err)
{
    csv x;
    memset(&x, 0, sizeof x);
    x.data = (const unsigned char *)data;
    x.end = x.data + len;
    x.sep = (unsigned char)sep;
    x.line = 1;
    x.max_field = opts && opts->max_field ? opts->max_field : (size_t)1 << 20;
    x.src = source;
    x.err = err;
    rl_buf_init(&x.scratch);
    x.stop[x.sep] = x.stop['"'] = x.stop['\n'] = x.stop['\r'] = x.stop[0] = 1;
    for (unsigned c = 0x80; c < 256; c++)
        x.stop[c] = 1;

    rl_ingest in;
    int have_in = 0, rc;
    struct name {
        size_t off, n;
    } *names = NULL; /* header fields, their text copied into hdr */
    rl_buf hdr = RL_BUF_INIT;
    size_t nnames = 0, cap = 0;

    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) x.data += 3;
    if (x.end - x.data >= 2 &&
        ((x.data[0] == 0xFF && x.data[1] == 0xFE) || (x.data[0] == 0xFE && x.data[1] == 0xFF))) {
        rc = rl_error_set(err, RL_EPARSE, "%s:1:1: the data is UTF-16; save it as UTF-8", source);
        goto done;
    }
    x.p = x.data;
    while (x.p < x.end && (*x.p == '\n' || *x.p == '\r')) { /* blank lines before the header */
        x.p = eol(&x, x.p);
        x.line++;
    }
    if (x.p == x.end) {
        rc = rl_error_set(err, RL_EPARSE,
                          "%s:%zu:1: no header row: the input is empty; the first line must "
                          "name the columns",
                          source, x.line);
        goto done;
    }
    size_t hline = x.line;
    int term;
    do {
        field f;
        if ((rc = next_field(&x, nnames + 1, &f, &term))) goto done;
        if (nnames == cap) {
            cap = cap ? cap * 2 : 16;
            struct name *nn = rl_reallocarray(names, cap, sizeof *nn);
            if (!nn) goto oom;
            names = nn;
        }
        names[nnames].off = hdr.len;
        names[nnames].n = f.n;
        nnames++;
        if (rl_buf_append(&hdr, f.s, f.n)) goto oom;
    } while (term == T_SEP);

    const unsigned char *body = x.p;
    size_t body_line = x.line;
    if ((rc = rl_ingest_init(&in, source, nnames, guess_rows(body, x.end, nnames), err))) goto done;
    have_in = 1;
    for (size_t j = 0; j < nnames; j++) {
        const char *s = hdr.data ? hdr.data + names[j].off : "";
        if ((rc = rl_ingest_set_name(&in, j, s, names[j].n, hline, j + 1))) goto done;
    }
    if ((rc = rl_ingest_apply_overrides(&in, opts))) goto done;
    if ((rc = read_rows(&x, &in, 0, 0))) goto done;
    size_t refill = rl_ingest_refill_rows(&in);
    if (refill) {
        x.p = body;
        x.line = body_line;
        if ((rc = read_rows(&x, &in, 1, refill))) goto done;
    }
    have_in = 0;
    rc = rl_ingest_finish(&in, out);
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory reading the header of %s", source);
done:
    if (have_in) rl_ingest_fini(&in);
    rl_free(names);
    rl_buf_fini(&hdr);
    rl_buf_fini(&x.scratch);
    return rc;
}

/* ---- writing ---- */

typedef struct rep {
    const char *s; /* the text to write, or NULL while it sits in side at off */
    size_t off;
    size_t n;
} rep;

static int needs_quotes(const char *s, size_t n, char sep)
{
    if (n == 0) return 1;
    if ((n == 2 && s[0] == 'N' && s[1] == 'A') || (n == 1 && s[0] == '?')) return 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == sep || c == '"' || c == '\n' || c == '\r') return 1;
    }
    return 0;
}

static int put_quoted(rl_buf *b, const char *s, size_t n)
{
    if (rl_buf_putc(b, '"')) return RL_ENOMEM;
    const char *e = s + n;
    while (s < e) {
        const char *q = memchr(s, '"', (size_t)(e - s));
        const char *upto = q ? q + 1 : e;
        if (rl_buf_append(b, s, (size_t)(upto - s))) return RL_ENOMEM;
        if (q && rl_buf_putc(b, '"')) return RL_ENOMEM; /* double it */
        s = upto;
    }
    return rl_buf_putc(b, '"');
}

static int put_text(rl_buf *b, const char *s, size_t n, char sep)
{
    return needs_quotes(s, n, sep) ? put_quoted(b, s, n) : rl_buf_append(b, s, n);
}

/* For a string column: the text to write for level k (r[k + 1]) and for a
 * missing value (r[0]), and the longest of them in *maxw. Quoted forms are
 * appended to side; their pointers are set by resolve_reps once side stops
 * moving. */
static int build_reps(const rl_column *c, char sep, const char *missing, rl_buf *side, rep **out,
                      size_t *maxw)
{
    size_t nl = rl_levels_count(c->levels);
    rep *r = rl_malloc((nl + 1) * sizeof *r);
    if (!r) return RL_ENOMEM;
    r[0].s = missing;
    r[0].n = strlen(missing);
    size_t w = r[0].n;
    for (size_t k = 0; k < nl; k++) {
        const char *s = rl_levels_get(c->levels, (int32_t)k);
        size_t n = rl_levels_len(c->levels, (int32_t)k);
        if (needs_quotes(s, n, sep)) {
            r[k + 1].s = NULL;
            r[k + 1].off = side->len;
            if (put_quoted(side, s, n)) {
                rl_free(r);
                return RL_ENOMEM;
            }
            n = side->len - r[k + 1].off;
        } else {
            r[k + 1].s = s;
        }
        r[k + 1].n = n;
        if (n > w) w = n;
    }
    *out = r;
    *maxw = w;
    return RL_OK;
}

static void resolve_reps(rep *r, size_t nl, const rl_buf *side)
{
    for (size_t k = 1; k <= nl; k++)
        if (!r[k].s) r[k].s = side->data + r[k].off;
}

int rl_csv_write(rl_buf *out, char sep, const rl_table *t, rl_error *err)
{
    return rl_csv_write_to(out, sep, t, NULL, NULL, err);
}

/* Hands out's text to fn and empties it. */
static int drain(rl_buf *out, rl_write_fn fn, void *ctx, rl_error *err)
{
    int rc = out->len ? fn(ctx, out->data, out->len, err) : RL_OK;
    out->len = 0;
    return rc;
}

int rl_csv_write_to(rl_buf *out, char sep, const rl_table *t, rl_write_fn fn, void *ctx,
                    rl_error *err)
{
    size_t ncols = rl_table_ncols(t), nrows = rl_table_nrows(t);
    size_t start_len = out->len;
    rep **reps = NULL;
    const rl_column **cols = NULL;
    rl_buf side = RL_BUF_INIT;
    int rc = RL_OK;
    if (ncols == 0) {
        rc = rl_error_set(err, RL_EINVAL, "the table has no columns; there is nothing to write");
        goto done;
    }
    reps = rl_calloc(ncols, sizeof *reps);
    cols = rl_calloc(ncols, sizeof *cols);
    if (!reps || !cols) goto oom;
    for (size_t j = 0; j < ncols; j++) {
        const rl_column *c = cols[j] = rl_table_col(t, j);
        if (!c->name[0]) {
            rc = rl_error_set(err, RL_EINVAL,
                              "column %zu has an empty name, which a header cannot hold; name "
                              "it first",
                              j + 1);
            goto done;
        }
        size_t n = strlen(c->name);
        /* A first name starting with U+FEFF would read back as a byte-order mark. */
        int bom = j == 0 && n >= 3 && memcmp(c->name, "\xEF\xBB\xBF", 3) == 0;
        if ((j && rl_buf_putc(out, sep)) ||
            (bom ? put_quoted(out, c->name, n) : put_text(out, c->name, n, sep)))
            goto oom;
    }
    if (rl_buf_putc(out, '\n')) goto oom;

    /* A missing value in a one-column table is written "" so that its row is
     * not a blank line. */
    const char *missing = ncols == 1 ? "\"\"" : "";
    size_t nmissing = strlen(missing);
    size_t rowmax = ncols + 1;
    for (size_t j = 0; j < ncols; j++) {
        size_t w = 32;
        if (cols[j]->type == RL_TYPE_STRING &&
            build_reps(cols[j], sep, missing, &side, &reps[j], &w))
            goto oom;
        if (rowmax > SIZE_MAX / 4 - w) goto oom;
        rowmax += w;
    }
    for (size_t j = 0; j < ncols; j++)
        if (reps[j]) resolve_reps(reps[j], rl_levels_count(cols[j]->levels), &side);

    size_t block = rowmax >= ((size_t)1 << 20) ? 1 : ((size_t)1 << 20) / rowmax;
    for (size_t i = 0; i < nrows; i++) {
        if (i % block == 0) {
            if (fn && (rc = drain(out, fn, ctx, err))) goto done;
            size_t rows = nrows - i < block ? nrows - i : block;
            if (rl_buf_reserve(out, rows * rowmax)) goto oom;
        }
        char *w = out->data + out->len;
        for (size_t j = 0; j < ncols; j++) {
            const rl_column *c = cols[j];
            if (j) *w++ = sep;
            if (c->type == RL_TYPE_STRING) {
                const rep *r = &reps[j][c->codes[i] + 1];
                memcpy(w, r->s, r->n);
                w += r->n;
                continue;
            }
            double v = c->num[i];
            if (isnan(v)) {
                memcpy(w, missing, nmissing);
                w += nmissing;
            } else if (c->type == RL_TYPE_BOOLEAN) {
                memcpy(w, v != 0 ? "true" : "false", v != 0 ? 4 : 5);
                w += v != 0 ? 4 : 5;
            } else {
                w += rl_format_number(w, v);
            }
        }
        *w++ = '\n';
        out->len = (size_t)(w - out->data);
    }
    if (fn && (rc = drain(out, fn, ctx, err))) goto done;
    if (out->data) out->data[out->len] = '\0';
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory writing %zu rows", nrows);
done:
    if (rc) { /* the buffer keeps what it had */
        out->len = start_len;
        if (out->data) out->data[out->len] = '\0';
    }
    if (reps)
        for (size_t j = 0; j < ncols; j++)
            rl_free(reps[j]);
    rl_free(reps);
    rl_free(cols);
    rl_buf_fini(&side);
    return rc;
}
