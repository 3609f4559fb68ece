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
