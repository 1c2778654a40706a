/* SPDX-License-Identifier: MIT */
/*
 * The venue registry: every handler this build has, one `feed_venue_t` each (feeds/feed.h).
 * A handler file defines its venue(s) here declared; venues.c lists them in one table.
 * Adding a venue: docs/venues.md, "Adding a venue".
 * Thread: any (const).
 */
#ifndef FEED_VENUES_H
#define FEED_VENUES_H

#include "feeds/feed.h"

extern const feed_venue_t feed_venue_binance;
extern const feed_venue_t feed_venue_binance_futures;
extern const feed_venue_t feed_venue_binance_delivery;
extern const feed_venue_t feed_venue_binance_us;
extern const feed_venue_t feed_venue_bitfinex;
extern const feed_venue_t feed_venue_bitget;
extern const feed_venue_t feed_venue_bitget_futures;
extern const feed_venue_t feed_venue_bitmex;
extern const feed_venue_t feed_venue_bitstamp;
extern const feed_venue_t feed_venue_bybit;
extern const feed_venue_t feed_venue_bybit_spot;
extern const feed_venue_t feed_venue_coinbase;
extern const feed_venue_t feed_venue_coinbase_advanced;
extern const feed_venue_t feed_venue_crypto_com;
extern const feed_venue_t feed_venue_cryptofacilities;
extern const feed_venue_t feed_venue_deribit;
extern const feed_venue_t feed_venue_gate_io;
extern const feed_venue_t feed_venue_gate_io_futures;
extern const feed_venue_t feed_venue_gemini;
extern const feed_venue_t feed_venue_huobi;
extern const feed_venue_t feed_venue_huobi_dm_swap;
extern const feed_venue_t feed_venue_huobi_dm_linear_swap;
extern const feed_venue_t feed_venue_kraken;
extern const feed_venue_t feed_venue_kucoin;
extern const feed_venue_t feed_venue_okex;

#endif
