/* SPDX-License-Identifier: MIT */
/*
 * ASCII digits 8 at a time in one 64-bit word (SWAR), for the parsers on the offline and live
 * paths (the Binance scanner's integers and decimals, the tgrec reader's receive times).
 * Words are little-endian loads (memcpy) of 8 text bytes: the first byte is the lowest.
 * Thread: any (pure functions).
 */
#ifndef FEED_DIGITS_H
#define FEED_DIGITS_H

#include <stdint.h>

/** Non-zero bytes where x has no ASCII digit (the lowest one is exact: a carry of the +6 only
 *  runs from a non-digit byte into the bytes after it): its index is ctz / 8. 0: 8 digits. */
static inline uint64_t feed_digits_nondigit8(uint64_t x)
{
    const uint64_t hi = 0xf0f0f0f0f0f0f0f0ull, d3 = 0x3030303030303030ull;
    return ((x & hi) ^ d3) | (((x + 0x0606060606060606ull) & hi) ^ d3);
}

/** The value of 8 ASCII digits, the first in the lowest byte. Zero bytes read as '0', so
 *  `x << (8 * (8 - n))` gives the value of the first n digits (1 <= n <= 7). */
static inline uint64_t feed_digits_eight(uint64_t x)
{
    x = (x & 0x0f0f0f0f0f0f0f0full) * 2561 >> 8;
    x = (x & 0x00ff00ff00ff00ffull) * 6553601 >> 16;
    return (x & 0x0000ffff0000ffffull) * 42949672960001ull >> 32;
}

#endif
