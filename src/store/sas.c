/* sas.c - signing and verifying blob tokens (see store/sas.h).
 *
 * The query string is split on '&' into at most MAX_PARAMS parameters, each
 * "key=value" (or a bare key), percent-decoded into fixed buffers; anything
 * irregular (an empty parameter, a bad escape, a decoded NUL, a repeated key,
 * an over-long value) makes the token malformed. Only then are the four SAS
 * values checked for their exact canonical forms, the signature recomputed
 * and compared with CRYPTO_memcmp, the expiry and the permissions checked.
 */
#include "store/sas.h"
#include "base/crypto.h"
#include "store/blob.h"

#include <stdio.h>
#include <string.h>

#define MAX_PARAMS 32
#define MAX_KEY 32
#define MAX_VALUE 128

typedef struct param {
    char key[MAX_KEY + 1];
    char value[MAX_VALUE + 1];
} param;

/* Canonical "rwd"-ordered permissions of perms into out[4]; -1 when perms
 * is empty, has another letter or a letter twice. */
static int canonical_perms(const char *perms, char out[4])
{
    static const char order[] = "rwd";
    int have[3] = {0, 0, 0};
    if (!perms || !*perms) return -1;
    for (const char *p = perms; *p; p++) {
        const char *at = strchr(order, *p);
        if (!at || have[at - order]) return -1;
        have[at - order] = 1;
    }
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        if (have[i]) out[n++] = order[i];
    out[n] = '\0';
    return 0;
}

/* The MAC of "1\n<sp>\n<se>\n<address>". */
static int mac(const void *secret, size_t secretlen, const char *sp, const char *se,
               const char *address, uint8_t out[RL_SHA256_LEN], rl_error *err)
{
    char msg[RL_BLOB_ADDRESS_MAX + 64];
    int n = snprintf(msg, sizeof msg, RL_SAS_VERSION "\n%s\n%s\n%s", sp, se, address);
    if (n < 0 || (size_t)n >= sizeof msg)
        return rl_error_set(err, RL_EINVAL, "blob address too long to sign");
    return rl_hmac_sha256(secret, secretlen, msg, (size_t)n, out, err);
}

static int check_secret(const void *secret, size_t secretlen, rl_error *err)
{
    if (!secret || secretlen < RL_SAS_SECRET_MIN)
        return rl_error_set(err, RL_EINVAL,
                            "the blob token secret has %zu bytes; it needs at least %d",
                            secret ? secretlen : 0, RL_SAS_SECRET_MIN);
    return RL_OK;
}

int rl_sas_sign(const void *secret, size_t secretlen, const char *address, const char *perms,
                int64_t expiry, char *out, size_t outsize, rl_error *err)
{
    char sp[4], se[24], sig[RL_BASE64URL_LEN(RL_SHA256_LEN) + 1];
    uint8_t d[RL_SHA256_LEN];
    int rc;
    if ((rc = check_secret(secret, secretlen, err))) return rc;
    if ((rc = rl_blob_address_check(address, err))) return rc;
    if (canonical_perms(perms, sp) != 0)
        return rl_error_set(err, RL_EINVAL,
                            "permissions \"%.16s\" are not letters of \"rwd\" each at most once",
                            perms ? perms : "(null)");
    if (expiry <= 0 || expiry > RL_SAS_EXPIRY_MAX)
        return rl_error_set(err, RL_EINVAL, "expiry %lld is not a time in 1970..%lld",
                            (long long)expiry, (long long)RL_SAS_EXPIRY_MAX);
    snprintf(se, sizeof se, "%lld", (long long)expiry);
    if ((rc = mac(secret, secretlen, sp, se, address, d, err))) return rc;
    if ((rc = rl_base64url_encode(d, sizeof d, sig, sizeof sig, err))) return rc;
    int n = snprintf(out, outsize, "sv=" RL_SAS_VERSION "&sp=%s&se=%s&sig=%s", sp, se, sig);
    if (n < 0 || (size_t)n >= outsize) {
        if (outsize) out[0] = '\0';
        return rl_error_set(err, RL_EINVAL, "token buffer of %zu bytes is too small (need %d)",
                            outsize, n + 1);
    }
    return RL_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes with the NUL); -1 when
 * malformed, too long or decoding to a NUL. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1; /* "%" or "%X" at the end */
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi << 4 | lo);
            if (c == '\0') return -1;
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int malformed(rl_error *err, const char *why)
{
    return rl_error_set(err, RL_EAUTH, "malformed signed blob token: %s", why);
}

