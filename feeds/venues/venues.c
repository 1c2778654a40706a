/* SPDX-License-Identifier: MIT */
/* The venue table (venues.h): one row per venue id, in `--list-venues` order. */
#include "venues.h"

#include <stdio.h>
#include <string.h>

/* Referenced strongly, so linking libtgfeeds.a pulls every handler in. */
static const feed_venue_t *const venues[] = {
    &feed_venue_binance,
    &feed_venue_binance_futures,
    &feed_venue_binance_delivery,
    &feed_venue_binance_us,
    &feed_venue_bitfinex,
    &feed_venue_bitget,
    &feed_venue_bitget_futures,
    &feed_venue_bitmex,
    &feed_venue_bitstamp,
    &feed_venue_bybit,
    &feed_venue_bybit_spot,
    &feed_venue_coinbase,
    &feed_venue_coinbase_advanced,
    &feed_venue_crypto_com,
    &feed_venue_cryptofacilities,
    &feed_venue_deribit,
    &feed_venue_gate_io,
    &feed_venue_gate_io_futures,
    &feed_venue_gemini,
    &feed_venue_huobi,
    &feed_venue_huobi_dm_swap,
    &feed_venue_huobi_dm_linear_swap,
    &feed_venue_kraken,
    &feed_venue_kucoin,
    &feed_venue_okex,
};

/* Other spellings users meet (the venue's own brand names). */
static const struct {
    const char *alias, *id;
} aliases[] = {
    {"okx", "okex"},
    {"htx", "huobi"},
    {"kraken-futures", "cryptofacilities"},
    {"gateio", "gate-io"},
    {"binance-coin-m", "binance-delivery"},
    {"binance-usd-m", "binance-futures"},
};

#define N_VENUES (sizeof(venues) / sizeof(venues[0]))

/* A row whose handler is not written yet (on_frame NULL) is not offered. */
static bool usable(const feed_venue_t *v)
{
    return v->on_frame != NULL;
}

const feed_venue_t *feed_venue_at(size_t i)
{
    for (size_t k = 0; k < N_VENUES; k++)
        if (usable(venues[k]) && i-- == 0)
            return venues[k];
    return NULL;
}

const feed_venue_t *feed_venue_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_VENUES; i++)
        if (strcmp(venues[i]->name, name) == 0)
            return usable(venues[i]) ? venues[i] : NULL;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].alias, name) == 0)
            return feed_venue_find(aliases[i].id);
    return NULL;
}

const char *feed_venue_list(char *buf, size_t cap)
{
    size_t n = 0;
    if (cap)
        buf[0] = 0;
    const feed_venue_t *v;
    for (size_t i = 0; (v = feed_venue_at(i)) != NULL && n < cap; i++) {
        int k = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", v->name);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    return buf;
}
