/* test_crypto.c - SHA-256, HMAC, encodings and tokens against published vectors. */
#include "base/crypto.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[RL_SHA256_HEX_SIZE];
    assert_int_equal(rl_sha256_hex("", 0, hex, NULL), RL_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(rl_sha256_hex("abc", 3, hex, NULL), RL_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(rl_sha256_hex(two, strlen(two), hex, NULL), RL_OK);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_streaming_million_a(void **state)
{
    (void)state;
    rl_sha256_ctx *ctx = NULL;
    rl_error err;
    char block[1000];
    memset(block, 'a', sizeof block);
    assert_int_equal(rl_sha256_new(&ctx, &err), RL_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rl_sha256_update(ctx, block, sizeof block, &err), RL_OK);
    uint8_t d[RL_SHA256_LEN];
    char hex[RL_SHA256_HEX_SIZE];
    assert_int_equal(rl_sha256_final(ctx, d, &err), RL_OK);
    assert_int_equal(rl_hex_encode(d, sizeof d, hex, sizeof hex, &err), RL_OK);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* A finished context refuses more work instead of hashing garbage. */
    assert_int_equal(rl_sha256_update(ctx, "x", 1, &err), RL_ESTATE);
    assert_int_equal(rl_sha256_final(ctx, d, &err), RL_ESTATE);
    rl_sha256_free(ctx);
    rl_sha256_free(NULL);
}

static void test_sha256_fd(void **state)
{
    (void)state;
    char path[] = "/tmp/rl_crypto_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* 200000 bytes: crosses the 64 KiB read chunk several times. */
    size_t n = 200000;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7 + 3);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    uint8_t a[RL_SHA256_LEN], b[RL_SHA256_LEN];
    uint64_t size = 0;
    assert_int_equal(rl_sha256_fd(fd, a, &size, NULL), RL_OK);
    assert_int_equal(size, n);
    assert_int_equal(rl_sha256(data, n, b, NULL), RL_OK);
    assert_memory_equal(a, b, sizeof a);
    /* Out of memory for the buffer: reported, nothing leaked. */
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    rl_error err;
    rl_mem_fail_after(0);
    assert_int_equal(rl_sha256_fd(fd, a, &size, &err), RL_ENOMEM);
    rl_mem_fail_reset();
    /* A write-only descriptor cannot be read: RL_EIO. */
    int wfd = open(path, O_WRONLY);
    assert_int_equal(rl_sha256_fd(wfd, a, &size, &err), RL_EIO);
    assert_non_null(strstr(err.msg, "cannot read"));
    close(wfd);
    close(fd);
    unlink(path);
    free(data);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t mac[RL_SHA256_LEN];
    char hex[RL_SHA256_HEX_SIZE];
    const char *data = "what do ya want for nothing?";
    assert_int_equal(rl_hmac_sha256("Jefe", 4, data, strlen(data), mac, NULL), RL_OK);
    rl_hex_encode(mac, sizeof mac, hex, sizeof hex, NULL);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 1: 20 bytes of 0x0b, "Hi There". */
    uint8_t key[20];
    memset(key, 0x0b, sizeof key);
    assert_int_equal(rl_hmac_sha256(key, sizeof key, "Hi There", 8, mac, NULL), RL_OK);
    rl_hex_encode(mac, sizeof mac, hex, sizeof hex, NULL);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* Test case 6: a key longer than the block size (131 bytes of 0xaa). */
    uint8_t longkey[131];
    memset(longkey, 0xaa, sizeof longkey);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    assert_int_equal(rl_hmac_sha256(longkey, sizeof longkey, d6, strlen(d6), mac, NULL), RL_OK);
    rl_hex_encode(mac, sizeof mac, hex, sizeof hex, NULL);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* An empty key (NULL or "") is a valid HMAC key; both spellings agree. */
    uint8_t m1[RL_SHA256_LEN], m2[RL_SHA256_LEN];
    assert_int_equal(rl_hmac_sha256(NULL, 0, "x", 1, m1, NULL), RL_OK);
    assert_int_equal(rl_hmac_sha256("", 0, "x", 1, m2, NULL), RL_OK);
    assert_memory_equal(m1, m2, sizeof m1);
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(rl_ct_equal("abcdef", "abcdef", 6));
    assert_false(rl_ct_equal("abcdef", "abcdeg", 6));
    assert_false(rl_ct_equal("xbcdef", "abcdef", 6));
    assert_true(rl_ct_equal("a", "b", 0));
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff};
    char hex[9];
    rl_error err;
    assert_int_equal(rl_hex_encode(bytes, 4, hex, sizeof hex, &err), RL_OK);
    assert_string_equal(hex, "0001abff");
    assert_int_equal(rl_hex_encode(bytes, 4, hex, 8, &err), RL_EINVAL);
    uint8_t back[4];
    size_t n = 0;
    assert_int_equal(rl_hex_decode("0001ABff", 8, back, sizeof back, &n, &err), RL_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(back, bytes, 4);
    assert_int_equal(rl_hex_decode("abc", 3, back, sizeof back, &n, &err), RL_EPARSE);
    assert_int_equal(rl_hex_decode("0g", 2, back, sizeof back, &n, &err), RL_EPARSE);
    assert_non_null(strstr(err.msg, "offset 1"));
    assert_int_equal(rl_hex_decode("00 1", 4, back, sizeof back, &n, &err), RL_EPARSE);
    assert_int_equal(rl_hex_decode("0011223344", 10, back, sizeof back, &n, &err), RL_EINVAL);
}

static void test_base64url_rfc4648(void **state)
{
    (void)state;
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        size_t len = strlen(plain[i]);
        assert_int_equal(rl_base64url_encode(plain[i], len, out, sizeof out, NULL), RL_OK);
        assert_string_equal(out, coded[i]);
        assert_int_equal(strlen(out), RL_BASE64URL_LEN(len));
        uint8_t back[16];
        size_t n = 99;
        assert_int_equal(
            rl_base64url_decode(coded[i], strlen(coded[i]), back, sizeof back, &n, NULL), RL_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, plain[i], len);
    }
    /* The URL-safe alphabet: 0xfb 0xff is "+/8=" in standard base64. */
    uint8_t b[2] = {0xfb, 0xff};
    char out[8];
    assert_int_equal(rl_base64url_encode(b, 2, out, sizeof out, NULL), RL_OK);
    assert_string_equal(out, "-_8");
    /* Exactly-sized buffer works, one byte less does not. */
    assert_int_equal(rl_base64url_encode("foob", 4, out, 7, NULL), RL_OK);
    assert_int_equal(rl_base64url_encode("foob", 4, out, 6, NULL), RL_EINVAL);
}

