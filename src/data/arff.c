/* arff.c - ARFF (Weka's Attribute-Relation File Format) reading and writing.
 *
 * The reader takes the input line by line. The header: @relation (its name is
 * ignored), @attribute NAME TYPE with TYPE numeric, real, integer, string,
 * date [format] (read as text) or a nominal {v1, v2, ...}; names and values
 * may be quoted with ' or " and use backslash escapes (\n \r \t \\ \' \" \%).
 * Keywords are case-insensitive; '%' starts a comment anywhere outside quotes;
 * blank lines are skipped. After @data each line is one row of comma-separated
 * values, '?' missing. Sparse rows ({0 x, 3 y}), instance weights and
 * relational attributes are refused with a message. Values go through the
 * column builder (io_impl.h) with the declared types forced, so a nominal
 * column is a categorical string column whose levels are the declared values
 * in declared order, and a value outside them is an error naming its line.
 *
 * The writer maps numeric columns to numeric, categorical text to a nominal of
 * its levels, other text to string, booleans to {false,true}; missing values
 * are '?'; names and values that need it are single-quoted.
 *
 * Thread safety: reentrant.
 */
#include "base/mem.h"
#include "data/io_impl.h"

#include <math.h>
#include <string.h>
#include <strings.h>

typedef struct arff {
    const char *src;
    const char *p, *end; /* the cursor: start of the next line */
    size_t line;         /* line number of the current line */
    const char *ls, *le; /* the current line, without its line end */
    rl_buf scratch;      /* unescaped quoted text */
    rl_error *err;
} arff;

typedef struct attr {
    char *name;
    size_t line;
    rl_type type;
    rl_levels *nominal; /* NULL unless nominal */
} attr;

