/* test_csv.c - the CSV and TSV readers and writers (data/io.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/rng.h"
#include "data/io.h"
#include "data/io_impl.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

static rl_table *read_fmt(const char *data, size_t len, rl_format fmt)
{
    rl_read_opts o = {.format = fmt, .source = "t.csv"};
    rl_table *t = NULL;
    rl_error err;
    int rc = rl_table_read_mem(data, len, &o, &t, &err);
    if (rc) fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(rc, RL_OK);
    return t;
}

static rl_table *read_ok(const char *csv)
{
    return read_fmt(csv, strlen(csv), RL_FMT_CSV);
}

/* Reads csv expecting failure with code; returns the message. */
static const char *read_fail_opts(const char *data, size_t len, const rl_read_opts *o, int code)
{
    static rl_error err;
    rl_table *t = (rl_table *)0x1;
    char *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
    assert_non_null(copy);
    memcpy(copy, data, len);
    int rc = rl_table_read_mem(copy, len, o, &t, &err);
    free(copy);
    if (rc != code) fprintf(stderr, "got %d (%s), wanted %d\n", rc, rc ? err.msg : "", code);
    assert_int_equal(rc, code);
    assert_ptr_equal(t, (rl_table *)0x1); /* out untouched on failure */
    assert_true(err.msg[0] != '\0');
    return err.msg;
}

