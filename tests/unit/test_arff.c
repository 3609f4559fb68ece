/* test_arff.c - the ARFF reader and writer (data/io.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/rng.h"
#include "data/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rl_table *read_arff(const char *s)
{
    rl_read_opts o = {.format = RL_FMT_ARFF, .source = "t.arff"};
    rl_table *t = NULL;
    rl_error err;
    int rc = rl_table_read_mem(s, strlen(s), &o, &t, &err);
    if (rc) fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(rc, RL_OK);
    return t;
}

static const char *read_fail_opts(const char *s, const rl_read_opts *o, int code)
{
    static rl_error err;
    rl_table *t = (rl_table *)0x1;
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
    assert_non_null(copy);
    memcpy(copy, s, len);
    int rc = rl_table_read_mem(copy, len, o, &t, &err);
    free(copy);
    if (rc != code) fprintf(stderr, "got %d (%s), wanted %d\n", rc, rc ? err.msg : "", code);
    assert_int_equal(rc, code);
    assert_ptr_equal(t, (rl_table *)0x1);
    return err.msg;
}

static const char *read_fail(const char *s, int code)
{
    rl_read_opts o = {.format = RL_FMT_ARFF, .source = "t.arff"};
    return read_fail_opts(s, &o, code);
}

static void assert_contains(const char *msg, const char *part)
{
    if (!strstr(msg, part)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg, part);
        fail();
    }
}

static const rl_column *col(const rl_table *t, const char *name)
{
    long i = rl_table_find(t, name);
    if (i < 0) fprintf(stderr, "no column %s\n", name);
    assert_true(i >= 0);
    return rl_table_col(t, (size_t)i);
}

static const char *sv(const rl_table *t, const char *name, size_t row)
{
    const rl_column *c = col(t, name);
    assert_int_equal(c->type, RL_TYPE_STRING);
    return c->codes[row] < 0 ? NULL : rl_levels_get(c->levels, c->codes[row]);
}

static double nv(const rl_table *t, const char *name, size_t row)
{
    const rl_column *c = col(t, name);
    assert_int_equal(c->type, RL_TYPE_NUMERIC);
    return c->num[row];
}

static void assert_same_table(const rl_table *a, const rl_table *b)
{
    assert_int_equal(rl_table_ncols(a), rl_table_ncols(b));
    assert_int_equal(rl_table_nrows(a), rl_table_nrows(b));
    for (size_t j = 0; j < rl_table_ncols(a); j++) {
        const rl_column *x = rl_table_col(a, j), *y = rl_table_col(b, j);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->flags, y->flags);
        if (x->type == RL_TYPE_STRING && (x->flags & RL_COL_CATEGORICAL)) {
            assert_int_equal(rl_levels_count(x->levels), rl_levels_count(y->levels));
            for (size_t k = 0; k < rl_levels_count(x->levels); k++)
                assert_string_equal(rl_levels_get(x->levels, (int32_t)k),
                                    rl_levels_get(y->levels, (int32_t)k));
        }
        for (size_t i = 0; i < x->nrows; i++) {
            if (x->type == RL_TYPE_STRING) {
                assert_int_equal(x->codes[i] < 0, y->codes[i] < 0);
                if (x->codes[i] >= 0)
                    assert_string_equal(rl_levels_get(x->levels, x->codes[i]),
                                        rl_levels_get(y->levels, y->codes[i]));
            } else {
                assert_int_equal(isnan(x->num[i]), isnan(y->num[i]));
                if (!isnan(x->num[i])) assert_true(x->num[i] == y->num[i]);
            }
        }
    }
}

static void test_weather_fixture(void **state)
{
    (void)state;
    rl_table *t = NULL;
    rl_error err;
    int rc = rl_table_read_file("tests/data/weather.arff", NULL, &t, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, RL_OK);
    assert_int_equal(rl_table_ncols(t), 8);
    assert_int_equal(rl_table_nrows(t), 8);
    const rl_column *o = col(t, "outlook");
    assert_int_equal(o->type, RL_TYPE_STRING);
    assert_int_equal(o->flags, RL_COL_CATEGORICAL);
    assert_int_equal(rl_levels_count(o->levels), 3);
    assert_string_equal(rl_levels_get(o->levels, 0), "sunny");
    assert_string_equal(rl_levels_get(o->levels, 2), "rainy");
    assert_int_equal(o->codes[2], 1); /* overcast: the declared index */
    assert_true(nv(t, "temperature", 0) == 85 && isnan(nv(t, "temperature", 7)));
    assert_true(nv(t, "wind speed", 1) == 12 && isnan(nv(t, "wind speed", 3)));
    assert_true(nv(t, "wind speed", 4) == 5);
    assert_string_equal(sv(t, "windy", 1), "TRUE");
    assert_int_equal(col(t, "remark")->flags, 0);
    assert_string_equal(sv(t, "remark", 0), "hot, dry");
    assert_null(sv(t, "remark", 1));
    assert_string_equal(sv(t, "remark", 2), "it's fine");
    assert_string_equal(sv(t, "remark", 3), "line\nbreak");
    assert_string_equal(sv(t, "remark", 4), "plain");
    assert_string_equal(sv(t, "remark", 5), "");
    assert_string_equal(sv(t, "remark", 6), "50% off");
    assert_string_equal(sv(t, "remark", 7), "back\\slash");
    assert_string_equal(sv(t, "day", 0), "2024-06-01");
    assert_null(sv(t, "day", 7));
    const rl_column *p = col(t, "play");
    assert_string_equal(rl_levels_get(p->levels, 2), "not sure");
    assert_string_equal(sv(t, "play", 5), "not sure");
    assert_null(sv(t, "play", 7));
    rl_table_free(t);
}