/* Moves to the next line; 0 at the end of the input. */
static int next_line(arff *a)
{
    if (a->p >= a->end) return 0;
    a->line++;
    a->ls = a->p;
    const char *nl = memchr(a->p, '\n', (size_t)(a->end - a->p));
    a->le = nl ? nl : a->end;
    a->p = nl ? nl + 1 : a->end;
    if (a->le > a->ls && a->le[-1] == '\r') a->le--;
    return 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static const char *skip_space(const char *p, const char *e)
{
    while (p < e && is_space(*p))
        p++;
    return p;
}

static size_t colno_of(const arff *a, const char *p)
{
    return (size_t)(p - a->ls) + 1;
}

static int parse_error(arff *a, const char *at, const char *what)
{
    return rl_error_set(a->err, RL_EPARSE, "%s:%zu:%zu: %s", a->src, a->line, colno_of(a, at),
                        what);
}

/* A quoted token at *pp (opening quote ' or "): unescapes it into scratch,
 * sets *s and *n to it and moves *pp past the closing quote. */
static int quoted(arff *a, const char **pp, const char **s, size_t *n)
{
    const char *p = *pp, *e = a->le;
    char q = *p++;
    a->scratch.len = 0;
    if (rl_buf_reserve(&a->scratch, (size_t)(e - p)))
        return rl_error_set(a->err, RL_ENOMEM, "out of memory reading %s", a->src);
    char *w = a->scratch.data;
    for (;; p++) {
        if (p >= e)
            return parse_error(a, *pp,
                               "the quote is never closed on this line; close it (write a "
                               "line break inside quotes as \\n)");
        if (*p == q) break;
        if (*p == '\\' && p + 1 < e) {
            char c = *++p;
            switch (c) {
            case 'n':
                *w++ = '\n';
                break;
            case 'r':
                *w++ = '\r';
                break;
            case 't':
                *w++ = '\t';
                break;
            case '\\':
            case '\'':
            case '"':
            case '%':
                *w++ = c;
                break;
            default:
                *w++ = '\\';
                *w++ = c;
            }
            continue;
        }
        *w++ = *p;
    }
    *s = a->scratch.data;
    *n = (size_t)(w - a->scratch.data);
    *w = '\0';
    *pp = p + 1;
    return RL_OK;
}

/* A word: up to a space, or one of stops, or a comment. */
static const char *word_end(const char *p, const char *e, const char *stops)
{
    while (p < e && !is_space(*p) && *p != '%' && !strchr(stops, *p))
        p++;
    return p;
}

/* The end of the line's content: a '%' comment outside quotes ends it. */
static int rest_is_empty(const char *p, const char *e)
{
    p = skip_space(p, e);
    return p == e || *p == '%';
}

static int keyword(const char *p, const char *e, const char *kw)
{
    size_t n = strlen(kw);
    return (size_t)(e - p) >= n && strncasecmp(p, kw, n) == 0 &&
           ((size_t)(e - p) == n || is_space(p[n]) || p[n] == '{' || p[n] == '%');
}

static int check_utf8(arff *a)
{
    size_t n = (size_t)(a->le - a->ls);
    size_t bad = rl_utf8_check(a->ls, n);
    if (bad == n) return RL_OK;
    if (a->ls[bad] == 0)
        return rl_error_set(a->err, RL_EPARSE,
                            "%s:%zu:%zu: NUL byte; the file is binary or not UTF-8 (UTF-16?): "
                            "save it as UTF-8 text",
                            a->src, a->line, bad + 1);
    return rl_error_set(a->err, RL_EPARSE,
                        "%s:%zu:%zu: invalid UTF-8 (byte 0x%02X); the data must be UTF-8: "
                        "convert the file (e.g. iconv -f latin1 -t utf-8)",
                        a->src, a->line, bad + 1, (unsigned)(unsigned char)a->ls[bad]);
}

/* The nominal list at p ('{'): fills *lv with the values in order. */
static int nominal_list(arff *a, const char *p, rl_levels *lv)
{
    const char *e = a->le, *open = p;
    p++;
    p = skip_space(p, e);
    if (p < e && *p == '}')
        return rest_is_empty(p + 1, e) ? RL_OK : parse_error(a, p + 1, "text after '}'; remove it");
    for (;;) {
        p = skip_space(p, e);
        const char *s;
        size_t n;
        const char *at = p;
        int rc;
        if (p < e && (*p == '\'' || *p == '"')) {
            if ((rc = quoted(a, &p, &s, &n))) return rc;
            p = skip_space(p, e);
        } else {
            const char *v = p;
            while (p < e && *p != ',' && *p != '}' && *p != '%')
                p++;
            const char *ve = p;
            while (ve > v && is_space(ve[-1]))
                ve--;
            s = v;
            n = (size_t)(ve - v);
            if (n == 0)
                return parse_error(a, at,
                                   "an empty nominal value; remove the extra comma or "
                                   "quote an empty value ('')");
        }
        if (p >= e || *p == '%')
            return parse_error(a, open,
                               "the nominal list is never closed with '}'; close it "
                               "on the same line");
        size_t before = rl_levels_count(lv);
        int32_t code = rl_levels_intern(lv, s, n);
        if (code < 0) return rl_error_set(a->err, RL_ENOMEM, "out of memory reading %s", a->src);
        if ((size_t)code < before) {
            char q[96];
            rl_msg_value(q, sizeof q, s, n);
            return rl_error_set(a->err, RL_EPARSE,
                                "%s:%zu:%zu: nominal value %s is declared twice; remove one",
                                a->src, a->line, colno_of(a, at), q);
        }
        if (*p == '}') {
            if (!rest_is_empty(p + 1, e)) return parse_error(a, p + 1, "text after '}'; remove it");
            return RL_OK;
        }
        if (*p != ',') return parse_error(a, p, "expected ',' or '}' in the nominal list");
        p++;
    }
}

/* @attribute NAME TYPE, p after the keyword. */
static int attribute(arff *a, const char *p, attr *at)
{
    const char *e = a->le;
    int rc;
    p = skip_space(p, e);
    const char *s;
    size_t n;
    if (p < e && (*p == '\'' || *p == '"')) {
        if ((rc = quoted(a, &p, &s, &n))) return rc;
    } else {
        const char *ne = word_end(p, e, "{");
        s = p;
        n = (size_t)(ne - p);
        p = ne;
    }
    if (n == 0) return parse_error(a, p, "@attribute without a name; write @attribute NAME TYPE");
    at->name = rl_strndup(s, n);
    if (!at->name) return rl_error_set(a->err, RL_ENOMEM, "out of memory reading %s", a->src);
    at->line = a->line;
    p = skip_space(p, e);
    if (p < e && *p == '{') {
        at->type = RL_TYPE_STRING;
        at->nominal = rl_levels_new();
        if (!at->nominal)
            return rl_error_set(a->err, RL_ENOMEM, "out of memory reading %s", a->src);
        return nominal_list(a, p, at->nominal);
    }
    const char *te = word_end(p, e, "");
    if (keyword(p, te, "numeric") || keyword(p, te, "real") || keyword(p, te, "integer")) {
        at->type = RL_TYPE_NUMERIC;
    } else if (keyword(p, te, "string")) {
        at->type = RL_TYPE_STRING;
    } else if (keyword(p, te, "date")) {
        at->type = RL_TYPE_STRING; /* the optional format that follows is ignored */
        return RL_OK;
    } else if (keyword(p, te, "relational")) {
        return parse_error(a, p, "relational attributes are not supported; flatten the data");
    } else {
        char q[96];
        rl_msg_value(q, sizeof q, p, (size_t)(te - p));
        return rl_error_set(a->err, RL_EPARSE,
                            "%s:%zu:%zu: unknown attribute type %s; use numeric, real, integer, "
                            "string, date or a nominal list {a,b}",
                            a->src, a->line, colno_of(a, p), q);
    }
    if (!rest_is_empty(te, e))
        return parse_error(a, te, "text after the attribute type; remove it");
    return RL_OK;
}

/* One @data line with ncols values into the current row. */
static int data_row(arff *a, rl_ingest *in, const char *p)
{
    const char *e = a->le;
    size_t j = 0;
    int rc;
    for (;;) {
        p = skip_space(p, e);
        const char *at = p, *s;
        size_t n;
        int missing;
        if (p < e && (*p == '\'' || *p == '"')) {
            if ((rc = quoted(a, &p, &s, &n))) return rc;
            p = skip_space(p, e);
            missing = 0;
        } else {
            if (p < e && *p == '{')
                return parse_error(a, p, "instance weights ({w}) are not supported; remove them");
            const char *v = p;
            while (p < e && *p != ',' && *p != '%')
                p++;
            const char *ve = p;
            while (ve > v && is_space(ve[-1]))
                ve--;
            s = v;
            n = (size_t)(ve - v);
            missing = n == 0 || (n == 1 && *s == '?');
        }
        if (j < in->ncols) {
            rc = rl_ingest_put(in, j, s, n, missing, a->line, colno_of(a, at));
            if (rc) return rc;
        }
        j++;
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p != '%')
            return parse_error(a, p, "text after a quoted value; separate values with ','");
        break;
    }
    if (j != in->ncols)
        return rl_error_set(a->err, RL_EPARSE,
                            "%s:%zu:1: row has %zu value%s, the header declares %zu attributes; "
                            "%s",
                            a->src, a->line, j, j == 1 ? "" : "s", in->ncols,
                            j > in->ncols ? "quote values that contain a comma"
                                          : "add the missing values ('?' when unknown)");
    return RL_OK;
}

