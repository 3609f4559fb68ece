/* rng.h - a small, fast, seedable random generator (xoshiro256**, seeded by
 * splitmix64). The same seed gives the same sequence on every machine, which
 * Split Data and the census generator rely on.
 *
 * Thread safety: a generator belongs to one thread at a time.
 */
#ifndef RL_BASE_RNG_H
#define RL_BASE_RNG_H

#include <stdint.h>

typedef struct rl_rng {
    uint64_t s[4];
} rl_rng;

void rl_rng_seed(rl_rng *r, uint64_t seed);
uint64_t rl_rng_next(rl_rng *r);
/* Uniform in [0, 1). */
double rl_rng_uniform(rl_rng *r);
/* Uniform integer in [0, n); n > 0. */
uint64_t rl_rng_below(rl_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double rl_rng_normal(rl_rng *r);

#endif
