/* mem.c - allocation wrappers with a fault-injection countdown. */
#include "base/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;

static int should_fail(void)
{
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (c < 0) return 0;
    if (c == 0) return 1;
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void rl_mem_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

void rl_mem_fail_reset(void)
{
    atomic_store(&fail_countdown, -1);
}

void *rl_malloc(size_t n)
{
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *rl_calloc(size_t count, size_t size)
{
    if (should_fail()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *rl_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void *rl_reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return rl_realloc(p, count * size);
}

void rl_free(void *p)
{
    free(p);
}

char *rl_strndup(const char *s, size_t n)
{
    char *d = rl_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *rl_strdup(const char *s)
{
    return rl_strndup(s, strlen(s));
}
