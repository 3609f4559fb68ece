/* convert.c - number parsing as the readers do it, and column type conversion.
 *
 * rl_parse_number accepts the decimal grammar [sign] digits [. digits]
 * [(e|E) [sign] digits] with surrounding spaces or tabs, and nothing else (no
 * hex, "NaN", "Infinity", or values that overflow a double). It is exact:
 * every result equals what strtod returns for the same text. Most values take
 * a fast path (Clinger's): when the significant digits fit in 53 bits and the
 * decimal exponent is at most 22 in magnitude, the value is one correctly
 * rounded multiplication or division of two exact doubles. Anything else is
 * rewritten as a canonical "DIGITSeEXP" string on the stack (at most 800
 * significant digits plus a sticky digit, which decides rounding exactly as
 * the full text would: a halfway point between doubles has at most 767
 * significant digits) and handed to strtod. The canonical text holds no
 * decimal point, so the process locale cannot change the result.
 *
 * rl_column_convert builds a new column; it never changes its argument.
 * Both functions are reentrant.
 */
#include "base/buf.h"
#include "base/mem.h"
#include "data/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Exact powers of ten as doubles (10^22 is the largest exact one). */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define SLOW_DIGITS 800

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The slow path: p..e is known to match the grammar (sign already consumed).
 * Builds "DIGITSeEXP" with the significant digits and calls strtod. */
static int parse_slow(const char *p, const char *e, int neg, double *v)
{
    char tmp[SLOW_DIGITS + 48];
    size_t nd = 0;        /* digits in tmp after the sign */
    int sticky = 0;       /* a non-zero digit was dropped */
    long long adjust = 0; /* decimal exponent correction for the kept digits */
    size_t w = 0;
    if (neg) tmp[w++] = '-';
    int frac = 0;
    for (; p < e && (is_digit(*p) || *p == '.'); p++) {
        if (*p == '.') {
            frac = 1;
            continue;
        }
        if (nd == 0 && *p == '0') { /* leading zero */
            if (frac) adjust--;
            continue;
        }
        if (nd < SLOW_DIGITS) {
            tmp[w++] = *p;
            nd++;
            if (frac) adjust--;
        } else {
            if (*p != '0') sticky = 1;
            if (!frac) adjust++;
        }
    }
    if (nd == 0) {
        *v = neg ? -0.0 : 0.0;
        return 1;
    }
    if (sticky) { /* one more digit below the kept ones */
        tmp[w++] = '1';
        adjust--;
    }
    long long ex = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-') eneg = *p++ == '-';
        for (; p < e && is_digit(*p); p++)
            if (ex < 1000000000LL) ex = ex * 10 + (*p - '0');
        if (eneg) ex = -ex;
    }
    ex += adjust;
    if (ex > 99999) ex = 99999; /* beyond these the result is inf or 0 already */
    if (ex < -99999) ex = -99999;
    w += (size_t)snprintf(tmp + w, sizeof tmp - w, "e%lld", ex);
    char *end = NULL;
    double d = strtod(tmp, &end);
    if (end != tmp + w || isinf(d)) return 0;
    *v = d;
    return 1;
}

int rl_parse_number(const char *s, size_t n, double *v)
{
    const char *p = s, *e = s + n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (p == e) return 0;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    const char *start = p;

    uint64_t m = 0;
    int digits = 0, any = 0, inexact = 0;
    long ex = 0;
    for (; p < e && is_digit(*p); p++) {
        any = 1;
        unsigned d = (unsigned)(*p - '0');
        if (digits < 19) {
            m = m * 10 + d;
            if (m) digits++;
        } else {
            ex++;
            inexact |= d != 0;
        }
    }
    if (p < e && *p == '.') {
        for (p++; p < e && is_digit(*p); p++) {
            any = 1;
            unsigned d = (unsigned)(*p - '0');
            if (digits < 19) {
                m = m * 10 + d;
                if (m) digits++;
                ex--;
            } else {
                inexact |= d != 0;
            }
        }
    }
    if (!any) return 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == e || !is_digit(*p)) return 0;
        long x = 0;
        for (; p < e && is_digit(*p); p++)
            if (x < 100000000L) x = x * 10 + (*p - '0');
        ex += eneg ? -x : x;
    }
    if (p != e) return 0;

    if (m == 0 && !inexact) {
        *v = neg ? -0.0 : 0.0;
        return 1;
    }
    if (!inexact && m <= (1ULL << 53) && ex >= -22 && ex <= 22) {
        double d = (double)m;
        d = ex >= 0 ? d * pow10_exact[ex] : d / pow10_exact[-ex];
        *v = neg ? -d : d;
        return 1;
    }
    return parse_slow(start, e, neg, v);
}

