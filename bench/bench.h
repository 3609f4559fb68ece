/* bench.h - what bench/ingest.c and bench/score.c share: the clock they time
 * with (monotonic, in seconds). */
#ifndef RL_BENCH_H
#define RL_BENCH_H

#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
