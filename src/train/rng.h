/* A small seeded generator for the training code (initialisation, dropout masks): splitmix64,
 * so the same seed gives the same stream on every rank and platform. Not torch's generator:
 * parity tests load weights from fixtures instead of relying on equal draws. */
#ifndef BEND_TRAIN_RNG_H
#define BEND_TRAIN_RNG_H

#include <stdint.h>

typedef struct bend_rng {
    uint64_t state;
} bend_rng;

void bend_rng_seed(bend_rng *r, uint64_t seed);
uint64_t bend_rng_next(bend_rng *r);
double bend_rng_uniform(bend_rng *r);             /* [0, 1) with 53 random bits */
double bend_rng_normal(bend_rng *r);              /* standard normal (Box-Muller) */

#endif