static const char *read_fail(const char *csv, int code)
{
    rl_read_opts o = {.format = RL_FMT_CSV, .source = "t.csv"};
    return read_fail_opts(csv, strlen(csv), &o, code);
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

/* The text of a string cell, NULL when missing. */
static const char *sv(const rl_table *t, const char *name, size_t row)
{
    const rl_column *c = col(t, name);
    assert_int_equal(c->type, RL_TYPE_STRING);
    return c->codes[row] < 0 ? NULL : rl_levels_get(c->levels, c->codes[row]);
}

static double nv(const rl_table *t, const char *name, size_t row)
{
    const rl_column *c = col(t, name);
    assert_true(c->type != RL_TYPE_STRING);
    return c->num[row];
}

/* Whether two tables hold the same names, types and values. */
static void assert_same_table(const rl_table *a, const rl_table *b)
{
    assert_int_equal(rl_table_ncols(a), rl_table_ncols(b));
    assert_int_equal(rl_table_nrows(a), rl_table_nrows(b));
    for (size_t j = 0; j < rl_table_ncols(a); j++) {
        const rl_column *x = rl_table_col(a, j), *y = rl_table_col(b, j);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
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

static char *write_fmt(const rl_table *t, rl_format fmt, size_t *len)
{
    rl_buf b = RL_BUF_INIT;
    rl_error err;
    int rc = rl_table_write_buf(&b, fmt, t, NULL, &err);
    if (rc) fprintf(stderr, "write: %s\n", err.msg);
    assert_int_equal(rc, RL_OK);
    return rl_buf_take(&b, len);
}

/* ---- reading ---- */

static void test_types_and_missing(void **state)
{
    (void)state;
    rl_table *t = read_ok("id,score,ok,name,empty,mixed\n"
                          "1,1.5,true,alice,,1\n"
                          "2,?,FALSE,bob,NA,x\n"
                          "3,-2e3,,NA,?,2\n"
                          "4,NA,True,\"\",,true\n");
    assert_int_equal(rl_table_nrows(t), 4);
    assert_int_equal(rl_table_ncols(t), 6);
    assert_int_equal(col(t, "id")->type, RL_TYPE_NUMERIC);
    assert_int_equal(col(t, "score")->type, RL_TYPE_NUMERIC);
    assert_int_equal(col(t, "ok")->type, RL_TYPE_BOOLEAN);
    assert_int_equal(col(t, "name")->type, RL_TYPE_STRING);
    assert_int_equal(col(t, "empty")->type, RL_TYPE_NUMERIC); /* all missing */
    assert_int_equal(col(t, "mixed")->type, RL_TYPE_STRING);
    assert_true(nv(t, "score", 0) == 1.5 && isnan(nv(t, "score", 1)) &&
                nv(t, "score", 2) == -2000 && isnan(nv(t, "score", 3)));
    assert_true(nv(t, "ok", 0) == 1 && nv(t, "ok", 1) == 0 && isnan(nv(t, "ok", 2)) &&
                nv(t, "ok", 3) == 1);
    assert_string_equal(sv(t, "name", 0), "alice");
    assert_null(sv(t, "name", 2)); /* NA */
    assert_null(sv(t, "name", 3)); /* "" */
    for (size_t i = 0; i < 4; i++)
        assert_true(isnan(nv(t, "empty", i)));
    /* numbers then text: the earlier rows keep their original text */
    assert_string_equal(sv(t, "mixed", 0), "1");
    assert_string_equal(sv(t, "mixed", 1), "x");
    assert_string_equal(sv(t, "mixed", 3), "true");
    /* levels in first-seen order even though "x" was interned first */
    const rl_column *m = col(t, "mixed");
    assert_string_equal(rl_levels_get(m->levels, 0), "1");
    assert_string_equal(rl_levels_get(m->levels, 1), "x");
    assert_string_equal(rl_levels_get(m->levels, 2), "2");
    assert_int_equal(m->flags, 0);
    rl_table_free(t);
}

static void test_refill_keeps_text(void **state)
{
    (void)state;
    /* Many numeric-looking rows, then text, in two columns switching at
     * different rows, and a boolean column turning text. */
    rl_buf b = RL_BUF_INIT;
    rl_buf_puts(&b, "a,b,c\n");
    for (int i = 0; i < 5000; i++)
        rl_buf_printf(&b, "%s,%d.50,%s\n", i == 4000 ? "zz" : "007", i,
                      i == 2500 ? "maybe" : (i % 2 ? "true" : "FALSE"));
    rl_buf_puts(&b, "1e3,text,\n");
    rl_table *t = read_fmt(b.data, b.len, RL_FMT_CSV);
    assert_int_equal(rl_table_nrows(t), 5001);
    assert_string_equal(sv(t, "a", 0), "007");
    assert_string_equal(sv(t, "a", 4000), "zz");
    assert_string_equal(sv(t, "a", 5000), "1e3");
    assert_string_equal(sv(t, "b", 17), "17.50");
    assert_string_equal(sv(t, "b", 5000), "text");
    assert_string_equal(sv(t, "c", 0), "FALSE");
    assert_string_equal(sv(t, "c", 2500), "maybe");
    assert_null(sv(t, "c", 5000));
    const rl_column *a = col(t, "a");
    assert_int_equal(rl_levels_count(a->levels), 3);
    assert_string_equal(rl_levels_get(a->levels, 0), "007");
    assert_string_equal(rl_levels_get(a->levels, 1), "zz");
    rl_table_free(t);
    rl_buf_fini(&b);
}

static void test_quoting(void **state)
{
    (void)state;
    const char csv[] = "\xEF\xBB\xBF"
                       "\"na,me\",\"q\"\"uote\",plain\r\n"
                       "\"a,b\",\"say \"\"hi\"\"\",x\r\n"
                       "\"line1\nline2\r\nline3\",\"\"\"\",\"NA\"\r\n"
                       "\"\",?,\"?\"\r\n";
    rl_table *t = read_fmt(csv, sizeof csv - 1, RL_FMT_CSV);
    assert_int_equal(rl_table_nrows(t), 3);
    assert_string_equal(rl_table_col(t, 0)->name, "na,me");
    assert_string_equal(rl_table_col(t, 1)->name, "q\"uote");
    assert_string_equal(sv(t, "na,me", 0), "a,b");
    assert_string_equal(sv(t, "na,me", 1), "line1\nline2\r\nline3");
    assert_null(sv(t, "na,me", 2));
    assert_string_equal(sv(t, "q\"uote", 0), "say \"hi\"");
    assert_string_equal(sv(t, "q\"uote", 1), "\"");
    assert_null(sv(t, "q\"uote", 2));
    assert_string_equal(sv(t, "plain", 1), "NA"); /* quoted NA is text */
    assert_string_equal(sv(t, "plain", 2), "?");
    rl_table_free(t);

    /* no final newline; quoted numbers are numbers */
    t = read_ok("a,b\n\"1\",2\n3,\"4.5\"");
    assert_int_equal(rl_table_nrows(t), 2);
    assert_true(nv(t, "a", 0) == 1 && nv(t, "b", 1) == 4.5);
    rl_table_free(t);
}

static void test_line_ends_and_blanks(void **state)
{
    (void)state;
    rl_table *t = read_ok("a,b\r1,2\r\r3,4\r");
    assert_int_equal(rl_table_nrows(t), 2); /* CR only; the blank line skipped */
    assert_true(nv(t, "b", 1) == 4);
    rl_table_free(t);
    t = read_ok("\n\na,b\n1,2\n\n3,4\n\n\n");
    assert_int_equal(rl_table_nrows(t), 2);
    rl_table_free(t);
    /* one column: blank lines inside are missing values, at the end ignored */
    t = read_ok("x\n1\n\n3\n\n\n");
    assert_int_equal(rl_table_nrows(t), 3);
    assert_true(nv(t, "x", 0) == 1 && isnan(nv(t, "x", 1)) && nv(t, "x", 2) == 3);
    rl_table_free(t);
    t = read_ok("x\r\n\r\nfoo\r\n\"\"\r\n");
    assert_int_equal(rl_table_nrows(t), 3);
    assert_null(sv(t, "x", 0));
    assert_string_equal(sv(t, "x", 1), "foo");
    assert_null(sv(t, "x", 2));
    rl_table_free(t);
}

static void test_header_only_and_one_column(void **state)
{
    (void)state;
    rl_table *t = read_ok("a,b,c\n");
    assert_int_equal(rl_table_nrows(t), 0);
    assert_int_equal(rl_table_ncols(t), 3);
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(rl_table_col(t, j)->type, RL_TYPE_NUMERIC);
    rl_table_free(t);
    t = read_ok("only");
    assert_int_equal(rl_table_nrows(t), 0);
    assert_int_equal(rl_table_ncols(t), 1);
    rl_table_free(t);
    t = read_ok("v\nx\ny\nx\n");
    assert_int_equal(rl_table_nrows(t), 3);
    assert_int_equal(rl_levels_count(col(t, "v")->levels), 2);
    rl_table_free(t);
}

static void test_tsv(void **state)
{
    (void)state;
    const char tsv[] = "a\tb c\tn\nx,y\t\"tab\there\"\t1\nNA\t\t2.5\n";
    rl_table *t = read_fmt(tsv, sizeof tsv - 1, RL_FMT_TSV);
    assert_int_equal(rl_table_nrows(t), 2);
    assert_string_equal(sv(t, "a", 0), "x,y");
    assert_string_equal(sv(t, "b c", 0), "tab\there");
    assert_null(sv(t, "a", 1));
    assert_null(sv(t, "b c", 1));
    assert_true(nv(t, "n", 1) == 2.5);
    rl_table_free(t);
}

static void test_overrides(void **state)
{
    (void)state;
    const char *csv = "zip,flag,n,cat\n007,1,5,3\n010,0,6,4\n,TRUE,,3\n";
    rl_type_override ov[] = {{"zip", RL_TYPE_STRING, 0},
                             {"flag", RL_TYPE_BOOLEAN, 0},
                             {"cat", RL_TYPE_STRING, RL_COL_CATEGORICAL}};
    rl_read_opts o = {.format = RL_FMT_CSV, .overrides = ov, .noverrides = 3, .source = "o.csv"};
    rl_table *t = NULL;
    rl_error err;
    assert_int_equal(rl_table_read_mem(csv, strlen(csv), &o, &t, &err), RL_OK);
    assert_string_equal(sv(t, "zip", 0), "007");
    assert_null(sv(t, "zip", 2));
    assert_true(nv(t, "flag", 0) == 1 && nv(t, "flag", 1) == 0 && nv(t, "flag", 2) == 1);
    assert_int_equal(col(t, "cat")->flags, RL_COL_CATEGORICAL);
    assert_string_equal(sv(t, "cat", 1), "4");
    assert_int_equal(col(t, "n")->type, RL_TYPE_NUMERIC);
    rl_table_free(t);

    /* a value that does not fit the forced type */
    rl_type_override num[] = {{"n", RL_TYPE_NUMERIC, 0}};
    o.overrides = num;
    o.noverrides = 1;
    const char *bad = "a,n\n1,2\n2,3\n3,three\n";
    const char *msg = read_fail_opts(bad, strlen(bad), &o, RL_EPARSE);
    assert_contains(msg, "o.csv:4:2:");
    assert_contains(msg, "'three'");
    assert_contains(msg, "'n'");
    rl_type_override boo[] = {{"n", RL_TYPE_BOOLEAN, 0}};
    o.overrides = boo;
    msg = read_fail_opts(bad, strlen(bad), &o, RL_EPARSE);
    assert_contains(msg, "o.csv:2:2:");
    assert_contains(msg, "'2'");
    /* an unknown column */
    rl_type_override unk[] = {{"nope", RL_TYPE_NUMERIC, 0}};
    o.overrides = unk;
    msg = read_fail_opts(bad, strlen(bad), &o, RL_ESCHEMA);
    assert_contains(msg, "'nope'");
    assert_contains(msg, "'a', 'n'");
}

static void test_errors(void **state)
{
    (void)state;
    const char *m;
    m = read_fail("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4\n", RL_EPARSE);
    assert_contains(m, "t.csv:3:4:");
    assert_contains(m, "row has 4 fields, the header has 5");
    m = read_fail("a,b\n1,2\n1,2,3\n", RL_EPARSE);
    assert_contains(m, "t.csv:3:3:");
    assert_contains(m, "row has 3 fields, the header has 2");
    m = read_fail("a,b\n1,2\n3,\"open\n\n4,5\n", RL_EPARSE);
    assert_contains(m, "t.csv:3:2:");
    assert_contains(m, "never closed");
    m = read_fail("a,b\n1,x\"y\n", RL_EPARSE);
    assert_contains(m, "t.csv:2:2:");
    assert_contains(m, "quote inside unquoted");
    m = read_fail("a,b\n1,\"x\"y\n", RL_EPARSE);
    assert_contains(m, "t.csv:2:2:");
    assert_contains(m, "after the closing quote");
    m = read_fail("a,,c\n1,2,3\n", RL_EPARSE);
    assert_contains(m, "t.csv:1:2:");
    assert_contains(m, "empty name");
    m = read_fail("a,b,\"a\"\n1,2,3\n", RL_EPARSE);
    assert_contains(m, "t.csv:1:3:");
    assert_contains(m, "'a' appears twice");
    m = read_fail("", RL_EPARSE);
    assert_contains(m, "no header");
    m = read_fail("\xEF\xBB\xBF", RL_EPARSE);
    assert_contains(m, "no header");
    m = read_fail("\xEF\xBB\xBF\xFF", RL_EPARSE);
    assert_contains(m, "t.csv:1:1:");
    m = read_fail("\n\r\n\n", RL_EPARSE);
    assert_contains(m, "no header");
    m = read_fail("a,b\n1,caf\xC3\n", RL_EPARSE);
    assert_contains(m, "t.csv:2:2:");
    assert_contains(m, "UTF-8");
    m = read_fail("a,b\n1,\"ok\n\xFF\"\n", RL_EPARSE);
    assert_contains(m, "t.csv:3:2:");
    m = read_fail("a,\xED\xA0\x80\n", RL_EPARSE); /* a surrogate */
    assert_contains(m, "t.csv:1:2:");
    m = read_fail("\xFF\xFE"
                  "a\0,\0b\0",
                  RL_EPARSE);
    assert_contains(m, "UTF-16");
    rl_read_opts o = {.format = RL_FMT_CSV, .source = "t.csv"};
    const char nul[] = "a,b\n1,x\0y\n";
    m = read_fail_opts(nul, sizeof nul - 1, &o, RL_EPARSE);
    assert_contains(m, "t.csv:2:2:");
    assert_contains(m, "NUL");
    const char nulq[] = "a,b\n1,\"x\0y\"\n";
    m = read_fail_opts(nulq, sizeof nulq - 1, &o, RL_EPARSE);
    assert_contains(m, "NUL");
    /* a source name by default */
    rl_error err;
    rl_table *t;
    assert_int_equal(rl_table_read_mem("a\n\"", 3, NULL, &t, &err), RL_EPARSE);
    assert_contains(err.msg, "<input>:2:1:");
}

static void test_max_field(void **state)
{
    (void)state;
    size_t big = (1u << 20) + 10;
    char *s = malloc(big + 64);
    assert_non_null(s);
    memcpy(s, "a,b\n1,", 6);
    memset(s + 6, 'x', big);
    memcpy(s + 6 + big, "\n", 2);
    rl_read_opts o = {.format = RL_FMT_CSV, .source = "big.csv"};
    const char *m = read_fail_opts(s, strlen(s), &o, RL_ETOOBIG);
    assert_contains(m, "big.csv:2:2:");
    /* raised limit: accepted */
    o.max_field = 2u << 20;
    rl_table *t = NULL;
    rl_error err;
    assert_int_equal(rl_table_read_mem(s, strlen(s), &o, &t, &err), RL_OK);
    assert_int_equal(strlen(sv(t, "b", 0)), big);
    rl_table_free(t);
    /* quoted, with a small limit */
    o.max_field = 4;
    m = read_fail_opts("a\n\"12345\"\n", 10, &o, RL_ETOOBIG);
    assert_contains(m, "big.csv:2:1:");
    assert_int_equal(rl_table_read_mem("a\n\"1234\"\n", 9, &o, &t, &err), RL_OK);
    rl_table_free(t);
    m = read_fail_opts("abcde\n1\n", 8, &o, RL_ETOOBIG);
    assert_contains(m, "big.csv:1:1:");
    free(s);
}

static void test_many_columns(void **state)
{
    (void)state;
    size_t ncols = 20000;
    rl_buf b = RL_BUF_INIT;
    for (size_t j = 0; j < ncols; j++)
        rl_buf_printf(&b, "%sc%zu", j ? "," : "", j);
    rl_buf_putc(&b, '\n');
    for (int r = 0; r < 3; r++) {
        for (size_t j = 0; j < ncols; j++)
            rl_buf_printf(&b, "%s%zu", j ? "," : "", j * r);
        rl_buf_putc(&b, '\n');
    }
    rl_table *t = read_fmt(b.data, b.len, RL_FMT_CSV);
    assert_int_equal(rl_table_ncols(t), ncols);
    assert_int_equal(rl_table_nrows(t), 3);
    assert_true(nv(t, "c19999", 2) == 39998);
    rl_table_free(t);
    /* duplicate far apart */
    rl_buf_fini(&b);
    for (size_t j = 0; j < ncols; j++)
        rl_buf_printf(&b, "%sc%zu", j ? "," : "", j % 15000);
    const char *m = read_fail(b.data, RL_EPARSE);
    assert_contains(m, "t.csv:1:15001:");
    rl_buf_fini(&b);
}

/* The column arrays are sized from a sample of the first 64 KiB: long rows
 * first and short ones after make them grow many times. */
static void test_growth(void **state)
{
    (void)state;
    rl_buf b = RL_BUF_INIT;
    rl_buf_puts(&b, "id,text,n\n");
    size_t nrows = 0;
    while (b.len < 80000) {
        rl_buf_printf(&b, "%zu,%0500d,%zu.5\n", nrows, 7, nrows);
        nrows++;
    }
    size_t nlong = nrows;
    for (size_t i = 0; i < 200000; i++, nrows++)
        rl_buf_printf(&b, "%zu,s,%zu\n", nrows, i % 3);
    rl_buf_puts(&b, "0,s,x\n"); /* n turns to text at the very end */
    nrows++;
    rl_table *t = read_fmt(b.data, b.len, RL_FMT_CSV);
    assert_int_equal(rl_table_nrows(t), nrows);
    assert_true(nv(t, "id", nrows - 2) == (double)(nrows - 2));
    assert_int_equal(strlen(sv(t, "text", 0)), 500);
    assert_string_equal(sv(t, "text", nlong), "s");
    assert_string_equal(sv(t, "n", 1), "1.5");
    assert_string_equal(sv(t, "n", nlong + 2), "2");
    assert_string_equal(sv(t, "n", nrows - 1), "x");
    rl_table_free(t);
    /* CR line ends only: no line feed to count in the sample */
    rl_buf_fini(&b);
    rl_buf_puts(&b, "a\r");
    for (int i = 0; i < 100000; i++)
        rl_buf_printf(&b, "%d\r", i);
    t = read_fmt(b.data, b.len, RL_FMT_CSV);
    assert_int_equal(rl_table_nrows(t), 100000);
    assert_true(nv(t, "a", 99999) == 99999);
    rl_table_free(t);
    rl_buf_fini(&b);
}

/* Blank lines in a wide file cost no memory per column. */
static void test_blank_lines_wide(void **state)
{
    (void)state;
    rl_buf b = RL_BUF_INIT;
    for (size_t j = 0; j < 2000; j++)
        rl_buf_printf(&b, "%sc%zu", j ? "," : "", j);
    for (size_t i = 0; i < 200000; i++)
        rl_buf_putc(&b, '\n');
    rl_table *t = read_fmt(b.data, b.len, RL_FMT_CSV);
    assert_int_equal(rl_table_nrows(t), 0);
    rl_table_free(t);
    rl_buf_fini(&b);
}

/* Every prefix of a valid file either parses or fails cleanly. */
static void test_truncations(void **state)
{
    (void)state;
    const char csv[] = "a,\"b\"\"x\",c\n1,\"two, 2\",true\n\"3\",\"multi\nline\",false\n";
    for (size_t n = 0; n <= sizeof csv - 1; n++) {
        rl_table *t = NULL;
        rl_error err;
        char *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        memcpy(copy, csv, n);
        int rc = rl_table_read_mem(copy, n, NULL, &t, &err);
        assert_true(rc == RL_OK || rc == RL_EPARSE);
        if (rc == RL_OK) rl_table_free(t);
        free(copy);
    }
}

/* ---- writing ---- */

static void test_write_quoting(void **state)
{
    (void)state;
    rl_table *t = rl_table_new(4);
    rl_column *s = rl_column_new("s,1", RL_TYPE_STRING, 4);
    const char *vals[] = {"plain", "a,b", "say \"hi\"", "NA"};
    for (int i = 0; i < 4; i++)
        s->codes[i] = rl_levels_intern(s->levels, vals[i], strlen(vals[i]));
    rl_column *n = rl_column_new("n", RL_TYPE_NUMERIC, 4);
    n->num[0] = 0.1;
    n->num[1] = -3;
    n->num[3] = 1e300;
    rl_column *b = rl_column_new("b", RL_TYPE_BOOLEAN, 4);
    b->num[0] = 1;
    b->num[2] = 0;
    assert_int_equal(rl_table_add(t, s, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, n, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, b, NULL), RL_OK);
    size_t len;
    char *out = write_fmt(t, RL_FMT_CSV, &len);
    assert_string_equal(out, "\"s,1\",n,b\n"
                             "plain,0.1,true\n"
                             "\"a,b\",-3,\n"
                             "\"say \"\"hi\"\"\",,false\n"
                             "\"NA\",1e+300,\n");
    rl_table *back = read_fmt(out, len, RL_FMT_CSV);
    assert_same_table(t, back);
    rl_table_free(back);
    rl_free(out);
    out = write_fmt(t, RL_FMT_TSV, &len);
    assert_string_equal(out, "s,1\tn\tb\nplain\t0.1\ttrue\na,b\t-3\t\n\"say \"\"hi\"\"\"\t\tfalse\n"
                             "\"NA\"\t1e+300\t\n");
    rl_free(out);
    /* a buffer keeps what it had when writing fails */
    rl_buf buf = RL_BUF_INIT;
    rl_buf_puts(&buf, "keep");
    rl_table *empty = rl_table_new(0);
    rl_error err;
    assert_int_equal(rl_table_write_buf(&buf, RL_FMT_CSV, empty, NULL, &err), RL_EINVAL);
    assert_string_equal(buf.data, "keep");
    rl_column *unnamed = rl_column_new("", RL_TYPE_NUMERIC, 0);
    assert_int_equal(rl_table_add(empty, unnamed, NULL), RL_OK);
    assert_int_equal(rl_table_write_buf(&buf, RL_FMT_CSV, empty, NULL, &err), RL_EINVAL);
    assert_string_equal(buf.data, "keep");
    rl_buf_fini(&buf);
    rl_table_free(empty);
    rl_table_free(t);
}

static void test_write_one_column_missing(void **state)
{
    (void)state;
    rl_table *t = read_ok("x\n1\n\n2\n\"\"\n");
    assert_int_equal(rl_table_nrows(t), 4);
    size_t len;
    char *out = write_fmt(t, RL_FMT_CSV, &len);
    assert_string_equal(out, "x\n1\n\"\"\n2\n\"\"\n");
    rl_table *back = read_fmt(out, len, RL_FMT_CSV);
    assert_same_table(t, back);
    rl_table_free(back);
    rl_free(out);
    rl_table_free(t);
}

/* A random table with awkward text, written and read back in CSV and TSV. */
static rl_table *random_table(uint64_t seed, size_t nrows)
{
    rl_rng r;
    rl_rng_seed(&r, seed);
    static const char *words[] = {
        "a",        "b,c",         "quote\"d", "multi\nline",  "cr\rx",  "tab\tx", "NA", "?",
        " padded ", "caf\xC3\xA9", "true1",    "\xE2\x82\xAC", "x\"\"y", "-",      ",,"};
    rl_table *t = rl_table_new(nrows);
    rl_column *n = rl_column_new("num", RL_TYPE_NUMERIC, nrows);
    rl_column *s = rl_column_new("text, quoted \"name\"", RL_TYPE_STRING, nrows);
    rl_column *b = rl_column_new("flag", RL_TYPE_BOOLEAN, nrows);
    rl_column *i = rl_column_new("int", RL_TYPE_NUMERIC, nrows);
    for (size_t k = 0; k < nrows; k++) {
        uint64_t u = rl_rng_next(&r);
        double d;
        memcpy(&d, &u, sizeof d);
        if (isnan(d) || isinf(d)) d = 0.25;
        n->num[k] = rl_rng_below(&r, 8) == 0 ? NAN : rl_rng_below(&r, 2) ? d : rl_rng_normal(&r);
        const char *w = words[rl_rng_below(&r, sizeof words / sizeof *words)];
        s->codes[k] = rl_rng_below(&r, 9) == 0 ? -1 : rl_levels_intern(s->levels, w, strlen(w));
        b->num[k] = rl_rng_below(&r, 7) == 0 ? NAN : (double)rl_rng_below(&r, 2);
        i->num[k] = (double)((int64_t)rl_rng_below(&r, 2000000) - 1000000);
    }
    /* levels in first-seen order, as a reader makes them */
    rl_column *s2 = rl_column_new(s->name, RL_TYPE_STRING, nrows);
    for (size_t k = 0; k < nrows; k++)
        s2->codes[k] = s->codes[k] < 0
                           ? -1
                           : rl_levels_intern(s2->levels, rl_levels_get(s->levels, s->codes[k]),
                                              rl_levels_len(s->levels, s->codes[k]));
    rl_column_unref(s);
    assert_int_equal(rl_table_add(t, n, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, s2, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, b, NULL), RL_OK);
    assert_int_equal(rl_table_add(t, i, NULL), RL_OK);
    return t;
}

static void test_round_trip(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        rl_table *t = random_table(seed, 2000);
        const rl_format fmts[] = {RL_FMT_CSV, RL_FMT_TSV};
        for (int f = 0; f < 2; f++) {
            size_t len;
            char *out = write_fmt(t, fmts[f], &len);
            rl_table *back = read_fmt(out, len, fmts[f]);
            assert_same_table(t, back);
            /* and writing that again gives the same bytes */
            size_t len2;
            char *out2 = write_fmt(back, fmts[f], &len2);
            assert_int_equal(len, len2);
            assert_memory_equal(out, out2, len);
            rl_free(out2);
            rl_free(out);
            rl_table_free(back);
        }
        rl_table_free(t);
    }
}

/* A sink that collects the pieces, or fails at piece fail_at (1-based). */
typedef struct sink {
    rl_buf all;
    int pieces, fail_at;
    size_t largest;
} sink;

static int collect(void *ctx, const char *data, size_t len, rl_error *err)
{
    sink *s = ctx;
    if (++s->pieces == s->fail_at) return rl_error_set(err, RL_EIO, "the disk is full");
    if (len > s->largest) s->largest = len;
    return rl_buf_append(&s->all, data, len);
}

/* rl_table_write_to hands out the same bytes as rl_table_write_buf, in
 * pieces of at most 1 MiB for CSV and TSV (one for ARFF), and stops at the
 * first piece its sink refuses, with the sink's error. */
static void test_write_to_pieces(void **state)
{
    (void)state;
    rl_table *t = random_table(7, 150000);
    const rl_format fmts[] = {RL_FMT_CSV, RL_FMT_TSV, RL_FMT_ARFF};
    for (int f = 0; f < 3; f++) {
        size_t len;
        rl_buf whole = RL_BUF_INIT;
        rl_error err;
        assert_int_equal(rl_table_write_buf(&whole, fmts[f], t, "r", &err), RL_OK);
        len = whole.len;
        sink s = {RL_BUF_INIT, 0, 0, 0};
        assert_int_equal(rl_table_write_to(collect, &s, fmts[f], t, "r", &err), RL_OK);
        assert_int_equal(s.all.len, len);
        assert_memory_equal(s.all.data, whole.data, len);
        if (fmts[f] == RL_FMT_ARFF) {
            assert_int_equal(s.pieces, 1);
        } else {
            assert_true(len > ((size_t)2 << 20));
            assert_true(s.pieces > 2);
            assert_true(s.largest <= ((size_t)1 << 20));
        }
        sink bad = {RL_BUF_INIT, 0, 2, 0};
        assert_int_equal(rl_table_write_to(collect, &bad, fmts[f], t, "r", &err),
                         fmts[f] == RL_FMT_ARFF ? RL_OK : RL_EIO);
        if (fmts[f] != RL_FMT_ARFF) {
            assert_string_equal(err.msg, "the disk is full");
            assert_int_equal(bad.pieces, 2);
        }
        rl_buf_fini(&bad.all);
        rl_buf_fini(&s.all);
        rl_buf_fini(&whole);
    }
    rl_table_free(t);
}

/* The writers' fast number formatting prints exactly what rl_format_double
 * prints. */
static void test_format_number(void **state)
{
    (void)state;
    rl_rng r;
    rl_rng_seed(&r, 5);
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e12, 1e15};
    for (int i = 0; i < 400000; i++) {
        double v;
        switch (i % 4) {
        case 0: { /* short decimals */
            double m = (double)rl_rng_below(&r, (uint64_t)p10[1 + rl_rng_below(&r, 12)]);
            v = m / p10[rl_rng_below(&r, 13)];
            break;
        }
        case 1: { /* any bits */
            uint64_t u = rl_rng_next(&r);
            memcpy(&v, &u, sizeof v);
            break;
        }
        case 2:
            v = rl_rng_normal(&r) * p10[rl_rng_below(&r, 13)];
            break;
        default:
            v = (double)(float)rl_rng_uniform(&r);
            break; /* float scores */
        }
        if (rl_rng_below(&r, 2)) v = -v;
        char a[40], b[40];
        size_t na = rl_format_number(a, v), nb = rl_format_double(b, v);
        if (na != nb || memcmp(a, b, na) != 0) {
            fprintf(stderr, "%.17g: fast '%.*s', rl_format_double '%.*s'\n", v, (int)na, a, (int)nb,
                    b);
            fail();
        }
    }
    const double edge[] = {1e-4,
                           0.0001000000000000001,
                           9.99999999999999e-5,
                           999999999999999.9,
                           99999999999999.98,
                           0.99999999999999994,
                           0.5,
                           1e15 - 0.5,
                           123.456,
                           -0.001,
                           1e-5,
                           0.1 + 0.2,
                           1.0 / 3};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        char a[40], b[40];
        size_t na = rl_format_number(a, edge[i]), nb = rl_format_double(b, edge[i]);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
    }
}

