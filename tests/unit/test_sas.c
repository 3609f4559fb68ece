/* test_sas.c - signed blob tokens: format, tampering, expiry, permissions and
 * query-string robustness. */
#include "base/crypto.h"
#include "store/sas.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

static const char SECRET[] = "0123456789abcdef-test-secret";
#define SLEN (sizeof SECRET - 1)
#define NOW 1700000000LL

static int verify(const char *address, const char *query, const char *needed, int64_t now,
                  rl_error *err)
{
    return rl_sas_verify(SECRET, SLEN, address, query, needed, now, err);
}

static void sign(const char *address, const char *perms, int64_t expiry, char *out)
{
    rl_error err;
    int rc = rl_sas_sign(SECRET, SLEN, address, perms, expiry, out, RL_SAS_QUERY_MAX, &err);
    if (rc) fprintf(stderr, "sign: %s\n", err.msg);
    assert_int_equal(rc, RL_OK);
}

static void test_format_matches_spec(void **state)
{
    (void)state;
    char q[RL_SAS_QUERY_MAX];
    sign("data/census/train.csv", "r", 1700000000, q);
    /* Recompute the signature independently from the documented string. */
    const char *msg = "1\nr\n1700000000\ndata/census/train.csv";
    uint8_t mac[RL_SHA256_LEN];
    char sig[64], expect[RL_SAS_QUERY_MAX];
    assert_int_equal(rl_hmac_sha256(SECRET, SLEN, msg, strlen(msg), mac, NULL), RL_OK);
    assert_int_equal(rl_base64url_encode(mac, sizeof mac, sig, sizeof sig, NULL), RL_OK);
    snprintf(expect, sizeof expect, "sv=1&sp=r&se=1700000000&sig=%s", sig);
    assert_string_equal(q, expect);
    assert_int_equal(strlen(sig), 43);
    /* Permissions are written canonically. */
    sign("data/x", "dwr", 1700000000, q);
    assert_non_null(strstr(q, "&sp=rwd&"));
    sign("data/x", "wr", 1700000000, q);
    assert_non_null(strstr(q, "&sp=rw&"));
}

static void test_verify_ok_forms(void **state)
{
    (void)state;
    rl_error err;
    char q[RL_SAS_QUERY_MAX], with[RL_SAS_QUERY_MAX + 64];
    sign("data/x.csv", "rw", NOW + 3600, q);
    assert_int_equal(verify("data/x.csv", q, "r", NOW, &err), RL_OK);
    assert_int_equal(verify("data/x.csv", q, "w", NOW, &err), RL_OK);
    assert_int_equal(verify("data/x.csv", q, "wr", NOW, &err), RL_OK);
    snprintf(with, sizeof with, "?%s", q);
    assert_int_equal(verify("data/x.csv", with, "r", NOW, &err), RL_OK);
    /* Any order, other parameters around it. */
    const char *sig = strstr(q, "sig=") + 4;
    snprintf(with, sizeof with, "comp=list&sig=%s&se=%lld&restype&sp=rw&sv=1", sig, NOW + 3600);
    assert_int_equal(verify("data/x.csv", with, "r", NOW, &err), RL_OK);
    /* Percent-encoded values decode to the same token. */
    snprintf(with, sizeof with, "sv=%%31&sp=%%72%%77&se=%lld&sig=%s", NOW + 3600, sig);
    assert_int_equal(verify("data/x.csv", with, "r", NOW, &err), RL_OK);
    /* Valid until the second before se. */
    assert_int_equal(verify("data/x.csv", q, "r", NOW + 3599, &err), RL_OK);
}

static void test_tampered_signature(void **state)
{
    (void)state;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    rl_error err;
    char q[RL_SAS_QUERY_MAX];
    sign("models/m.ilearner", "r", NOW + 60, q);
    char *sig = strstr(q, "sig=") + 4;
    size_t len = strlen(sig);
    /* Every character of the signature replaced by every other character of
     * the alphabet: always refused (mismatch, or malformed when the unused
     * low bits of the last character would be set). */
    for (size_t i = 0; i < len; i++) {
        char orig = sig[i];
        for (const char *a = alphabet; *a; a++) {
            if (*a == orig) continue;
            sig[i] = *a;
            int rc = verify("models/m.ilearner", q, "r", NOW, &err);
            if (rc != RL_EAUTH) fprintf(stderr, "accepted with sig[%zu]=%c\n", i, *a);
            assert_int_equal(rc, RL_EAUTH);
        }
        sig[i] = orig;
    }
    assert_int_equal(verify("models/m.ilearner", q, "r", NOW, &err), RL_OK);
    /* Truncated, lengthened, padded. */
    char saved = sig[len - 1];
    sig[len - 1] = '\0';
    assert_int_equal(verify("models/m.ilearner", q, "r", NOW, &err), RL_EAUTH);
    assert_non_null(strstr(err.msg, "malformed"));
    sig[len - 1] = saved;
    char longer[RL_SAS_QUERY_MAX + 8];
    snprintf(longer, sizeof longer, "%sA", q);
    assert_int_equal(verify("models/m.ilearner", longer, "r", NOW, &err), RL_EAUTH);
    snprintf(longer, sizeof longer, "%s=", q);
    assert_int_equal(verify("models/m.ilearner", longer, "r", NOW, &err), RL_EAUTH);
    /* The wrong secret. */
    assert_int_equal(rl_sas_verify("another-secret-of-enough-length", 31, "models/m.ilearner", q,
                                   "r", NOW, &err),
                     RL_EAUTH);
    assert_non_null(strstr(err.msg, "does not match"));
}

