/* xoshiro256** (Blackman & Vigna), seeded through splitmix64: small, fast, and the same
 * numbers on every platform, so a seed always gives the same bytes. */
#include "demo/demo_internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void demo_rng_init(demo_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t mixed = splitmix64(&x);
    x = mixed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

uint64_t demo_rng_next(demo_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t demo_rng_below(demo_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* Reject the low values that would make x % n uneven. */
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = demo_rng_next(r);
        if (x >= threshold) return x % n;
    }
}

uint64_t demo_rng_range(demo_rng *r, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + demo_rng_below(r, hi - lo + 1);
}

double demo_rng_unit(demo_rng *r) { return (double)(demo_rng_next(r) >> 11) * 0x1.0p-53; }

void demo_rng_shuffle(demo_rng *r, uint32_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)demo_rng_below(r, i);
        uint32_t tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

char demo_rng_base(demo_rng *r) { return "ACGT"[demo_rng_next(r) >> 62]; }

char demo_rng_base_gc(demo_rng *r, double gc)
{
    uint64_t x = demo_rng_next(r);
    bool strong = (double)(x >> 11) * 0x1.0p-53 < gc;
    return strong ? ((x & 1) ? 'G' : 'C') : ((x & 1) ? 'A' : 'T');
}

char demo_rng_other_base(demo_rng *r, char b)
{
    static const char others[4][3] = {{'C', 'G', 'T'}, {'A', 'G', 'T'}, {'A', 'C', 'T'},
                                      {'A', 'C', 'G'}};
    int i = b == 'A' ? 0 : b == 'C' ? 1 : b == 'G' ? 2 : 3;
    return others[i][demo_rng_below(r, 3)];
}
