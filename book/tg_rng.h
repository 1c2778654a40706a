/* SPDX-License-Identifier: MIT */
/*
 * Small non-cryptographic generators (Marsaglia's xorshift): back-off jitter in the writers,
 * synthetic data in benchmarks and tests. The state is the caller's; it must not be 0.
 * Thread: the state's owner.
 */
#ifndef TG_RNG_H
#define TG_RNG_H

#include <stdint.h>

/** xorshift64 (13, 7, 17): advance *s and return it. */
static inline uint64_t tg_rng_xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/** xorshift64* (12, 25, 27, then a multiply): advance *s, return the scrambled value. */
static inline uint64_t tg_rng_xorshift64star(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