/* ---- files ---- */

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_csv_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], tpath[256];
    snprintf(path, sizeof path, "%s/out.CSV", dir);
    snprintf(tpath, sizeof tpath, "%s/out.tsv", dir);
    rl_table *t = random_table(9, 300);
    rl_error err;
    assert_int_equal(rl_table_write_file(path, RL_FMT_AUTO, t, &err), RL_OK);
    assert_int_equal(rl_table_write_file(tpath, RL_FMT_AUTO, t, &err), RL_OK);
    rl_table *a = NULL, *b = NULL;
    assert_int_equal(rl_table_read_file(path, NULL, &a, &err), RL_OK);
    assert_int_equal(rl_table_read_file(tpath, NULL, &b, &err), RL_OK);
    assert_same_table(t, a);
    assert_same_table(t, b);
    rl_table_free(a);
    rl_table_free(b);
    char *bytes;
    size_t len;
    assert_int_equal(rl_file_read_all(tpath, &bytes, &len, &err), RL_OK);
    assert_non_null(memchr(bytes, '\t', len)); /* the extension chose TSV */
    rl_free(bytes);
    /* a missing file */
    char nope[300];
    snprintf(nope, sizeof nope, "%s/nope.csv", dir);
    assert_int_equal(rl_table_read_file(nope, NULL, &a, &err), RL_ENOTFOUND);
    assert_contains(err.msg, "nope.csv");
    /* a parse error names the file */
    assert_int_equal(rl_file_write_atomic(nope, "a,b\n1\n", 6, 0, &err), RL_OK);
    assert_int_equal(rl_table_read_file(nope, NULL, &a, &err), RL_EPARSE);
    assert_contains(err.msg, "nope.csv:2:1:");
    /* a large file (mapped rather than copied) */
    rl_table *big = random_table(3, 60000);
    char bigpath[300];
    snprintf(bigpath, sizeof bigpath, "%s/big.csv", dir);
    assert_int_equal(rl_table_write_file(bigpath, RL_FMT_CSV, big, &err), RL_OK);
    assert_int_equal(rl_table_read_file(bigpath, NULL, &a, &err), RL_OK);
    assert_same_table(big, a);
    rl_table_free(a);
    rl_table_free(big);

    /* "-": standard input and output */
    int saved_in = dup(0), saved_out = dup(1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    dup2(fd, 0);
    close(fd);
    rl_read_opts o = {.format = RL_FMT_CSV};
    assert_int_equal(rl_table_read_file("-", &o, &a, &err), RL_OK);
    dup2(saved_in, 0);
    close(saved_in);
    assert_same_table(t, a);
    rl_table_free(a);
    char opath[300];
    snprintf(opath, sizeof opath, "%s/stdout.txt", dir);
    fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stdout);
    dup2(fd, 1);
    close(fd);
    int rc = rl_table_write_file("-", RL_FMT_TSV, t, &err);
    dup2(saved_out, 1);
    close(saved_out);
    assert_int_equal(rc, RL_OK);
    rl_read_opts ot = {.format = RL_FMT_TSV};
    assert_int_equal(rl_table_read_file(opath, &ot, &a, &err), RL_OK);
    assert_same_table(t, a);
    rl_table_free(a);
    rl_table_free(t);

    unlink(opath);
    unlink(path);
    unlink(tpath);
    unlink(nope);
    unlink(bigpath);
    rmdir(dir);
}