int rl_arff_read(const char *data, size_t len, const rl_read_opts *opts, const char *source,
                 rl_table **out, rl_error *err)
{
    arff a;
    memset(&a, 0, sizeof a);
    a.src = source;
    a.p = data;
    a.end = data + len;
    a.err = err;
    rl_buf_init(&a.scratch);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) a.p += 3;

    attr *attrs = NULL;
    size_t nattrs = 0, cap = 0;
    rl_ingest in;
    int have_in = 0, rc = RL_OK, seen_data = 0;

    while (!seen_data && next_line(&a)) {
        if ((rc = check_utf8(&a))) goto done;
        const char *p = skip_space(a.ls, a.le);
        if (p == a.le || *p == '%') continue;
        const char *ke = word_end(p, a.le, "{");
        if (keyword(p, ke, "@relation")) continue;
        if (keyword(p, ke, "@data")) {
            if (!rest_is_empty(ke, a.le)) {
                rc = parse_error(&a, ke, "text after @data; the rows start on the next line");
                goto done;
            }
            seen_data = 1;
            break;
        }
        if (keyword(p, ke, "@attribute")) {
            if (nattrs == cap) {
                cap = cap ? cap * 2 : 16;
                attr *na = rl_reallocarray(attrs, cap, sizeof *na);
                if (!na) {
                    rc = rl_error_set(err, RL_ENOMEM, "out of memory reading %s", source);
                    goto done;
                }
                attrs = na;
            }
            memset(&attrs[nattrs], 0, sizeof *attrs);
            nattrs++;
            if ((rc = attribute(&a, ke, &attrs[nattrs - 1]))) goto done;
            continue;
        }
        rc = parse_error(&a, p,
                         *p == '@' ? "unknown keyword; expected @relation, @attribute or "
                                     "@data"
                                   : "expected @relation, @attribute or @data (is this "
                                     "an ARFF file?)");
        goto done;
    }
    if (!seen_data) {
        rc = rl_error_set(err, RL_EPARSE,
                          "%s:%zu:1: no @data line; an ARFF file declares its @attribute lines, "
                          "then @data, then the rows",
                          source, a.line ? a.line : 1);
        goto done;
    }
    if (nattrs == 0) {
        rc = rl_error_set(err, RL_EPARSE,
                          "%s:%zu:1: @data before any @attribute; declare the columns first",
                          source, a.line);
        goto done;
    }

    size_t rows = 1;
    for (const char *q = a.p; (q = memchr(q, '\n', (size_t)(a.end - q))); q++)
        rows++;
    if ((rc = rl_ingest_init(&in, source, nattrs, rows, err))) goto done;
    have_in = 1;
    for (size_t j = 0; j < nattrs; j++) {
        attr *t = &attrs[j];
        if ((rc = rl_ingest_set_name(&in, j, t->name, strlen(t->name), t->line, 1))) goto done;
        if ((rc = rl_ingest_force(&in, j, t->type, t->nominal ? RL_COL_CATEGORICAL : 0,
                                  "its @attribute declaration")))
            goto done;
        in.cols[j].nominal = t->nominal; /* the builder owns it now */
        t->nominal = NULL;
    }
    if ((rc = rl_ingest_apply_overrides(&in, opts))) goto done;
    /* Nominal text columns start with the declared values as their levels. */
    for (size_t j = 0; j < nattrs; j++) {
        rl_colb *c = &in.cols[j];
        if (!c->nominal || c->state != RL_COLB_STRING) continue;
        for (size_t k = 0; k < rl_levels_count(c->nominal); k++)
            if (rl_levels_intern(c->levels, rl_levels_get(c->nominal, (int32_t)k),
                                 rl_levels_len(c->nominal, (int32_t)k)) < 0) {
                rc = rl_error_set(err, RL_ENOMEM, "out of memory reading %s", source);
                goto done;
            }
    }

    while (next_line(&a)) {
        if ((rc = check_utf8(&a))) goto done;
        const char *p = skip_space(a.ls, a.le);
        if (p == a.le || *p == '%') continue;
        if (*p == '{') {
            rc = parse_error(&a, p,
                             "sparse ARFF rows ({index value, ...}) are not supported; "
                             "save the data as dense ARFF or CSV");
            goto done;
        }
        if ((rc = rl_ingest_grow(&in))) goto done;
        if ((rc = data_row(&a, &in, p))) goto done;
        in.nrows++;
    }
    have_in = 0;
    rc = rl_ingest_finish(&in, out);