static void test_unused_levels_and_quotes(void **state)
{
    (void)state;
    rl_table *t = read_arff("@relation 'my rel'\n"
                            "@attribute \"a b\"{x,'y z',\"q\\\"uote\", 'it\\'s' }\n"
                            "@attribute c{}\n"
                            "@data\n"
                            "'y z',?\n"
                            "\n"
                            "   \"q\\\"uote\"  ,  ?  \n");
    const rl_column *a = col(t, "a b");
    assert_int_equal(rl_levels_count(a->levels), 4); /* x is declared but never used */
    assert_string_equal(rl_levels_get(a->levels, 0), "x");
    assert_string_equal(rl_levels_get(a->levels, 2), "q\"uote");
    assert_string_equal(rl_levels_get(a->levels, 3), "it's");
    assert_int_equal(a->codes[0], 1);
    assert_int_equal(a->codes[1], 2);
    assert_int_equal(rl_levels_count(col(t, "c")->levels), 0);
    rl_table_free(t);
    /* no rows */
    t = read_arff("@relation r\n@attribute a numeric\n@data\n");
    assert_int_equal(rl_table_nrows(t), 0);
    rl_table_free(t);
    t = read_arff("@relation r\r\n@attribute a numeric\r\n@data\r\n1\r\n2");
    assert_int_equal(rl_table_nrows(t), 2);
    assert_true(nv(t, "a", 1) == 2);
    rl_table_free(t);
}