static void test_format_names(void **state)
{
    (void)state;
    assert_int_equal(rl_format_from_path("a/b.csv"), RL_FMT_CSV);
    assert_int_equal(rl_format_from_path("B.TSV"), RL_FMT_TSV);
    assert_int_equal(rl_format_from_path("x.Arff"), RL_FMT_ARFF);
    assert_int_equal(rl_format_from_path("x.txt"), RL_FMT_AUTO);
    assert_int_equal(rl_format_from_path("dir.csv/x"), RL_FMT_AUTO);
    assert_string_equal(rl_format_name(RL_FMT_CSV), "csv");
    assert_string_equal(rl_format_name(RL_FMT_TSV), "tsv");
    assert_string_equal(rl_format_name(RL_FMT_ARFF), "arff");
}

static void test_fixtures(void **state)
{
    (void)state;
    rl_table *t = NULL;
    rl_error err;
    int rc = rl_table_read_file("tests/data/people.csv", NULL, &t, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, RL_OK);
    assert_int_equal(rl_table_nrows(t), 6);
    assert_int_equal(col(t, "age")->type, RL_TYPE_NUMERIC);
    assert_int_equal(col(t, "member")->type, RL_TYPE_BOOLEAN);
    assert_string_equal(sv(t, "city", 1), "Paris, France");
    assert_string_equal(sv(t, "note", 2), "said \"hi\"\nthen left");
    rl_table *u = NULL;
    assert_int_equal(rl_table_read_file("tests/data/people.tsv", NULL, &u, &err), RL_OK);
    assert_same_table(t, u);
    rl_table_free(u);
    rl_table_free(t);
    assert_int_equal(rl_table_read_file("tests/data/ragged.csv", NULL, &t, &err), RL_EPARSE);
    assert_contains(err.msg, "tests/data/ragged.csv:4:");
}

