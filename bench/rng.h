/*
 * The deterministic random inputs of the tests and the benchmark: splitmix64
 * (independent of libc's rand(), so inputs are the same on every machine)
 * and normal values by Box-Muller. It sits beside the benchmark's
 * description of the operations (ops.h), which tests share too, and is
 * header-only, so the tests use it without linking anything of the
 * benchmark and build with CLQ_BUILD_BENCH off.
 */
#ifndef CLQ_RNG_H
#define CLQ_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct clq_rng {
    uint64_t state; /* the seed, then the generator's state */
} clq_rng;

static inline uint64_t clq_rng_next(clq_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 24 random bits. */
static inline float clq_rng_uniform(clq_rng *r)
{
    return (float)(clq_rng_next(r) >> 40) / (float)(1u << 24);
}

/* Two independent normal values of standard deviation sd from two uniforms
 * (u1 in (0, 1], so log(u1) is finite; u2 in [0, 1)). */
static inline void clq_rng_normal_pair(clq_rng *r, float sd, float *first, float *second)
{
    double u1 = ((clq_rng_next(r) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (clq_rng_next(r) >> 11) / 9007199254740992.0;
    double radius = sd * sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
    *first = (float)(radius * cos(angle));
    *second = (float)(radius * sin(angle));
}

/* One normal value (the first of a pair; the second is dropped). */
static inline float clq_rng_normal(clq_rng *r, float sd)
{
    float first, second;
    clq_rng_normal_pair(r, sd, &first, &second);
    return first;
}

#endif /* CLQ_RNG_H */
