/* ingest.c - times the CSV/TSV/ARFF readers and writers on a file.
 *
 * Usage: ingest FILE [RUNS]   (parses FILE's bytes RUNS times, reads the file
 * RUNS times, writes the table back RUNS times in its own format; prints each
 * run's seconds of the parse and the write, then the best time of each as
 * rows/s and MB/s).
 * Build: cc -O2 -Isrc bench/ingest.c build/release/librelearn.a -lm -pthread
 *        -o build/release/bench_ingest   (plus the library's other -l flags)
 */
#include "bench.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "data/io.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
    if (runs < 1) runs = 1;
    rl_error err;
    char *data;
    size_t len;
    if (rl_file_read_all(argv[1], &data, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rl_read_opts opts = {.format = rl_format_from_path(argv[1]), .source = argv[1]};
    double best_read = 1e30, best_write = 1e30;
    rl_table *t = NULL;
    size_t out_len = 0;
    for (int r = 0; r < runs; r++) {
        rl_table_free(t);
        t = NULL;
        double t0 = bench_now();
        if (rl_table_read_mem(data, len, &opts, &t, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double dt = bench_now() - t0;
        printf("read run: %.6f\n", dt);
        if (dt < best_read) best_read = dt;
    }
    for (int r = 0; r < runs; r++) {
        rl_buf b = RL_BUF_INIT;
        double t0 = bench_now();
        if (rl_table_write_buf(&b, opts.format, t, NULL, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double dt = bench_now() - t0;
        printf("write run: %.6f\n", dt);
        if (dt < best_write) best_write = dt;
        out_len = b.len;
        rl_buf_fini(&b);
    }
    double best_file = 1e30;
    for (int r = 0; r < runs; r++) {
        rl_table *t2;
        double t0 = bench_now();
        if (rl_table_read_file(argv[1], &opts, &t2, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double dt = bench_now() - t0;
        if (dt < best_file) best_file = dt;
        rl_table_free(t2);
    }
    size_t rows = rl_table_nrows(t);
    printf("%s: %zu rows, %zu columns, %.1f MB\n", argv[1], rows, rl_table_ncols(t),
           (double)len / 1e6);
    printf("read:  %.3f s  %.2f M rows/s  %.0f MB/s\n", best_read, (double)rows / best_read / 1e6,
           (double)len / best_read / 1e6);
    printf("read from the file: %.3f s  %.2f M rows/s  %.0f MB/s\n", best_file,
           (double)rows / best_file / 1e6, (double)len / best_file / 1e6);
    printf("written bytes: %zu\n", out_len);
    printf("write: %.3f s  %.2f M rows/s  %.0f MB/s\n", best_write, (double)rows / best_write / 1e6,
           (double)out_len / best_write / 1e6);
    rl_table_free(t);
    rl_free(data);
    return 0;
}