static void test_base64url_strict(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = 0;
    rl_error err;
    assert_int_equal(rl_base64url_decode("Zg==", 4, out, sizeof out, &n, &err), RL_EPARSE);
    assert_int_equal(rl_base64url_decode("+/8", 3, out, sizeof out, &n, &err), RL_EPARSE);
    assert_int_equal(rl_base64url_decode("Zm9 v", 5, out, sizeof out, &n, &err), RL_EPARSE);
    assert_int_equal(rl_base64url_decode("Zm9vY", 5, out, sizeof out, &n, &err), RL_EPARSE);
    assert_non_null(strstr(err.msg, "modulo 4"));
    /* "Zh" decodes to 'f' too, but its unused bits are set: refused. */
    assert_int_equal(rl_base64url_decode("Zh", 2, out, sizeof out, &n, &err), RL_EPARSE);
    assert_non_null(strstr(err.msg, "canonical"));
    assert_int_equal(rl_base64url_decode("Zm9", 3, out, sizeof out, &n, &err), RL_EPARSE);
    assert_int_equal(rl_base64url_decode("Zm8", 3, out, sizeof out, &n, &err), RL_OK);
    /* An embedded NUL is outside the alphabet. */
    assert_int_equal(rl_base64url_decode("Zm\0v", 4, out, sizeof out, &n, &err), RL_EPARSE);
    /* Too small an output buffer. */
    assert_int_equal(rl_base64url_decode("Zm9vYmFy", 8, out, 5, &n, &err), RL_EINVAL);
    assert_int_equal(n, 2); /* still "Zm8"'s: failures leave it alone */
}

static void test_base64url_roundtrip_random(void **state)
{
    (void)state;
    for (size_t len = 0; len < 70; len++) {
        uint8_t raw[70], back[70];
        char text[100];
        size_t n = 0;
        assert_int_equal(rl_random_bytes(raw, len, NULL), RL_OK);
        assert_int_equal(rl_base64url_encode(raw, len, text, sizeof text, NULL), RL_OK);
        assert_int_equal(rl_base64url_decode(text, strlen(text), back, sizeof back, &n, NULL),
                         RL_OK);
        assert_int_equal(n, len);
        assert_memory_equal(raw, back, len);
    }
}

static void test_random_token(void **state)
{
    (void)state;
    char a[64], b[64];
    rl_error err;
    assert_int_equal(rl_random_token("rlk_", a, sizeof a, &err), RL_OK);
    assert_int_equal(strlen(a), 4 + RL_TOKEN_LEN);
    assert_memory_equal(a, "rlk_", 4);
    for (const char *p = a + 4; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    assert_int_equal(rl_random_token(NULL, b, sizeof b, &err), RL_OK);
    assert_int_equal(strlen(b), RL_TOKEN_LEN);
    assert_string_not_equal(a + 4, b);
    /* Decodes back to 32 bytes. */
    uint8_t raw[40];
    size_t n = 0;
    assert_int_equal(rl_base64url_decode(b, strlen(b), raw, sizeof raw, &n, &err), RL_OK);
    assert_int_equal(n, RL_TOKEN_BYTES);
    assert_int_equal(rl_random_token("rlk_", a, 4 + RL_TOKEN_LEN, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "too small"));
}

static void test_random_hex(void **state)
{
    (void)state;
    char a[33], b[33];
    assert_int_equal(rl_random_hex(16, a, sizeof a, NULL), RL_OK);
    assert_int_equal(rl_random_hex(16, b, sizeof b, NULL), RL_OK);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    assert_int_equal(rl_random_hex(16, a, 32, NULL), RL_EINVAL);
    assert_int_equal(rl_random_hex(65, a, sizeof a, NULL), RL_EINVAL);
}

static void test_sha256_new_oom(void **state)
{
    (void)state;
    rl_sha256_ctx *ctx = NULL;
    rl_error err;
    rl_mem_fail_after(0);
    assert_int_equal(rl_sha256_new(&ctx, &err), RL_ENOMEM);
    rl_mem_fail_reset();
    assert_null(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_streaming_million_a),
        cmocka_unit_test(test_sha256_fd),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64url_rfc4648),
        cmocka_unit_test(test_base64url_strict),
        cmocka_unit_test(test_base64url_roundtrip_random),
        cmocka_unit_test(test_random_token),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_sha256_new_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
