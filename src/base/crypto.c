/* crypto.c - SHA-256, HMAC, randomness and encodings over OpenSSL libcrypto.
 *
 * Base64 goes through EVP_EncodeBlock/EVP_DecodeBlock one 3-byte group (4
 * characters) at a time, translating between the standard and the URL-safe
 * alphabet and adding/removing padding; the strictness checks (alphabet,
 * length, canonical trailing bits) are ours.
 */
#include "base/crypto.h"
#include "base/mem.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

struct rl_sha256_ctx {
    EVP_MD_CTX *md;
    int finished;
};

/* Copies OpenSSL's last error into err (its queue is per-thread and would be
 * overwritten by the next call). */
static int lib_error(rl_error *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else
        memcpy(buf, "no detail", sizeof "no detail");
    ERR_clear_error();
    return rl_error_set(err, RL_ELIB, "OpenSSL %s failed: %s", what, buf);
}

int rl_sha256(const void *data, size_t len, uint8_t out[RL_SHA256_LEN], rl_error *err)
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != RL_SHA256_LEN)
        return lib_error(err, "SHA-256");
    return RL_OK;
}

int rl_sha256_hex(const void *data, size_t len, char out[RL_SHA256_HEX_SIZE], rl_error *err)
{
    uint8_t d[RL_SHA256_LEN];
    int rc = rl_sha256(data, len, d, err);
    if (rc) return rc;
    return rl_hex_encode(d, sizeof d, out, RL_SHA256_HEX_SIZE, err);
}

int rl_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                   uint8_t out[RL_SHA256_LEN], rl_error *err)
{
    static const unsigned char empty[1] = {0};
    if (keylen > INT_MAX)
        return rl_error_set(err, RL_EINVAL, "HMAC key of %zu bytes is too long", keylen);
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), keylen ? key : empty, (int)keylen, data ? data : empty, len, out, &n) ||
        n != RL_SHA256_LEN)
        return lib_error(err, "HMAC-SHA256");
    return RL_OK;
}

int rl_sha256_new(rl_sha256_ctx **out, rl_error *err)
{
    rl_sha256_ctx *c = rl_calloc(1, sizeof *c);
    if (!c) return rl_error_set(err, RL_ENOMEM, "out of memory for a SHA-256 context");
    c->md = EVP_MD_CTX_new();
    if (!c->md) {
        rl_free(c);
        return lib_error(err, "EVP_MD_CTX_new");
    }
    if (!EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) {
        rl_sha256_free(c);
        return lib_error(err, "SHA-256 init");
    }
    *out = c;
    return RL_OK;
}

int rl_sha256_update(rl_sha256_ctx *ctx, const void *data, size_t len, rl_error *err)
{
    if (ctx->finished)
        return rl_error_set(err, RL_ESTATE, "SHA-256 context already finished; use a new one");
    if (len && !EVP_DigestUpdate(ctx->md, data, len)) return lib_error(err, "SHA-256 update");
    return RL_OK;
}

int rl_sha256_final(rl_sha256_ctx *ctx, uint8_t out[RL_SHA256_LEN], rl_error *err)
{
    if (ctx->finished)
        return rl_error_set(err, RL_ESTATE, "SHA-256 context already finished; use a new one");
    unsigned int n = 0;
    ctx->finished = 1;
    if (!EVP_DigestFinal_ex(ctx->md, out, &n) || n != RL_SHA256_LEN)
        return lib_error(err, "SHA-256 final");
    return RL_OK;
}

void rl_sha256_free(rl_sha256_ctx *ctx)
{
    if (!ctx) return;
    EVP_MD_CTX_free(ctx->md);
    rl_free(ctx);
}

int rl_sha256_fd(int fd, uint8_t out[RL_SHA256_LEN], uint64_t *size_out, rl_error *err)
{
    enum { CHUNK = 65536 };
    rl_sha256_ctx *ctx = NULL;
    uint64_t total = 0;
    char *buf = rl_malloc(CHUNK);
    int rc;
    if (!buf) return rl_error_set(err, RL_ENOMEM, "out of memory for a hashing buffer");
    rc = rl_sha256_new(&ctx, err);
    if (rc) goto done;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = rl_error_set(err, RL_EIO, "cannot read the file to hash: %s", strerror(errno));
            goto done;
        }
        if (r == 0) break;
        rc = rl_sha256_update(ctx, buf, (size_t)r, err);
        if (rc) goto done;
        total += (uint64_t)r;
    }
    rc = rl_sha256_final(ctx, out, err);
    if (rc == RL_OK && size_out) *size_out = total;
done:
    rl_sha256_free(ctx);
    rl_free(buf);
    return rc;
}

int rl_random_bytes(void *buf, size_t n, rl_error *err)
{
    unsigned char *p = buf;
    while (n) {
        int chunk = n > (1u << 20) ? (1 << 20) : (int)n;
        if (RAND_bytes(p, chunk) != 1) return lib_error(err, "RAND_bytes");
        p += chunk;
        n -= (size_t)chunk;
    }
    return RL_OK;
}