/* Splits and decodes the query string into params. */
static int parse_query(const char *query, param *params, size_t *count, rl_error *err)
{
    size_t len = strlen(query);
    if (len > RL_SAS_INPUT_MAX) return malformed(err, "the query string is too long");
    const char *p = query;
    if (*p == '?') p++;
    size_t n = 0;
    if (!*p) return malformed(err, "the query string is empty");
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        if (plen == 0) return malformed(err, "an empty parameter (\"&&\" or a trailing '&')");
        if (n == MAX_PARAMS) return malformed(err, "too many parameters");
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        if (klen == 0) return malformed(err, "a parameter without a name");
        if (pct_decode(p, klen, params[n].key, sizeof params[n].key) != 0)
            return malformed(err, "a parameter name is badly encoded or too long");
        if (eq) {
            if (pct_decode(eq + 1, plen - klen - 1, params[n].value, sizeof params[n].value) != 0)
                return malformed(err, "a parameter value is badly encoded or too long");
        } else {
            params[n].value[0] = '\0';
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(params[i].key, params[n].key) == 0)
                return rl_error_set(err, RL_EAUTH,
                                    "malformed signed blob token: parameter \"%s\" appears twice",
                                    params[n].key);
        n++;
        if (!amp) break;
        p = amp + 1;
    }
    *count = n;
    return RL_OK;
}

static const char *find(const param *params, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(params[i].key, key) == 0) return params[i].value;
    return NULL;
}

int rl_sas_verify(const void *secret, size_t secretlen, const char *address, const char *query,
                  const char *needed, int64_t now, rl_error *err)
{
    param params[MAX_PARAMS];
    size_t n = 0;
    char sp[4], need[4];
    uint8_t given[RL_SHA256_LEN + 8], want[RL_SHA256_LEN];
    size_t glen = 0;
    int rc;
    if ((rc = check_secret(secret, secretlen, err))) return rc;
    if ((rc = rl_blob_address_check(address, err))) return rc;
    if (canonical_perms(needed, need) != 0)
        return rl_error_set(err, RL_EINVAL,
                            "needed permissions \"%.16s\" are not letters of \"rwd\"",
                            needed ? needed : "(null)");
    if (!query) return rl_error_set(err, RL_EAUTH, "no signed blob token given");
    if ((rc = parse_query(query, params, &n, err))) return rc;

    const char *sv = find(params, n, "sv"), *spv = find(params, n, "sp");
    const char *se = find(params, n, "se"), *sig = find(params, n, "sig");
    if (!sv || !spv || !se || !sig)
        return rl_error_set(err, RL_EAUTH,
                            "signed blob token lacks \"%s\"; it needs sv, sp, se and sig",
                            !sv    ? "sv"
                            : !spv ? "sp"
                            : !se  ? "se"
                                   : "sig");
    if (strcmp(sv, RL_SAS_VERSION) != 0)
        return rl_error_set(err, RL_EAUTH, "signed blob token version \"%.16s\" is not supported",
                            sv);
    if (canonical_perms(spv, sp) != 0 || strcmp(sp, spv) != 0)
        return malformed(err, "sp is not a canonical subset of \"rwd\"");
    size_t selen = strlen(se);
    if (selen == 0 || selen > 18 /* RL_SAS_EXPIRY_MAX */ || strspn(se, "0123456789") != selen ||
        se[0] == '0')
        return malformed(err, "se is not a positive decimal time");
    int64_t expiry = 0;
    for (size_t i = 0; i < selen; i++)
        expiry = expiry * 10 + (se[i] - '0');
    if (rl_base64url_decode(sig, strlen(sig), given, sizeof given, &glen, NULL) != RL_OK ||
        glen != RL_SHA256_LEN)
        return malformed(err, "sig is not 43 characters of canonical base64url");

    if ((rc = mac(secret, secretlen, sp, se, address, want, err))) return rc;
    if (!rl_ct_equal(given, want, sizeof want))
        return rl_error_set(err, RL_EAUTH,
                            "signed blob token does not match: it was altered or made for "
                            "another blob");
    if (now >= expiry)
        return rl_error_set(err, RL_EAUTH,
                            "signed blob token expired at %lld (now %lld); ask for a new one",
                            (long long)expiry, (long long)now);
    for (const char *p = need; *p; p++)
        if (!strchr(sp, *p))
            return rl_error_set(err, RL_EFORBIDDEN,
                                "signed blob token grants \"%s\" but this needs \"%c\"", sp, *p);
    return RL_OK;
}
