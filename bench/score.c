/* score.c - times batch scoring end to end inside one process, as the Python
 * peer is timed: read the CSV file, replay the transforms and predict, write
 * the scored CSV file. The model is loaded once, before the clock starts (the
 * peer's fitted model is already in memory too).
 *
 * Usage: score MODEL DATA OUT [RUNS]   (prints one "run: SECONDS" line a run)
 * Build: bench/engine.py builds it against build/release/librelearn.a.
 */
#include "bench.h"
#include "base/mem.h"
#include "data/io.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL DATA OUT [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 3;
    if (runs < 1) runs = 1;
    rl_error err;
    rl_error_clear(&err);
    rl_model *m = NULL;
    if (rl_model_load_file(argv[1], &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int r = 0; r < runs; r++) {
        rl_read_opts opts = {0};
        rl_table *in = NULL, *scored = NULL;
        double t0 = bench_now();
        int rc = rl_table_read_file(argv[2], &opts, &in, &err);
        if (!rc) rc = rl_model_score(m, in, 0, &scored, &err);
        if (!rc) rc = rl_table_write_file(argv[3], RL_FMT_AUTO, scored, &err);
        double dt = bench_now() - t0;
        rl_table_free(in);
        rl_table_free(scored);
        if (rc) {
            fprintf(stderr, "%s\n", err.msg);
            rl_model_unref(m);
            return 1;
        }
        printf("run: %.6f\n", dt);
    }
    rl_model_unref(m);
    return 0;
}