static void test_tampered_fields(void **state)
{
    (void)state;
    rl_error err;
    char q[RL_SAS_QUERY_MAX], t[RL_SAS_QUERY_MAX + 16];
    sign("data/a.csv", "r", NOW + 60, q);
    const char *sig = strstr(q, "sig=") + 4;
    /* Another blob. */
    assert_int_equal(verify("data/b.csv", q, "r", NOW, &err), RL_EAUTH);
    assert_non_null(strstr(err.msg, "another blob"));
    assert_int_equal(verify("data/a.csv2", q, "r", NOW, &err), RL_EAUTH);
    assert_int_equal(verify("datb/a.csv", q, "r", NOW, &err), RL_EAUTH);
    /* More permissions. */
    snprintf(t, sizeof t, "sv=1&sp=rw&se=%lld&sig=%s", NOW + 60, sig);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    snprintf(t, sizeof t, "sv=1&sp=rwd&se=%lld&sig=%s", NOW + 60, sig);
    assert_int_equal(verify("data/a.csv", t, "d", NOW, &err), RL_EAUTH);
    /* A later expiry (or an earlier one). */
    snprintf(t, sizeof t, "sv=1&sp=r&se=%lld&sig=%s", NOW + 61, sig);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    snprintf(t, sizeof t, "sv=1&sp=r&se=%lld&sig=%s", NOW + 59, sig);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    /* The same expiry spelled differently. */
    snprintf(t, sizeof t, "sv=1&sp=r&se=0%lld&sig=%s", NOW + 60, sig);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    snprintf(t, sizeof t, "sv=1&sp=r&se=+%lld&sig=%s", NOW + 60, sig);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    /* Another version. */
    snprintf(t, sizeof t, "sv=2&sp=r&se=%lld&sig=%s", NOW + 60, sig);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    assert_non_null(strstr(err.msg, "version"));
}

static void test_expiry(void **state)
{
    (void)state;
    rl_error err;
    char q[RL_SAS_QUERY_MAX];
    sign("data/a.csv", "r", NOW, q);
    assert_int_equal(verify("data/a.csv", q, "r", NOW - 1, &err), RL_OK);
    assert_int_equal(verify("data/a.csv", q, "r", NOW, &err), RL_EAUTH);
    assert_non_null(strstr(err.msg, "expired"));
    assert_int_equal(verify("data/a.csv", q, "r", NOW + 86400, &err), RL_EAUTH);
    assert_non_null(strstr(err.msg, "expired"));
    /* A tampered, expired token is reported as tampered, not as expired. */
    assert_int_equal(verify("data/b.csv", q, "r", NOW + 1, &err), RL_EAUTH);
    assert_null(strstr(err.msg, "expired"));
}

static void test_permissions(void **state)
{
    (void)state;
    rl_error err;
    char q[RL_SAS_QUERY_MAX];
    sign("data/a.csv", "r", NOW + 60, q);
    assert_int_equal(verify("data/a.csv", q, "w", NOW, &err), RL_EFORBIDDEN);
    assert_non_null(strstr(err.msg, "\"w\""));
    assert_int_equal(verify("data/a.csv", q, "d", NOW, &err), RL_EFORBIDDEN);
    assert_int_equal(verify("data/a.csv", q, "rw", NOW, &err), RL_EFORBIDDEN);
    sign("data/a.csv", "wd", NOW + 60, q);
    assert_int_equal(verify("data/a.csv", q, "r", NOW, &err), RL_EFORBIDDEN);
    assert_int_equal(verify("data/a.csv", q, "dw", NOW, &err), RL_OK);
    sign("data/a.csv", "rwd", NOW + 60, q);
    assert_int_equal(verify("data/a.csv", q, "rwd", NOW, &err), RL_OK);
    /* The caller must say what it needs. */
    assert_int_equal(verify("data/a.csv", q, "", NOW, &err), RL_EINVAL);
    assert_int_equal(verify("data/a.csv", q, "x", NOW, &err), RL_EINVAL);
    assert_int_equal(verify("data/a.csv", q, NULL, NOW, &err), RL_EINVAL);
}

