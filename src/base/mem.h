/* mem.h - allocation with fault injection.
 *
 * All of relearn allocates through these wrappers so that tests can make the
 * N-th allocation fail and check that every failure path cleans up and reports
 * RL_ENOMEM. They behave as malloc/calloc/realloc/free otherwise; rl_free
 * accepts NULL. Memory from third-party libraries (jansson, XGBoost) is not
 * counted.
 *
 * Thread safety: all functions may be called from any thread; the fault
 * injection counter is atomic.
 */
#ifndef RL_BASE_MEM_H
#define RL_BASE_MEM_H

#include <stddef.h>

void *rl_malloc(size_t n);
void *rl_calloc(size_t count, size_t size);
void *rl_realloc(void *p, size_t n);
/* Like rl_realloc for count * size bytes, but returns NULL on overflow. */
void *rl_reallocarray(void *p, size_t count, size_t size);
void rl_free(void *p);
/* Copies s (n bytes, then a NUL); returns NULL when out of memory. */
char *rl_strndup(const char *s, size_t n);
char *rl_strdup(const char *s);

/* Fault injection: after `n` more successful allocations, every allocation
 * fails until rl_mem_fail_reset(). n < 0 disables. For tests only. */
void rl_mem_fail_after(long n);
void rl_mem_fail_reset(void);

#endif
