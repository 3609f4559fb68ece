/* crypto.h - hashing, MACs, secure randomness and text encodings for secrets.
 *
 * Thin, checked wrappers over OpenSSL's libcrypto: SHA-256 (one-shot and
 * streaming, for large files), HMAC-SHA256, RAND_bytes, a constant-time
 * comparison, hex and unpadded base64url (RFC 4648 section 5) encodings, and
 * URL-safe random tokens for API keys and ids.
 *
 * Decoders are strict on purpose: they refuse characters outside the alphabet,
 * padding, whitespace and non-canonical encodings (base64url text whose unused
 * trailing bits are not zero), so that one byte string has exactly one text
 * form. Signatures and keys compared as text therefore cannot be "the same but
 * spelled differently".
 *
 * Ownership: callers provide every output buffer; nothing here allocates
 * except the streaming context (rl_sha256_new/rl_sha256_free).
 * Thread safety: every function may be called from any thread; a streaming
 * context belongs to one thread at a time.
 * Errors: RL_EINVAL for an output buffer that is too small, RL_EPARSE for
 * malformed text given to a decoder, RL_ELIB when OpenSSL fails, RL_EIO when a
 * file cannot be read.
 */
#ifndef RL_BASE_CRYPTO_H
#define RL_BASE_CRYPTO_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

#define RL_SHA256_LEN 32      /* bytes in a SHA-256 digest */
#define RL_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */
/* Characters (without NUL) of n bytes in unpadded base64url. */
#define RL_BASE64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* Random bytes in an rl_random_token, and its text length (without prefix, NUL). */
#define RL_TOKEN_BYTES 32
#define RL_TOKEN_LEN RL_BASE64URL_LEN(RL_TOKEN_BYTES)

/* SHA-256 of len bytes of data into out (32 bytes). */
int rl_sha256(const void *data, size_t len, uint8_t out[RL_SHA256_LEN], rl_error *err);

/* SHA-256 of data as 64 lowercase hex digits and a NUL. */
int rl_sha256_hex(const void *data, size_t len, char out[RL_SHA256_HEX_SIZE], rl_error *err);

/* HMAC-SHA256 of data under key into out (32 bytes). keylen may be 0. */
int rl_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                   uint8_t out[RL_SHA256_LEN], rl_error *err);

/* Streaming SHA-256 for data that does not fit in memory. */
typedef struct rl_sha256_ctx rl_sha256_ctx;

/* A new context ready for updates; owned by the caller (rl_sha256_free). */
int rl_sha256_new(rl_sha256_ctx **out, rl_error *err);
/* Hashes len more bytes. */
int rl_sha256_update(rl_sha256_ctx *ctx, const void *data, size_t len, rl_error *err);
/* Writes the digest of everything hashed so far. The context cannot be
 * updated afterwards (free it). */
int rl_sha256_final(rl_sha256_ctx *ctx, uint8_t out[RL_SHA256_LEN], rl_error *err);
/* Frees ctx; NULL is fine. */
void rl_sha256_free(rl_sha256_ctx *ctx);

/* SHA-256 of everything readable from fd (from its current offset to EOF),
 * read in 64 KiB chunks. *size_out (may be NULL) receives the byte count.
 * The fd stays open and is left at EOF. */
int rl_sha256_fd(int fd, uint8_t out[RL_SHA256_LEN], uint64_t *size_out, rl_error *err);

/* Fills buf with n cryptographically secure random bytes (RAND_bytes). */
int rl_random_bytes(void *buf, size_t n, rl_error *err);

/* 1 when the n bytes at a and b are equal, 0 otherwise, in time that depends
 * only on n (CRYPTO_memcmp). Use it for every comparison with a secret. */
int rl_ct_equal(const void *a, const void *b, size_t n);

/* Writes 2*len lowercase hex digits and a NUL to out (outsize >= 2*len+1). */
int rl_hex_encode(const void *data, size_t len, char *out, size_t outsize, rl_error *err);

/* Decodes textlen hex digits (either case, no separators, even count) into
 * out; *outlen receives textlen/2. RL_EPARSE for a bad digit or odd length,
 * RL_EINVAL when outsize is too small. */
int rl_hex_decode(const char *text, size_t textlen, uint8_t *out, size_t outsize, size_t *outlen,
                  rl_error *err);

/* Writes RL_BASE64URL_LEN(len) characters of unpadded base64url and a NUL to
 * out (outsize >= RL_BASE64URL_LEN(len) + 1). */
int rl_base64url_encode(const void *data, size_t len, char *out, size_t outsize, rl_error *err);

/* Decodes textlen characters of unpadded, canonical base64url into out;
 * *outlen receives the byte count. RL_EPARSE for '=', '+', '/', whitespace or
 * any other character outside [A-Za-z0-9_-], for a length that is 1 modulo 4,
 * and for non-zero unused trailing bits; RL_EINVAL when outsize is too small
 * (textlen * 3 / 4 bytes always suffice). */
int rl_base64url_decode(const char *text, size_t textlen, uint8_t *out, size_t outsize,
                        size_t *outlen, rl_error *err);

/* A URL-safe random token: prefix (may be NULL or "") followed by
 * RL_TOKEN_BYTES random bytes in base64url, NUL-terminated; outsize must be
 * at least strlen(prefix) + RL_TOKEN_LEN + 1. Suitable for API keys, nonces
 * and management tokens (256 bits of entropy). */
int rl_random_token(const char *prefix, char *out, size_t outsize, rl_error *err);

/* nbytes random bytes as 2*nbytes lowercase hex digits and a NUL (outsize >=
 * 2*nbytes+1). rl_random_hex(16, ...) gives the 32-hex-digit ids of services
 * and jobs. */
int rl_random_hex(size_t nbytes, char *out, size_t outsize, rl_error *err);

#endif