static void test_errors(void **state)
{
    (void)state;
    rl_error err;
    rl_table *t;
    assert_int_equal(rl_table_read_file("tests/data/bad_nominal.arff", NULL, &t, &err), RL_EPARSE);
    assert_contains(err.msg, "tests/data/bad_nominal.arff:7:1:");
    assert_contains(err.msg, "'purple'");
    assert_contains(err.msg, "{red,green,blue}");
    assert_int_equal(rl_table_read_file("tests/data/sparse.arff", NULL, &t, &err), RL_EPARSE);
    assert_contains(err.msg, "sparse.arff:5:1:");
    assert_contains(err.msg, "sparse");

    const char *m;
    m = read_fail("@relation r\n@attribute a numeric\n@data\n1\nabc\n", RL_EPARSE);
    assert_contains(m, "t.arff:5:1:");
    assert_contains(m, "'abc'");
    m = read_fail("@relation r\n@attribute a numeric\n@attribute b string\n@data\n1,x\n2\n",
                  RL_EPARSE);
    assert_contains(m, "t.arff:6:1:");
    assert_contains(m, "1 value");
    m = read_fail("@relation r\n@attribute a numeric\n@data\n1,2\n", RL_EPARSE);
    assert_contains(m, "2 values");
    m = read_fail("@relation r\n@attribute a string\n@data\n'open\n", RL_EPARSE);
    assert_contains(m, "t.arff:4:1:");
    assert_contains(m, "never closed");
    m = read_fail("@relation r\n@attribute a string\n@data\n'x' y\n", RL_EPARSE);
    assert_contains(m, "t.arff:4:5:");
    m = read_fail("@relation r\n@attribute a numeric\n", RL_EPARSE);
    assert_contains(m, "no @data");
    m = read_fail("", RL_EPARSE);
    assert_contains(m, "no @data");
    m = read_fail("@relation r\n@data\n1\n", RL_EPARSE);
    assert_contains(m, "before any @attribute");
    m = read_fail("@relation r\n@attribute a blob\n@data\n", RL_EPARSE);
    assert_contains(m, "t.arff:2:14:");
    assert_contains(m, "'blob'");
    m = read_fail("@relation r\n@attribute a relational\n@data\n", RL_EPARSE);
    assert_contains(m, "relational");
    m = read_fail("@relation r\n@attribute a numeric\n@attribute a string\n@data\n", RL_EPARSE);
    assert_contains(m, "t.arff:3:1:");
    assert_contains(m, "'a' appears twice");
    m = read_fail("@relation r\n@attribute a {x,y,x}\n@data\n", RL_EPARSE);
    assert_contains(m, "declared twice");
    m = read_fail("@relation r\n@attribute a {x,y\n@data\n", RL_EPARSE);
    assert_contains(m, "never closed");
    m = read_fail("@relation r\n@attribute a {x,,y}\n@data\n", RL_EPARSE);
    assert_contains(m, "empty nominal");
    m = read_fail("@relation r\n@attribute\n@data\n", RL_EPARSE);
    assert_contains(m, "without a name");
    m = read_fail("@relation r\n@attribute '' numeric\n@data\n", RL_EPARSE);
    assert_contains(m, "t.arff:2:");
    assert_contains(m, "without a name");
    m = read_fail("@relation r\n@frobnicate\n", RL_EPARSE);
    assert_contains(m, "unknown keyword");
    m = read_fail("a,b\n1,2\n", RL_EPARSE);
    assert_contains(m, "t.arff:1:1:");
    m = read_fail("@relation r\n@attribute a string\n@data\ncaf\xC3(\n", RL_EPARSE);
    assert_contains(m, "t.arff:4:4:");
    assert_contains(m, "UTF-8");
    m = read_fail("@relation r\n@attribute a numeric\n@data\n1,{2}\n", RL_EPARSE);
    assert_contains(m, "weights");
    m = read_fail("@relation r\n@attribute a numeric\n@data junk\n", RL_EPARSE);
    assert_contains(m, "after @data");
}

