/* fuzz_sas.c - libFuzzer harness for signed blob tokens (src/store/sas.c).
 *
 * Each input is verified as a query string for a fixed secret and address:
 * a token that passes must fail for another address, another secret and
 * after its expiry (anything else means the signature is not what decides).
 * Inputs of at least 9 bytes are also signed and verified back: byte 0
 * chooses the permissions, bytes 1-8 the expiry, the rest the address; a
 * token relearn signed must verify for what it grants, be refused for what
 * it does not grant, for another blob and once expired. A broken property or
 * a sanitizer report aborts.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/sas.
 */
#include "store/blob.h"
#include "store/sas.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SECRET[] = "fuzzing-secret-0123456789abcdef";
static const char OTHER[] = "another-secret-0123456789abcdef";
#define SLEN (sizeof SECRET - 1)
#define ADDRESS "data/census/train.csv"
#define NOW 1700000000LL

static void fail(const char *why, const char *q)
{
    fprintf(stderr, "%s: '%s'\n", why, q);
    abort();
}

static void verify_any(const char *q)
{
    rl_error err;
    static const char *const needs[] = {"r", "w", "d", "rwd"};
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        if (rl_sas_verify(SECRET, SLEN, ADDRESS, q, needs[i], NOW, &err) != RL_OK) continue;
        if (rl_sas_verify(SECRET, SLEN, "data/census/test.csv", q, needs[i], NOW, &err) != RL_EAUTH)
            fail("a token verified for another blob", q);
        if (rl_sas_verify(OTHER, SLEN, ADDRESS, q, needs[i], NOW, &err) != RL_EAUTH)
            fail("a token verified under another secret", q);
        if (rl_sas_verify(SECRET, SLEN, ADDRESS, q, needs[i], RL_SAS_EXPIRY_MAX, &err) != RL_EAUTH)
            fail("a token verified at the end of time", q);
    }
}

static void round_trip(const uint8_t *data, size_t size)
{
    static const char *const choices[] = {"r",   "w",   "d", "rw", "wr", "rd", "wd",
                                          "rwd", "dwr", "",  "rr", "x",  "R"};
    const char *perms = choices[data[0] % (sizeof choices / sizeof choices[0])];
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | data[1 + i];
    int64_t expiry = (int64_t)(u >> 1) * ((data[1] & 1) ? -1 : 1) % (RL_SAS_EXPIRY_MAX + 2);
    char *address = malloc(size - 9 + 1);
    if (!address) return;
    memcpy(address, data + 9, size - 9);
    address[size - 9] = '\0';

    rl_error err;
    char q[RL_SAS_QUERY_MAX];
    int rc = rl_sas_sign(SECRET, SLEN, address, perms, expiry, q, sizeof q, &err);
    int valid_perms = *perms && strlen(perms) == strspn(perms, "rwd");
    for (const char *p = perms; *p; p++)
        if (strchr(p + 1, *p)) valid_perms = 0; /* a letter twice */
    int valid = rl_blob_address_check(address, NULL) == RL_OK && valid_perms && expiry > 0 &&
                expiry <= RL_SAS_EXPIRY_MAX;
    if ((rc == RL_OK) != valid)
        fail(rc == RL_OK ? "signed bad arguments" : "refused to sign", address);
    if (rc != RL_OK) goto done;
    if (strlen(q) >= sizeof q) fail("token overflows its buffer", q);
    for (const char *need = "rwd"; *need; need++) {
        char n1[2] = {*need, '\0'};
        int granted = strchr(perms, *need) != NULL;
        int now_ok = rl_sas_verify(SECRET, SLEN, address, q, n1, expiry - 1, &err);
        if (granted && now_ok != RL_OK) fail("a fresh token was refused", q);
        if (!granted && now_ok != RL_EFORBIDDEN) fail("a permission not granted passed", q);
        if (rl_sas_verify(SECRET, SLEN, address, q, n1, expiry, &err) != RL_EAUTH)
            fail("an expired token passed", q);
    }
    char other[RL_BLOB_ADDRESS_MAX + 8];
    snprintf(other, sizeof other, "%sx", address);
    if (rl_blob_address_check(other, NULL) == RL_OK &&
        rl_sas_verify(SECRET, SLEN, other, q, "r", 0, &err) != RL_EAUTH)
        fail("a token opened another blob", q);
    verify_any(q);
done:
    free(address);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (!q) return 0;
    memcpy(q, data, size);
    q[size] = '\0';
    verify_any(q);
    free(q);
    if (size >= 9) round_trip(data, size);
    return 0;
}
