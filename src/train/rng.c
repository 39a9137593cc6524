#include "train/rng.h"

#include <math.h>

void bend_rng_seed(bend_rng *r, uint64_t seed)
{
    r->state = seed ^ 0x5DEECE66DULL;
}

uint64_t bend_rng_next(bend_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double bend_rng_uniform(bend_rng *r)
{
    return (double)(bend_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double bend_rng_normal(bend_rng *r)
{
    /* 1 - u keeps the log argument in (0, 1] */
    double u1 = 1.0 - bend_rng_uniform(r), u2 = bend_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
