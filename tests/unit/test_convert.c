/* test_convert.c - rl_parse_number against strtod, and rl_column_convert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/rng.h"
#include "data/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Parses s both ways and checks the results are bit-identical. */
static void check_like_strtod(const char *s)
{
    double want = strtod(s, NULL), got = 12345.0;
    int ok = rl_parse_number(s, strlen(s), &got);
    if (!ok || !same_double(want, got)) {
        fprintf(stderr, "rl_parse_number(\"%s\") = %d, %.17g; strtod %.17g\n", s, ok, got, want);
        fail();
    }
}

static void test_parse_accepts(void **state)
{
    (void)state;
    const char *ok[] = {"0",
                        "-0",
                        "+5",
                        "12",
                        "1.",
                        ".5",
                        "-.5",
                        "1e5",
                        "1E5",
                        "1e+5",
                        "1e-5",
                        "0.1",
                        "0.3",
                        "123456789012345678",
                        "12345678901234567890123",
                        "9007199254740993",
                        "9007199254740992.5",
                        "1e22",
                        "1e23",
                        "4.9e-324",
                        "2.4703282292062327e-324",
                        "2.4703282292062328e-324",
                        "2.2250738585072011e-308",
                        "2.2250738585072012e-308",
                        "1.7976931348623157e308",
                        "1e-400",
                        "0.000000000000000000000000000001",
                        "000000000000000000000000000123.456000000000000000000000",
                        "123456789e-30",
                        "8.98846567431158e307",
                        "3.14159265358979323846264338327950288419716939937510",
                        "1e-0000000000000000000000001"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        check_like_strtod(ok[i]);
    double v;
    assert_true(rl_parse_number("  42\t", 5, &v));
    assert_true(v == 42.0);
    assert_true(rl_parse_number("7xyz", 1, &v)); /* only n bytes count */
    assert_true(v == 7.0);
    assert_true(rl_parse_number("-0", 2, &v));
    assert_true(v == 0.0 && signbit(v));
}

static void test_parse_refuses(void **state)
{
    (void)state;
    const char *bad[] = {"",    " ",    "NaN",   "nan", "Infinity", "-inf",
                         "inf", "0x10", "1e",    "1e+", "e5",       ".",
                         "-",   "+",    "1.2.3", "1 2", "1e999",    "-1e999",
                         "1,5", "--1",  "1e5.5", "abc", "1f",       "\xc2\xa0\x31"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double v = 99.0;
        if (rl_parse_number(bad[i], strlen(bad[i]), &v)) {
            fprintf(stderr, "accepted \"%s\" as %g\n", bad[i], v);
            fail();
        }
        assert_true(v == 99.0); /* untouched */
    }
}

/* Long mantissas: the slow path keeps 800 digits plus a sticky one. */
static void test_parse_long(void **state)
{
    (void)state;
    char buf[3000];
    /* The smallest subnormal's halfway point, exactly, then just above. */
    const char *half = "2.47032822920623272088284396434110686182529901307162382212792841250337753"
                       "63510437593264991818081799618989828234772285886546332835517796989819938"
                       "73980053909390631503565951557022639229085839244910518443593180284993653"
                       "61525003193704576782492193656236698636584807570015857692699037063119282"
                       "79558551332927834338409351978015531246597263579574622766465272827220056"
                       "37400648549997709659947045402082816622623785739345073633900796776193057"
                       "75067401763246736009689513405355374585166611342237666786041621596804619"
                       "14467291840300530057530849048765391711386591646239524912623653881879636"
                       "23937328042389101867234849766823508986338858792562830275599565752445550"
                       "72551893136908362547791869486679949683240497058210285131854513962138377"
                       "22826145437693412532098591327667236328125e-324";
    check_like_strtod(half);
    snprintf(buf, sizeof buf, "%.*s1e-324", (int)(strlen(half) - 5), half);
    check_like_strtod(buf);
    /* 2500 digits of 1 (too big: refused, strtod says inf), scaled down, as a
     * fraction, then with a 2 at the end. */
    double v;
    memset(buf, '1', 2500);
    buf[2500] = '\0';
    assert_false(rl_parse_number(buf, 2500, &v));
    memcpy(buf + 2500, "e-2400", 7);
    check_like_strtod(buf);
    buf[2500] = '\0';
    buf[0] = '0';
    buf[1] = '.';
    check_like_strtod(buf);
    buf[2499] = '2';
    check_like_strtod(buf);
    /* A halfway case between doubles decided by a digit far to the right. */
    char h[1200];
    snprintf(h, sizeof h, "9007199254740993%s", "");
    size_t n = strlen(h);
    h[n++] = '.';
    for (int i = 0; i < 1000; i++)
        h[n++] = '0';
    h[n++] = '1';
    h[n] = '\0';
    check_like_strtod(h);
}

/* Random decimals of every shape, compared bit for bit with strtod. */
static void test_parse_random(void **state)
{
    (void)state;
    rl_rng r;
    rl_rng_seed(&r, 42);
    char s[128];
    for (int iter = 0; iter < 300000; iter++) {
        size_t n = 0;
        if (rl_rng_below(&r, 4) == 0) s[n++] = '-';
        int intd = (int)rl_rng_below(&r, 22), fracd = (int)rl_rng_below(&r, 22);
        for (int i = 0; i < intd; i++)
            s[n++] = (char)('0' + rl_rng_below(&r, 10));
        if (fracd || intd == 0) {
            s[n++] = '.';
            if (intd == 0 && fracd == 0) fracd = 1;
            for (int i = 0; i < fracd; i++)
                s[n++] = (char)('0' + rl_rng_below(&r, 10));
        }
        if (rl_rng_below(&r, 3) == 0)
            n += (size_t)snprintf(s + n, sizeof s - n, "e%d", (int)rl_rng_below(&r, 700) - 350);
        s[n] = '\0';
        double want = strtod(s, NULL), got;
        if (isinf(want)) {
            assert_false(rl_parse_number(s, n, &got));
            continue;
        }
        check_like_strtod(s);
    }
    /* Every double printed shortest reads back exactly. */
    for (int iter = 0; iter < 100000; iter++) {
        uint64_t bits = rl_rng_next(&r);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isnan(d) || isinf(d)) continue;
        char t[40];
        size_t n = rl_format_double(t, d);
        t[n] = '\0';
        double got;
        assert_true(rl_parse_number(t, n, &got));
        assert_true(got == d);
    }
}

