/* buf.c - growable buffer and shortest round-trip number formatting. */
#include "base/buf.h"
#include "base/error.h"
#include "base/mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
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

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Exact arithmetic on a = f / 2^k (f < 2^53 its significand, 3 <= k <= 66
 * for 1e-4 <= a < 1e15): products stay below 2^125. */
__extension__ typedef unsigned __int128 u128;

static const uint64_t P10[20] = {1ull,
                                 10ull,
                                 100ull,
                                 1000ull,
                                 10000ull,
                                 100000ull,
                                 1000000ull,
                                 10000000ull,
                                 100000000ull,
                                 1000000000ull,
                                 10000000000ull,
                                 100000000000ull,
                                 1000000000000ull,
                                 10000000000000ull,
                                 100000000000000ull,
                                 1000000000000000ull,
                                 10000000000000000ull,
                                 100000000000000000ull,
                                 1000000000000000000ull,
                                 10000000000000000000ull};

static u128 pow10_u128(int d) /* 0 <= d <= 21 */
{
    return d < 20 ? (u128)P10[d] : (u128)P10[19] * P10[d - 19];
}

/* m, the d-digit decimal nearest a (a * 10^d rounded half to even, as
 * printf rounds), and whether
 * m / 10^d reads back as a: |m / 10^d - a| is under half the gap to a's
 * neighbour on that side (a quarter below a power of two, whose lower gap is
 * half), or exactly half with a's significand even (strtod's ties-to-even). */
static int nearest(uint64_t f, int k, int d, uint64_t *m)
{
    u128 p = pow10_u128(d), num = (u128)f * p;
    u128 q = num >> k, rem = num - (q << k), half = (u128)1 << (k - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    *m = (uint64_t)q;
    u128 back = q << k;
    int below = back < num;
    u128 diff = below ? num - back : back - num;
    diff *= (below && f == (uint64_t)1 << 52) ? 4 : 2;
    return diff < p || (diff == p && !(f & 1));
}

/* The shortest fixed-point text of a (1e-4 <= a < 1e15, not an integer)
 * that reads back as a, or 0 when it needs the general path: the nearest
 * decimal of s significant digits for the smallest s that reads back (17
 * always does), in exact integer arithmetic. What %.15g/%.16g/%.17g would
 * give, without printf or strtod, about ten times faster: the scores relearn
 * writes (probabilities) need 16 or 17 digits. */
static size_t format_fixed(char *out, double v)
{
    double a = fabs(v);
    int intd = 0; /* digits before the point */
    while (intd < 15 && a >= POW10[intd])
        intd++;
    int lead = 0; /* zeros after the point before the first digit */
    if (intd == 0)
        while (lead < 4 && a < 1.0 / POW10[lead + 1])
            lead++;
    int e;
    double fr = frexp(a, &e); /* a = fr * 2^e, 0.5 <= fr < 1 */
    uint64_t f = (uint64_t)ldexp(fr, 53), m;
    int k = 53 - e;
    /* Reading back is monotonic in the digits (the nearest decimal of s + 1
     * digits is at least as near as that of s), so 16 digits are tried
     * first: scores mostly need 16 or 17, and fewer are looked for only when
     * 15 read back. */
    int d15 = intd ? 15 - intd : 15 + lead;
    uint64_t m16;
    if (!nearest(f, k, d15 + 1, &m16)) {
        if (nearest(f, k, d15 + 2, &m)) return fixed_point(out, v < 0, m, d15 + 2);
        return 0;
    }
    if (!nearest(f, k, d15, &m)) return fixed_point(out, v < 0, m16, d15 + 1);
    for (int d = intd ? 0 : lead + 1; d < d15; d++) {
        uint64_t mm;
        if (nearest(f, k, d, &mm)) return fixed_point(out, v < 0, mm, d);
    }
    return fixed_point(out, v < 0, m, d15);
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