done:
    if (have_in) rl_ingest_fini(&in);
    for (size_t j = 0; j < nattrs; j++) {
        rl_free(attrs[j].name);
        rl_levels_free(attrs[j].nominal);
    }
    rl_free(attrs);
    rl_buf_fini(&a.scratch);
    return rc;
}

/* ---- writing ---- */

static int arff_needs_quotes(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '?')) return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == ',' || c == '\'' || c == '"' || c == '%' || c == '{' || c == '}' ||
            c == '\\')
            return 1;
    }
    return 0;
}

static int put_value(rl_buf *b, const char *s, size_t n)
{
    if (!arff_needs_quotes(s, n)) return rl_buf_append(b, s, n);
    if (rl_buf_reserve(b, 2 * n + 2)) return RL_ENOMEM;
    char *w = b->data + b->len;
    *w++ = '\'';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '\'':
            *w++ = '\\';
            *w++ = '\'';
            break;
        case '\\':
            *w++ = '\\';
            *w++ = '\\';
            break;
        case '\n':
            *w++ = '\\';
            *w++ = 'n';
            break;
        case '\r':
            *w++ = '\\';
            *w++ = 'r';
            break;
        case '\t':
            *w++ = '\\';
            *w++ = 't';
            break;
        default:
            *w++ = c;
        }
    }
    *w++ = '\'';
    b->len = (size_t)(w - b->data);
    b->data[b->len] = '\0';
    return RL_OK;
}