/* ---- conversion ---- */

static rl_column *text_column(const char *name, const char *const *vals, size_t n)
{
    rl_column *c = rl_column_new(name, RL_TYPE_STRING, n);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++)
        c->codes[i] = vals[i] ? rl_levels_intern(c->levels, vals[i], strlen(vals[i])) : -1;
    return c;
}

static void test_convert_text(void **state)
{
    (void)state;
    rl_error err;
    const char *v[] = {"1.5", NULL, " 2 ", "-3e2", "1.5"};
    rl_column *c = text_column("x", v, 5), *out = NULL;
    c->flags = RL_COL_FEATURE;
    assert_int_equal(rl_column_convert(c, RL_TYPE_NUMERIC, &out, &err), RL_OK);
    assert_int_equal(out->type, RL_TYPE_NUMERIC);
    assert_int_equal(out->flags, RL_COL_FEATURE);
    assert_true(out->num[0] == 1.5 && isnan(out->num[1]) && out->num[2] == 2 &&
                out->num[3] == -300 && out->num[4] == 1.5);
    /* back to text: shortest forms */
    rl_column *back = NULL;
    assert_int_equal(rl_column_convert(out, RL_TYPE_STRING, &back, &err), RL_OK);
    assert_string_equal(rl_levels_get(back->levels, back->codes[3]), "-300");
    assert_int_equal(back->codes[1], -1);
    rl_column_unref(back);
    /* same type: a new reference to the same column */
    rl_column *same = NULL;
    assert_int_equal(rl_column_convert(out, RL_TYPE_NUMERIC, &same, &err), RL_OK);
    assert_ptr_equal(same, out);
    rl_column_unref(same);
    rl_column_unref(out);
    rl_column_unref(c);

    const char *b[] = {"TRUE", "false", NULL, "1", "0", "True"};
    c = text_column("b", b, 6);
    assert_int_equal(rl_column_convert(c, RL_TYPE_BOOLEAN, &out, &err), RL_OK);
    assert_true(out->num[0] == 1 && out->num[1] == 0 && isnan(out->num[2]) && out->num[3] == 1 &&
                out->num[4] == 0 && out->num[5] == 1);
    rl_column *txt = NULL;
    assert_int_equal(rl_column_convert(out, RL_TYPE_STRING, &txt, &err), RL_OK);
    assert_string_equal(rl_levels_get(txt->levels, txt->codes[0]), "true");
    assert_string_equal(rl_levels_get(txt->levels, txt->codes[1]), "false");
    rl_column_unref(txt);
    rl_column *num = NULL;
    assert_int_equal(rl_column_convert(out, RL_TYPE_NUMERIC, &num, &err), RL_OK);
    assert_true(num->num[0] == 1.0 && num->num[1] == 0.0 && isnan(num->num[2]));
    rl_column_unref(num);
    rl_column_unref(out);
    rl_column_unref(c);
}

