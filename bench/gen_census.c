/* gen_census.c - writes census-like data (data/census.h) as CSV, for the
 * parity script and the benchmarks until `relearn generate census` exists.
 *
 *   gen_census ROWS SEED SHIFT OUT.csv     (OUT "-" writes standard output)
 *
 * Build: cc -O2 -Isrc bench/gen_census.c build/release/librelearn.a <Makefile LIBS>
 * The CSV is written here with the table's own text conversion
 * (rl_column_text) because the data layer's writer is not in the tree yet;
 * none of the census levels needs quoting.
 */
#include "base/error.h"
#include "data/census.h"
#include "data/table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *v = x;
    return 0;
}

static int write_csv(FILE *f, const rl_table *t)
{
    size_t nc = rl_table_ncols(t), nr = rl_table_nrows(t);
    char num[32];
    for (size_t j = 0; j < nc; j++)
        fprintf(f, "%s%s", j ? "," : "", rl_table_col(t, j)->name);
    fputc('\n', f);
    for (size_t i = 0; i < nr; i++) {
        for (size_t j = 0; j < nc; j++) {
            size_t len;
            const char *s = rl_column_text(rl_table_col(t, j), i, num, &len);
            if (j) fputc(',', f);
            fwrite(s, 1, len, f);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
    uint64_t rows, seed;
    char *end;
    if (argc != 5 || parse_u64(argv[1], &rows) || parse_u64(argv[2], &seed)) {
        fprintf(stderr, "usage: gen_census ROWS SEED SHIFT OUT.csv\n");
        return 2;
    }
    double shift = strtod(argv[3], &end);
    if (end == argv[3] || *end) {
        fprintf(stderr, "gen_census: shift '%s' is not a number\n", argv[3]);
        return 2;
    }
    rl_error err;
    rl_table *t;
    if (rl_census_generate((size_t)rows, seed, shift, &t, &err)) {
        fprintf(stderr, "gen_census: %s\n", err.msg);
        return 1;
    }
    int to_stdout = strcmp(argv[4], "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(argv[4], "w");
    if (!f) {
        fprintf(stderr, "gen_census: cannot open %s: %s\n", argv[4], strerror(errno));
        rl_table_free(t);
        return 1;
    }
    int bad = write_csv(f, t);
    if (!to_stdout && fclose(f)) bad = -1;
    rl_table_free(t);
    if (bad) {
        fprintf(stderr, "gen_census: writing %s failed\n", argv[4]);
        return 1;
    }
    return 0;
}
