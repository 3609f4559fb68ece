/* buf.h - a growable byte buffer, and fast number formatting into it.
 *
 * The buffer owns its bytes; rl_buf_take() hands them to the caller. data is
 * always NUL-terminated past len (when data is not NULL) so it can be used as a
 * C string. Append functions return RL_OK or RL_ENOMEM; after a failure the
 * buffer keeps what it had.
 *
 * Thread safety: a buffer belongs to one thread at a time.
 */
#ifndef RL_BASE_BUF_H
#define RL_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct rl_buf {
    char *data;
    size_t len;
    size_t cap;
} rl_buf;

#define RL_BUF_INIT {NULL, 0, 0}

void rl_buf_init(rl_buf *b);
/* Frees the bytes and resets b to empty. */
void rl_buf_fini(rl_buf *b);
/* Makes room for at least `extra` more bytes (plus the NUL). */
int rl_buf_reserve(rl_buf *b, size_t extra);
int rl_buf_append(rl_buf *b, const void *p, size_t n);
int rl_buf_puts(rl_buf *b, const char *s);
int rl_buf_putc(rl_buf *b, char c);
int rl_buf_printf(rl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the shortest decimal text that reads back as exactly v (integers
 * without a decimal point); NaN appends nothing (a missing value). */
int rl_buf_put_double(rl_buf *b, double v);
int rl_buf_put_i64(rl_buf *b, int64_t v);
/* Hands the bytes to the caller (who frees them with rl_free) and empties b.
 * Returns NULL for an empty buffer that never allocated. */
char *rl_buf_take(rl_buf *b, size_t *len);

/* Writes the shortest round-trip text of v into out (at least 32 bytes), with
 * no NUL; returns its length. NaN gives 0. */
size_t rl_format_double(char *out, double v);

#endif
