/* SPDX-License-Identifier: MIT */
/*
 * Parsing helpers several venue handlers share (feeds/venues/): ISO-8601 UTC timestamps
 * (Coinbase, Coinbase Advanced, BitMEX) and the [["price","size"],...] level arrays of a book
 * message (Bitstamp, Kraken, HTX, KuCoin). Pure functions of their input (no handler state
 * besides the scales feed_dec() may raise). Thread: feed:<venue>.
 */
#ifndef FEED_VENUE_UTIL_H
#define FEED_VENUE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (UTC, years 1970..2261) -> ns since the epoch in *out,
 *  exactly. empty_frac: a '.' with no digits after it ("...:18.Z") is accepted (BitMEX), else
 *  it is TG_EFIELD. @return 0 or TG_EFIELD. */
int feed_iso_ns(const char *s, size_t n, bool empty_frac, int64_t *out);

#endif