static void test_overrides(void **state)
{
    (void)state;
    const char *s = "@relation r\n@attribute n numeric\n@attribute c {1,2,x}\n@attribute s string\n"
                    "@data\n1,1,007\n2,2,8\n";
    rl_type_override ov[] = {{"n", RL_TYPE_STRING, RL_COL_CATEGORICAL},
                             {"c", RL_TYPE_NUMERIC, 0},
                             {"s", RL_TYPE_STRING, 0}};
    rl_read_opts o = {.format = RL_FMT_ARFF, .overrides = ov, .noverrides = 3, .source = "o.arff"};
    rl_table *t = NULL;
    rl_error err;
    assert_int_equal(rl_table_read_mem(s, strlen(s), &o, &t, &err), RL_OK);
    assert_string_equal(sv(t, "n", 1), "2");
    assert_int_equal(col(t, "n")->flags, RL_COL_CATEGORICAL);
    assert_true(nv(t, "c", 1) == 2);
    assert_string_equal(sv(t, "s", 0), "007");
    rl_table_free(t);
    const char *bad = "@relation r\n@attribute c {1,2,x}\n@data\n1\nx\n";
    rl_type_override num[] = {{"c", RL_TYPE_NUMERIC, 0}};
    o.overrides = num;
    o.noverrides = 1;
    const char *m = read_fail_opts(bad, &o, RL_EPARSE);
    assert_contains(m, "o.arff:5:1:");
    assert_contains(m, "'x'");
    rl_type_override unk[] = {{"zz", RL_TYPE_NUMERIC, 0}};
    o.overrides = unk;
    m = read_fail_opts(bad, &o, RL_ESCHEMA);
    assert_contains(m, "'zz'");
}

/* ---- writing ---- */

static rl_table *sample_table(uint64_t seed, size_t nrows)
{
    rl_rng r;
    rl_rng_seed(&r, seed);
    static const char *words[] = {"plain",       "two words", "it's",   "a,b",   "50%",    "{x}",
                                  "?",           "",          "back\\", "nl\nx", "tab\tx", "q\"x",
                                  "caf\xC3\xA9", "@data"};
    size_t nw = sizeof words / sizeof *words;
    rl_table *t = rl_table_new(nrows);
    rl_column *n = rl_column_new("num ber", RL_TYPE_NUMERIC, nrows);
    rl_column *c = rl_column_new("cat'x", RL_TYPE_STRING, nrows);
    rl_column *s = rl_column_new("str", RL_TYPE_STRING, nrows);
    c->flags = RL_COL_CATEGORICAL;
    for (size_t k = 0; k < nw; k++)
        rl_levels_intern(c->levels, words[k], strlen(words[k]));
    rl_levels_intern(c->levels, "unused", 6);
    for (size_t i = 0; i < nrows; i++) {
        n->num[i] = rl_rng_below(&r, 6) == 0 ? NAN : rl_rng_normal(&r) * 1e3;
        c->codes[i] = rl_rng_below(&r, 6) == 0 ? -1 : (int32_t)rl_rng_below(&r, nw);
        const char *w = words[rl_rng_below(&r, nw)];
        s->codes[i] = rl_rng_below(&r, 6) == 0 ? -1 : rl_levels_intern(s->levels, w, strlen(w));
    }
    assert_int_equal(rl_table_add(t, n, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, c, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, s, NULL), RL_OK);
    return t;
}

static void test_round_trip(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        rl_table *t = sample_table(seed, 500);
        rl_buf b = RL_BUF_INIT;
        rl_error err;
        assert_int_equal(rl_table_write_buf(&b, RL_FMT_ARFF, t, "round trip", &err), RL_OK);
        rl_table *back = read_arff(b.data);
        assert_same_table(t, back);
        rl_buf b2 = RL_BUF_INIT;
        assert_int_equal(rl_table_write_buf(&b2, RL_FMT_ARFF, back, "round trip", &err), RL_OK);
        assert_string_equal(b.data, b2.data);
        rl_buf_fini(&b2);
        rl_buf_fini(&b);
        rl_table_free(back);
        rl_table_free(t);
    }
}

