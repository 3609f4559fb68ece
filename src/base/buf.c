/* buf.c - growable buffer and shortest round-trip number formatting. */
#include "base/buf.h"
#include "base/error.h"
#include "base/mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rl_buf_init(rl_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void rl_buf_fini(rl_buf *b)
{
    rl_free(b->data);
    rl_buf_init(b);
}

int rl_buf_reserve(rl_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len) return RL_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return RL_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *d = rl_realloc(b->data, cap);
    if (!d) return RL_ENOMEM;
    b->data = d;
    b->cap = cap;
    return RL_OK;
}

int rl_buf_append(rl_buf *b, const void *p, size_t n)
{
    if (rl_buf_reserve(b, n)) return RL_ENOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RL_OK;
}

int rl_buf_puts(rl_buf *b, const char *s)
{
    return rl_buf_append(b, s, strlen(s));
}

int rl_buf_putc(rl_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return RL_OK;
    }
    return rl_buf_append(b, &c, 1);
}

int rl_buf_printf(rl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return RL_EINTERNAL;
    if (rl_buf_reserve(b, (size_t)n)) return RL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RL_OK;
}

static size_t format_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* Writes digits (m, nd digits) as a fixed-point decimal with d fraction
 * digits, trailing zeros of the fraction dropped. */
static size_t fixed_point(char *out, int neg, uint64_t m, int d)
{
    char digits[24];
    int nd = 0;
    while (d > 0 && m % 10 == 0) { /* what %g drops */
        m /= 10;
        d--;
    }
    do {
        digits[nd++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    size_t w = 0;
    if (neg) out[w++] = '-';
    if (nd <= d) { /* 0.000ddd */
        out[w++] = '0';
        out[w++] = '.';
        for (int z = 0; z < d - nd; z++) out[w++] = '0';
        while (nd) out[w++] = digits[--nd];
    } else {
        while (nd > d) out[w++] = digits[--nd];
        if (d) out[w++] = '.';
        while (nd) out[w++] = digits[--nd];
    }
    return w;
}

static const long double POW10L[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L,
    1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L};

/* The shortest fixed-point text of a (1e-4 <= a < 1e15, not an integer)
 * that reads back as a, or 0 when it needs the general path. Up to 15
 * digits the test is exact (m / 10^d == a with both operands exact is
 * strtod's own rounding); 16 and 17 digits are checked with strtod. This is
 * what %.15g/%.16g/%.17g would give, without printf, about ten times faster:
 * the scores relearn writes (probabilities) need 16 or 17 digits. */
static size_t format_fixed(char *out, double v)
{
    double a = fabs(v);
    int intd = 0; /* digits before the point */
    while (intd < 15 && a >= (double)POW10L[intd]) intd++;
    int lead = 0; /* zeros after the point before the first digit */
    if (intd == 0)
        while (lead < 4 && a < (double)POW10L[0] / (double)POW10L[lead + 1]) lead++;
    /* When any text of up to 15 digits reads back as a, the 15-digit one
     * does (the nearest 15-digit decimal is at least as near as a shorter
     * one, and every step here is exact for it): one test spares the
     * shorter ones for the scores that need 16 or 17 digits. */
    int dmax = intd ? 15 - intd : 15 + lead;
    double mmax = nearbyint(a * (double)POW10L[dmax]);
    if (mmax / (double)POW10L[dmax] == a) {
        for (int d = 1; d < dmax; d++) {
            double m = nearbyint(a * (double)POW10L[d]);
            if (m / (double)POW10L[d] == a) return fixed_point(out, v < 0, (uint64_t)m, d);
        }
        return fixed_point(out, v < 0, (uint64_t)mmax, dmax);
    }
    for (int sig = 16; sig <= 17; sig++) {
        int d = intd ? sig - intd : sig + lead;
        if (d > 21) break;
        long double m = nearbyintl((long double)a * POW10L[d]);
        size_t n = fixed_point(out, v < 0, (uint64_t)m, d);
        char tmp[40];
        memcpy(tmp, out, n);
        tmp[n] = '\0';
        if (strtod(tmp, NULL) == v) return n;
    }
    return 0;
}

size_t rl_format_double(char *out, double v)
{
    if (isnan(v)) return 0;
    if (isinf(v)) {
        memcpy(out, v < 0 ? "-Infinity" : "Infinity", v < 0 ? 9 : 8);
        return v < 0 ? 9 : 8;
    }
    /* Integers up to 2^53 print exactly and fast. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        size_t n = 0;
        if (v < 0 || (v == 0 && signbit(v))) {
            if (v == 0) { out[0] = '0'; return 1; }
            out[n++] = '-';
            v = -v;
        }
        return n + format_u64(out + n, (uint64_t)v);
    }
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e15) {
        size_t n = format_fixed(out, v);
        if (n) return n;
    }
    /* Shortest of %.15g .. %.17g that reads back exactly. */
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v) return (size_t)n;
    }
    return 0; /* unreachable */
}

int rl_buf_put_double(rl_buf *b, double v)
{
    if (rl_buf_reserve(b, 32)) return RL_ENOMEM;
    b->len += rl_format_double(b->data + b->len, v);
    b->data[b->len] = '\0';
    return RL_OK;
}

int rl_buf_put_i64(rl_buf *b, int64_t v)
{
    if (rl_buf_reserve(b, 24)) return RL_ENOMEM;
    size_t n = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        b->data[b->len + n++] = '-';
        u = 0 - u;
    }
    n += format_u64(b->data + b->len + n, u);
    b->len += n;
    b->data[b->len] = '\0';
    return RL_OK;
}

char *rl_buf_take(rl_buf *b, size_t *len)
{
    char *d = b->data;
    if (len) *len = b->len;
    rl_buf_init(b);
    return d;
}