static void test_convert_errors(void **state)
{
    (void)state;
    rl_error err;
    const char *v[] = {"1", "2", NULL, "two", "3"};
    rl_column *c = text_column("count", v, 5), *out = (rl_column *)0x1;
    assert_int_equal(rl_column_convert(c, RL_TYPE_NUMERIC, &out, &err), RL_ESCHEMA);
    assert_ptr_equal(out, (rl_column *)0x1); /* untouched */
    assert_non_null(strstr(err.msg, "'count'"));
    assert_non_null(strstr(err.msg, "row 4"));
    assert_non_null(strstr(err.msg, "'two'"));
    assert_int_equal(rl_column_convert(c, RL_TYPE_BOOLEAN, &out, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "row 2")); /* "1" is a boolean, "2" is not */
    rl_column_unref(c);

    rl_column *n = rl_column_new("n", RL_TYPE_NUMERIC, 3);
    n->num[0] = 1;
    n->num[1] = 0.5;
    assert_int_equal(rl_column_convert(n, RL_TYPE_BOOLEAN, &out, &err), RL_ESCHEMA);
    assert_non_null(strstr(err.msg, "row 2"));
    assert_non_null(strstr(err.msg, "0.5"));
    n->num[1] = 0;
    assert_int_equal(rl_column_convert(n, RL_TYPE_BOOLEAN, &out, &err), RL_OK);
    assert_true(out->num[0] == 1 && out->num[1] == 0 && isnan(out->num[2]));
    rl_column_unref(out);
    assert_int_equal(rl_column_convert(n, (rl_type)99, &out, &err), RL_EINVAL);
    rl_column_unref(n);
}

static void test_convert_oom(void **state)
{
    (void)state;
    const char *v[] = {"1", "x", NULL, "y", "x"};
    rl_column *c = text_column("s", v, 5);
    rl_column *n = rl_column_new("n", RL_TYPE_NUMERIC, 100);
    for (size_t i = 0; i < 100; i++)
        n->num[i] = (double)i / 4;
    const rl_type to[] = {RL_TYPE_NUMERIC, RL_TYPE_BOOLEAN, RL_TYPE_STRING};
    rl_column *src[] = {c, n};
    for (size_t s = 0; s < 2; s++)
        for (size_t t = 0; t < 3; t++) {
            for (long k = 0;; k++) {
                rl_column *out = NULL;
                rl_error err;
                rl_mem_fail_after(k);
                int rc = rl_column_convert(src[s], to[t], &out, &err);
                rl_mem_fail_reset();
                if (rc == RL_ENOMEM) {
                    assert_null(out);
                    continue;
                }
                if (rc == RL_OK) rl_column_unref(out);
                break; /* RL_OK or a conversion error: no more allocations fail */
            }
        }
    rl_column_unref(c);
    rl_column_unref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts), cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_long),    cmocka_unit_test(test_parse_random),
        cmocka_unit_test(test_convert_text),  cmocka_unit_test(test_convert_errors),
        cmocka_unit_test(test_convert_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