static void test_malformed_queries(void **state)
{
    (void)state;
    rl_error err;
    char q[RL_SAS_QUERY_MAX], t[RL_SAS_INPUT_MAX + 64];
    sign("data/a.csv", "r", NOW + 60, q);
    const char *sig = strstr(q, "sig=") + 4;
    long long se = NOW + 60;
    const char *bad[] = {
        "",
        "?",
        "sv=1&sp=r&se=%lld",                        /* no sig */
        "sp=r&se=%lld&sig=%s",                      /* no sv */
        "sv=1&se=%lld&sig=%s",                      /* no sp */
        "sv=1&sp=r&sig=%s",                         /* no se */
        "sv=1&sp=r&sp=r&se=%lld&sig=%s",            /* duplicate */
        "sv=1&sv=1&sp=r&se=%lld&sig=%s",            /* duplicate */
        "sv=1&sp=r&se=%lld&sig=%s&sig=%s",          /* duplicate signature */
        "x=1&x=2&sv=1&sp=r&se=%lld&sig=%s",         /* duplicate other parameter */
        "sv=1&&sp=r&se=%lld&sig=%s",                /* empty parameter */
        "sv=1&sp=r&se=%lld&sig=%s&",                /* trailing '&' */
        "=1&sv=1&sp=r&se=%lld&sig=%s",              /* no name */
        "sv=1&sp=%%zz&se=%lld&sig=%s",              /* bad escape */
        "sv=1&sp=r%%&se=%lld&sig=%s",               /* truncated escape */
        "sv=1&sp=r%%7&se=%lld&sig=%s",              /* truncated escape */
        "sv=1&sp=r%%00&se=%lld&sig=%s",             /* NUL */
        "sv=1&sp=wr&se=%lld&sig=%s",                /* not canonical */
        "sv=1&sp=&se=%lld&sig=%s",                  /* no permission */
        "sv=1&sp=rr&se=%lld&sig=%s",                /* repeated permission */
        "sv=1&sp=x&se=%lld&sig=%s",                 /* unknown permission */
        "sv=1&sp=r&se=-%lld&sig=%s",                /* negative */
        "sv=1&sp=r&se=%lld.5&sig=%s",               /* not an integer */
        "sv=1&sp=r&se=99999999999999999999&sig=%s", /* overflow */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* Each pattern uses %lld then %s (or %s alone); pass both. */
        if (strstr(bad[i], "%lld"))
            snprintf(t, sizeof t, bad[i], se, sig, sig);
        else
            snprintf(t, sizeof t, bad[i], sig);
        int rc = verify("data/a.csv", t, "r", NOW, &err);
        if (rc != RL_EAUTH) fprintf(stderr, "accepted: %s\n", t);
        assert_int_equal(rc, RL_EAUTH);
    }
    assert_int_equal(verify("data/a.csv", NULL, "r", NOW, &err), RL_EAUTH);
    /* Over-long input is refused unread. */
    memset(t, 'a', RL_SAS_INPUT_MAX + 10);
    t[RL_SAS_INPUT_MAX + 10] = '\0';
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    assert_non_null(strstr(err.msg, "too long"));
    /* Too many parameters. */
    size_t o = 0;
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(t + o, sizeof t - o, "p%d=1&", i);
    snprintf(t + o, sizeof t - o, "%s", q);
    assert_int_equal(verify("data/a.csv", t, "r", NOW, &err), RL_EAUTH);
    /* An invalid address is the caller's error. */
    assert_int_equal(verify("data/../a.csv", q, "r", NOW, &err), RL_EINVAL);
}

static void test_sign_errors(void **state)
{
    (void)state;
    rl_error err;
    char q[RL_SAS_QUERY_MAX];
    assert_int_equal(rl_sas_sign("short", 5, "data/a", "r", NOW, q, sizeof q, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "at least"));
    assert_int_equal(rl_sas_sign(NULL, 0, "data/a", "r", NOW, q, sizeof q, &err), RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/../a", "r", NOW, q, sizeof q, &err),
                     RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a\nb", "r", NOW, q, sizeof q, &err),
                     RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a", "", NOW, q, sizeof q, &err), RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a", "rr", NOW, q, sizeof q, &err), RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a", "ra", NOW, q, sizeof q, &err), RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a", NULL, NOW, q, sizeof q, &err), RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a", "r", 0, q, sizeof q, &err), RL_EINVAL);
    assert_int_equal(rl_sas_sign(SECRET, SLEN, "data/a", "r", NOW, q, 20, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "too small"));
    assert_string_equal(q, "");
    /* The largest expiry still fits RL_SAS_QUERY_MAX. */
    assert_int_equal(
        rl_sas_sign(SECRET, SLEN, "data/a", "rwd", 999999999999999999LL, q, sizeof q, &err), RL_OK);
    assert_int_equal(verify("data/a", q, "rwd", NOW, &err), RL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_matches_spec),
        cmocka_unit_test(test_verify_ok_forms),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_tampered_fields),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_malformed_queries),
        cmocka_unit_test(test_sign_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