static void test_write_exact(void **state)
{
    (void)state;
    rl_table *t = rl_table_new(3);
    rl_column *b = rl_column_new("ok", RL_TYPE_BOOLEAN, 3);
    b->num[0] = 1;
    b->num[1] = 0;
    rl_column *n = rl_column_new("x", RL_TYPE_NUMERIC, 3);
    n->num[0] = 0.1;
    n->num[2] = -7;
    rl_column *s = rl_column_new("s", RL_TYPE_STRING, 3);
    s->codes[0] = rl_levels_intern(s->levels, "a b", 3);
    s->codes[2] = rl_levels_intern(s->levels, "?", 1);
    assert_int_equal(rl_table_add(t, b, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, n, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, s, NULL), RL_OK);
    rl_buf out = RL_BUF_INIT;
    rl_error err;
    assert_int_equal(rl_table_write_buf(&out, RL_FMT_ARFF, t, NULL, &err), RL_OK);
    assert_string_equal(out.data, "@relation relearn\n\n"
                                  "@attribute ok {false,true}\n"
                                  "@attribute x numeric\n"
                                  "@attribute s string\n\n"
                                  "@data\n"
                                  "true,0.1,'a b'\n"
                                  "false,?,?\n"
                                  "?,-7,'?'\n");
    /* booleans come back as a categorical {false,true} */
    rl_table *back = read_arff(out.data);
    const rl_column *ok = col(back, "ok");
    assert_int_equal(ok->type, RL_TYPE_STRING);
    assert_int_equal(ok->flags, RL_COL_CATEGORICAL);
    assert_string_equal(sv(back, "ok", 0), "true");
    assert_string_equal(sv(back, "s", 2), "?");
    assert_null(sv(back, "s", 1));
    rl_table_free(back);
    rl_buf_fini(&out);
    /* and through a file */
    char path[] = "/tmp/test_arff_XXXXXX.arff";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(rl_table_write_file(path, RL_FMT_AUTO, t, &err), RL_OK);
    assert_int_equal(rl_table_read_file(path, NULL, &back, &err), RL_OK);
    assert_int_equal(rl_table_nrows(back), 3);
    assert_int_equal(col(back, "ok")->flags, RL_COL_CATEGORICAL);
    rl_table_free(back);
    unlink(path);
    rl_table_free(t);
}

static void test_truncations(void **state)
{
    (void)state;
    const char *s = "% c\n@relation r\n@attribute a {x,'y z'}\n@attribute b numeric\n"
                    "@attribute c string\n@data\nx,1,'q\\'s'\n'y z',2.5,?\n";
    size_t len = strlen(s);
    rl_read_opts o = {.format = RL_FMT_ARFF};
    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, s, n);
        rl_table *t = NULL;
        rl_error err;
        int rc = rl_table_read_mem(copy, n, &o, &t, &err);
        assert_true(rc == RL_OK || rc == RL_EPARSE);
        if (rc == RL_OK) rl_table_free(t);
        free(copy);
    }
}

static void test_oom(void **state)
{
    (void)state;
    rl_table *t = sample_table(7, 200);
    rl_buf text = RL_BUF_INIT;
    assert_int_equal(rl_table_write_buf(&text, RL_FMT_ARFF, t, NULL, NULL), RL_OK);
    rl_read_opts o = {.format = RL_FMT_ARFF};
    int ok = 0;
    for (long k = 0; k < 5000 && !ok; k++) {
        rl_table *r = NULL;
        rl_error err;
        rl_mem_fail_after(k);
        int rc = rl_table_read_mem(text.data, text.len, &o, &r, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            ok = 1;
            rl_table_free(r);
        } else {
            if (rc != RL_ENOMEM) fprintf(stderr, "k=%ld: %s\n", k, err.msg);
            assert_int_equal(rc, RL_ENOMEM);
        }
    }
    assert_true(ok);
    ok = 0;
    for (long k = 0; k < 5000 && !ok; k++) {
        rl_buf out = RL_BUF_INIT;
        rl_mem_fail_after(k);
        int rc = rl_table_write_buf(&out, RL_FMT_ARFF, t, "r", NULL);
        rl_mem_fail_reset();
        if (rc == RL_OK)
            ok = 1;
        else
            assert_int_equal(rc, RL_ENOMEM);
        rl_buf_fini(&out);
    }
    assert_true(ok);
    rl_buf_fini(&text);
    rl_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weather_fixture), cmocka_unit_test(test_unused_levels_and_quotes),
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_write_exact),
        cmocka_unit_test(test_truncations),     cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
