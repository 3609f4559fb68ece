/* gen_census.c - writes census-like data (data/census.h) as CSV with the data
 * layer's writer; `relearn generate census` does the same, this stands alone
 * for benchmarks and the parity script (RELEARN_GEN).
 *
 *   gen_census ROWS SEED SHIFT OUT.csv     (OUT "-" writes standard output)
 *
 * Build: cc -O2 -Isrc bench/gen_census.c build/release/librelearn.a <Makefile LIBS>
 */
#include "base/error.h"
#include "data/census.h"
#include "data/io.h"
#include "data/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *v = x;
    return 0;
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
    int rc = rl_table_write_file(argv[4], RL_FMT_CSV, t, &err);
    rl_table_free(t);
    if (rc) {
        fprintf(stderr, "gen_census: %s\n", err.msg);
        return 1;
    }
    return 0;
}