int rl_arff_write(rl_buf *out, const rl_table *t, const char *relation, rl_error *err)
{
    size_t ncols = rl_table_ncols(t), nrows = rl_table_nrows(t), start = out->len;
    int rc = RL_OK;
    if (ncols == 0) {
        rc = rl_error_set(err, RL_EINVAL, "the table has no columns; there is nothing to write");
        goto done;
    }
    if (rl_buf_puts(out, "@relation ") || put_value(out, relation, strlen(relation)) ||
        rl_buf_puts(out, "\n\n"))
        goto oom;
    for (size_t j = 0; j < ncols; j++) {
        const rl_column *c = rl_table_col(t, j);
        if (rl_buf_puts(out, "@attribute ") || put_value(out, c->name, strlen(c->name)) ||
            rl_buf_putc(out, ' '))
            goto oom;
        if (c->type == RL_TYPE_NUMERIC) {
            if (rl_buf_puts(out, "numeric")) goto oom;
        } else if (c->type == RL_TYPE_BOOLEAN) {
            if (rl_buf_puts(out, "{false,true}")) goto oom;
        } else if (c->flags & RL_COL_CATEGORICAL) {
            if (rl_buf_putc(out, '{')) goto oom;
            for (size_t k = 0; k < rl_levels_count(c->levels); k++)
                if ((k && rl_buf_putc(out, ',')) ||
                    put_value(out, rl_levels_get(c->levels, (int32_t)k),
                              rl_levels_len(c->levels, (int32_t)k)))
                    goto oom;
            if (rl_buf_putc(out, '}')) goto oom;
        } else if (rl_buf_puts(out, "string")) {
            goto oom;
        }
        if (rl_buf_putc(out, '\n')) goto oom;
    }
    if (rl_buf_puts(out, "\n@data\n")) goto oom;
    for (size_t i = 0; i < nrows; i++) {
        for (size_t j = 0; j < ncols; j++) {
            const rl_column *c = rl_table_col(t, j);
            if (j && rl_buf_putc(out, ',')) goto oom;
            if (rl_column_is_missing(c, i)) {
                if (rl_buf_putc(out, '?')) goto oom;
            } else if (c->type == RL_TYPE_STRING) {
                if (put_value(out, rl_levels_get(c->levels, c->codes[i]),
                              rl_levels_len(c->levels, c->codes[i])))
                    goto oom;
            } else if (c->type == RL_TYPE_BOOLEAN) {
                if (rl_buf_puts(out, c->num[i] != 0 ? "true" : "false")) goto oom;
            } else {
                char num[32];
                if (rl_buf_append(out, num, rl_format_number(num, c->num[i]))) goto oom;
            }
        }
        if (rl_buf_putc(out, '\n')) goto oom;
    }
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory writing ARFF");
done:
    if (rc) {
        out->len = start;
        if (out->data) out->data[start] = '\0';
    }
    return rc;
}