/* ---- column conversion ---- */

/* Text of at most 40 bytes of s for a message, with the rest elided. */
static void quote_value(char *out, size_t cap, const char *s, size_t n)
{
    if (n > 40)
        snprintf(out, cap, "'%.40s...'", s);
    else
        snprintf(out, cap, "'%.*s'", (int)n, s);
}

static int parse_bool_text(const char *s, size_t n, double *v)
{
    if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1')) {
        *v = 1.0;
        return 1;
    }
    if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0')) {
        *v = 0.0;
        return 1;
    }
    return 0;
}

/* Text column to numbers or booleans: each level is parsed once. */
static int text_to_num(const rl_column *c, rl_type to, rl_column *r, rl_error *err)
{
    size_t nl = rl_levels_count(c->levels);
    double *val = rl_malloc((nl ? nl : 1) * sizeof *val);
    unsigned char *ok = rl_malloc(nl ? nl : 1);
    int rc = RL_OK;
    if (!val || !ok) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory converting column '%s'", c->name);
        goto done;
    }
    for (size_t k = 0; k < nl; k++) {
        const char *s = rl_levels_get(c->levels, (int32_t)k);
        size_t n = rl_levels_len(c->levels, (int32_t)k);
        ok[k] = (unsigned char)(to == RL_TYPE_NUMERIC ? rl_parse_number(s, n, &val[k])
                                                      : parse_bool_text(s, n, &val[k]));
    }
    for (size_t i = 0; i < c->nrows; i++) {
        int32_t code = c->codes[i];
        if (code < 0) continue; /* r->num[i] is NAN already */
        if (!ok[code]) {
            char q[64];
            quote_value(q, sizeof q, rl_levels_get(c->levels, code),
                        rl_levels_len(c->levels, code));
            rc = rl_error_set(err, RL_ESCHEMA,
                              "column '%s', row %zu: %s is not %s; fix the value or convert "
                              "the column to another type",
                              c->name, i + 1, q,
                              to == RL_TYPE_NUMERIC ? "a number" : "true, false, 0 or 1");
            goto done;
        }
        r->num[i] = val[code];
    }
done:
    rl_free(val);
    rl_free(ok);
    return rc;
}

int rl_column_convert(rl_column *c, rl_type to, rl_column **out, rl_error *err)
{
    if (to != RL_TYPE_NUMERIC && to != RL_TYPE_BOOLEAN && to != RL_TYPE_STRING)
        return rl_error_set(err, RL_EINVAL, "cannot convert column '%s' to unknown type %d",
                            c->name, (int)to);
    if (c->type == to) {
        *out = rl_column_ref(c);
        return RL_OK;
    }
    rl_column *r = rl_column_new(c->name, to, c->nrows);
    if (!r) return rl_error_set(err, RL_ENOMEM, "out of memory converting column '%s'", c->name);
    r->flags = c->flags;
    int rc = RL_OK;
    if (c->type == RL_TYPE_STRING) {
        rc = text_to_num(c, to, r, err);
    } else if (to == RL_TYPE_STRING) {
        char tmp[32];
        for (size_t i = 0; i < c->nrows; i++) {
            if (isnan(c->num[i])) continue;
            size_t n;
            const char *s = rl_column_text(c, i, tmp, &n);
            int32_t code = rl_levels_intern(r->levels, s, n);
            if (code < 0) {
                rc = rl_error_set(err, RL_ENOMEM, "out of memory converting column '%s'", c->name);
                break;
            }
            r->codes[i] = code;
        }
    } else if (to == RL_TYPE_BOOLEAN) { /* numeric to boolean: 0 and 1 only */
        for (size_t i = 0; i < c->nrows; i++) {
            double v = c->num[i];
            if (isnan(v)) continue;
            if (v != 0.0 && v != 1.0) {
                char tmp[32];
                size_t n = rl_format_double(tmp, v);
                rc = rl_error_set(err, RL_ESCHEMA,
                                  "column '%s', row %zu: %.*s is not 0 or 1, so it cannot "
                                  "become a boolean; fix the value or keep the column numeric",
                                  c->name, i + 1, (int)n, tmp);
                break;
            }
            r->num[i] = v;
        }
    } else { /* boolean to numeric: 0.0 / 1.0 stay */
        memcpy(r->num, c->num, c->nrows * sizeof *r->num);
    }
    if (rc) {
        rl_column_unref(r);
        return rc;
    }
    *out = r;
    return RL_OK;
}