int rl_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int rl_hex_encode(const void *data, size_t len, char *out, size_t outsize, rl_error *err)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    if (len > (SIZE_MAX - 1) / 2 || outsize < 2 * len + 1)
        return rl_error_set(err, RL_EINVAL, "hex output buffer of %zu bytes is too small for %zu",
                            outsize, len);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
    return RL_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int rl_hex_decode(const char *text, size_t textlen, uint8_t *out, size_t outsize, size_t *outlen,
                  rl_error *err)
{
    if (textlen % 2)
        return rl_error_set(err, RL_EPARSE, "hex text has an odd number of digits (%zu)", textlen);
    if (outsize < textlen / 2)
        return rl_error_set(err, RL_EINVAL, "hex output buffer of %zu bytes is too small for %zu",
                            outsize, textlen / 2);
    for (size_t i = 0; i < textlen; i += 2) {
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0)
            return rl_error_set(err, RL_EPARSE, "hex text has a non-hex character at offset %zu",
                                hi < 0 ? i : i + 1);
    }
    for (size_t i = 0; i < textlen; i += 2)
        out[i / 2] = (uint8_t)(hex_value(text[i]) << 4 | hex_value(text[i + 1]));
    *outlen = textlen / 2;
    return RL_OK;
}

/* Translates in place between the standard and URL-safe base64 alphabets. */
static void to_url(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+')
            s[i] = '-';
        else if (s[i] == '/')
            s[i] = '_';
    }
}

int rl_base64url_encode(const void *data, size_t len, char *out, size_t outsize, rl_error *err)
{
    const unsigned char *p = data;
    if (len > (SIZE_MAX / 4) - 4 || outsize < RL_BASE64URL_LEN(len) + 1)
        return rl_error_set(err, RL_EINVAL,
                            "base64url output buffer of %zu bytes is too small for %zu bytes",
                            outsize, len);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t take = len - i < 3 ? len - i : 3;
        unsigned char quad[5];
        EVP_EncodeBlock(quad, p + i, (int)take);
        size_t chars = take + 1; /* 1 byte -> 2 chars, 2 -> 3, 3 -> 4 */
        memcpy(out + o, quad, chars);
        o += chars;
    }
    to_url(out, o);
    out[o] = '\0';
    return RL_OK;
}

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int rl_base64url_decode(const char *text, size_t textlen, uint8_t *out, size_t outsize,
                        size_t *outlen, rl_error *err)
{
    if (textlen % 4 == 1)
        return rl_error_set(err, RL_EPARSE,
                            "base64url text of %zu characters cannot be complete (length is 1 "
                            "modulo 4)",
                            textlen);
    for (size_t i = 0; i < textlen; i++)
        if (!is_b64url(text[i]))
            return rl_error_set(err, RL_EPARSE,
                                "base64url text has a character outside [A-Za-z0-9_-] at offset "
                                "%zu (padding and whitespace are not accepted)",
                                i);
    size_t need = textlen / 4 * 3 + (textlen % 4 ? textlen % 4 - 1 : 0);
    if (outsize < need)
        return rl_error_set(err, RL_EINVAL,
                            "base64url output buffer of %zu bytes is too small for %zu", outsize,
                            need);
    size_t o = 0;
    for (size_t i = 0; i < textlen; i += 4) {
        size_t chars = textlen - i < 4 ? textlen - i : 4;
        size_t bytes = chars - 1;
        unsigned char quad[5] = {'=', '=', '=', '=', 0}, three[4];
        for (size_t k = 0; k < chars; k++) {
            char c = text[i + k];
            quad[k] = (unsigned char)(c == '-' ? '+' : c == '_' ? '/' : c);
        }
        if (EVP_DecodeBlock(three, quad, 4) != 3)
            return rl_error_set(err, RL_EPARSE, "base64url text is malformed at offset %zu", i);
        if (chars < 4) {
            /* Canonical form: re-encoding the bytes must give the same text,
             * i.e. the unused low bits of the last character are zero. */
            unsigned char again[5];
            EVP_EncodeBlock(again, three, (int)bytes);
            if (memcmp(again, quad, chars) != 0)
                return rl_error_set(err, RL_EPARSE,
                                    "base64url text is not canonical: the last character has "
                                    "unused bits set");
        }
        memcpy(out + o, three, bytes);
        o += bytes;
    }
    *outlen = o;
    return RL_OK;
}

int rl_random_token(const char *prefix, char *out, size_t outsize, rl_error *err)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    uint8_t raw[RL_TOKEN_BYTES];
    if (outsize < plen + RL_TOKEN_LEN + 1)
        return rl_error_set(err, RL_EINVAL, "token buffer of %zu bytes is too small (need %zu)",
                            outsize, plen + RL_TOKEN_LEN + 1);
    int rc = rl_random_bytes(raw, sizeof raw, err);
    if (rc) return rc;
    if (plen) memcpy(out, prefix, plen);
    rc = rl_base64url_encode(raw, sizeof raw, out + plen, outsize - plen, err);
    OPENSSL_cleanse(raw, sizeof raw);
    return rc;
}

int rl_random_hex(size_t nbytes, char *out, size_t outsize, rl_error *err)
{
    uint8_t raw[64];
    if (nbytes > sizeof raw)
        return rl_error_set(err, RL_EINVAL, "at most %zu random bytes per hex id, not %zu",
                            sizeof raw, nbytes);
    if (outsize < 2 * nbytes + 1)
        return rl_error_set(err, RL_EINVAL, "hex id buffer of %zu bytes is too small (need %zu)",
                            outsize, 2 * nbytes + 1);
    int rc = rl_random_bytes(raw, nbytes, err);
    if (rc) return rc;
    return rl_hex_encode(raw, nbytes, out, outsize, err);
}
