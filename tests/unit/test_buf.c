/* test_buf.c - the buffer and shortest round-trip number formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *fmt(double v, char *out)
{
    size_t n = rl_format_double(out, v);
    out[n] = '\0';
    return out;
}

static void test_known_texts(void **state)
{
    (void)state;
    char b[40];
    assert_string_equal(fmt(0.5, b), "0.5");
    assert_string_equal(fmt(0.1, b), "0.1");
    assert_string_equal(fmt(-2.25, b), "-2.25");
    assert_string_equal(fmt(77516, b), "77516");
    assert_string_equal(fmt(-0.0, b), "0");
    assert_string_equal(fmt(0.0001, b), "0.0001");
    assert_string_equal(fmt(1e-5, b), "1e-05");
    assert_string_equal(fmt(123456789.125, b), "123456789.125");
    assert_string_equal(fmt(1.0 / 3.0, b), "0.3333333333333333");
    assert_string_equal(fmt(INFINITY, b), "Infinity");
    assert_int_equal(rl_format_double(b, NAN), 0);
}

/* Every text reads back as exactly the double it came from, is never longer
 * than printf's shortest of %.15g..%.17g, and is that very text whenever
 * printf writes it without an exponent (the same digits, rounded the same
 * way, half to even). */
static void test_round_trip(void **state)
{
    (void)state;
    rl_rng r;
    rl_rng_seed(&r, 42);
    char a[40], b[40];
    for (int i = 0; i < 300000; i++) {
        double v;
        switch (i % 5) {
        case 0: v = rl_rng_uniform(&r); break;                 /* probabilities */
        case 1: v = rl_rng_uniform(&r) * 1e6 - 5e5; break;      /* mid-sized */
        case 2: v = (double)rl_rng_below(&r, 1000000) / 1000; break; /* decimals */
        case 3: v = rl_rng_uniform(&r) * 1e-3; break;           /* around 1e-4 */
        default: { /* any bits */
            uint64_t bits = rl_rng_next(&r);
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v)) v = 1.5;
        }
        }
        fmt(v, a);
        assert_true(strtod(a, NULL) == v);
        int n = 0;
        for (int p = 15; p <= 17; p++) {
            n = snprintf(b, sizeof b, "%.*g", p, v);
            if (strtod(b, NULL) == v) break;
        }
        if (strlen(a) > (size_t)n) fail_msg("%s is longer than %s", a, b);
        if (!strchr(b, 'e') && strcmp(a, b) != 0) fail_msg("%s where printf writes %s", a, b);
    }
}

static void test_buffer(void **state)
{
    (void)state;
    rl_buf b = RL_BUF_INIT;
    for (int i = 0; i < 1000; i++) assert_int_equal(rl_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(rl_buf_put_i64(&b, -9223372036854775807LL - 1), 0);
    assert_true(b.len > 3000);
    assert_string_equal(b.data + b.len - 20, "-9223372036854775808");
    size_t len;
    char *taken = rl_buf_take(&b, &len);
    assert_non_null(taken);
    assert_null(b.data);
    free(taken);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_texts),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