/* ---- out of memory ---- */

static void test_oom(void **state)
{
    (void)state;
    /* text that turns from numbers, quoted escapes, a boolean, many levels */
    rl_buf b = RL_BUF_INIT;
    rl_buf_puts(&b, "\"a\"\"\",b,c,d\n");
    for (int i = 0; i < 300; i++)
        rl_buf_printf(&b, "%d,\"x\"\"%d\",%s,%s\n", i, i % 37, i % 2 ? "true" : "false",
                      i == 250 ? "late" : "1");
    rl_type_override ov[] = {{"c", RL_TYPE_STRING, RL_COL_CATEGORICAL}};
    rl_read_opts o = {.format = RL_FMT_CSV, .overrides = ov, .noverrides = 1};
    int succeeded = 0;
    for (long k = 0; k < 5000 && !succeeded; k++) {
        rl_table *t = NULL;
        rl_error err;
        rl_mem_fail_after(k);
        int rc = rl_table_read_mem(b.data, b.len, &o, &t, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            succeeded = 1;
            rl_table_free(t);
        } else {
            if (rc != RL_ENOMEM) fprintf(stderr, "k=%ld: %s\n", k, err.msg);
            assert_int_equal(rc, RL_ENOMEM);
            assert_null(t);
        }
    }
    assert_true(succeeded);
    rl_table *t = read_fmt(b.data, b.len, RL_FMT_CSV);
    succeeded = 0;
    for (long k = 0; k < 5000 && !succeeded; k++) {
        rl_buf out = RL_BUF_INIT;
        rl_error err;
        rl_mem_fail_after(k);
        int rc = rl_table_write_buf(&out, k % 2 ? RL_FMT_CSV : RL_FMT_TSV, t, NULL, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK)
            succeeded = 1;
        else
            assert_int_equal(rc, RL_ENOMEM);
        rl_buf_fini(&out);
    }
    assert_true(succeeded);
    rl_table_free(t);
    rl_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_and_missing),
        cmocka_unit_test(test_refill_keeps_text),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_line_ends_and_blanks),
        cmocka_unit_test(test_header_only_and_one_column),
        cmocka_unit_test(test_tsv),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_max_field),
        cmocka_unit_test(test_many_columns),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_blank_lines_wide),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_write_quoting),
        cmocka_unit_test(test_write_one_column_missing),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_write_to_pieces),
        cmocka_unit_test(test_format_number),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
