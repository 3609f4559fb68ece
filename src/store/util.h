/* util.h - small checks shared by the store backends (private to src/store).
 *
 * Thread safety: pure functions, callable from any thread.
 */
#ifndef RL_STORE_UTIL_H
#define RL_STORE_UTIL_H

#include <stddef.h>

/* Offset of the first byte of s[0..n) that is not part of well-formed UTF-8
 * (overlong forms, surrogates, code points above U+10FFFF and NUL bytes
 * count as malformed), or n when all of it is well-formed. */
size_t rl_store_utf8_bad(const char *s, size_t n);

/* 1 when s is exactly 64 lowercase hex digits (a SHA-256 in hex). */
int rl_store_is_sha256_hex(const char *s);

#endif
