/* SPDX-License-Identifier: MIT */
/* Venue-independent helpers of the handler contract (feed.h): message ends, flushing,
 * logging, the venue table. */
#include "feed.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every venue handler, referenced strongly so that linking libtgfeeds.a pulls them all in. */
extern const feed_venue_t feed_venue_binance;
extern const feed_venue_t feed_venue_binance_futures;
extern const feed_venue_t feed_venue_coinbase;
extern const feed_venue_t feed_venue_kraken;
extern const feed_venue_t feed_venue_okex;
extern const feed_venue_t feed_venue_bybit;
extern const feed_venue_t feed_venue_bitstamp;
extern const feed_venue_t feed_venue_bitmex;

const feed_venue_t *feed_venue_find(const char *name)
{
    const feed_venue_t *all[] = {
        &feed_venue_binance, &feed_venue_binance_futures, &feed_venue_coinbase,
        &feed_venue_kraken,  &feed_venue_okex,            &feed_venue_bybit,
        &feed_venue_bitstamp, &feed_venue_bitmex,
    };
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i] && all[i]->name && strcmp(all[i]->name, name) == 0)
            return all[i];
    if (strcmp(name, "okx") == 0)
        return feed_venue_find("okex");
    return NULL;
}

void feed_end_message(feed_handler_t *h, uint32_t instr, int64_t ts_exch, int64_t ts_recv,
                      int64_t ts_mono)
{
    feed_out_t *o = &h->out;
    if (o->n > 0 && o->ev[o->n - 1].instr == instr && !(o->ev[o->n - 1].flags & TG_EVF_LAST)) {
        o->ev[o->n - 1].flags |= TG_EVF_LAST;
        return;
    }
    tg_event_t ev = {0};
    ev.kind = TG_EV_END;
    ev.instr = instr;
    ev.ts_exch = ts_exch;
    ev.ts_recv = ts_recv;
    ev.ts_mono = ts_mono;
    ev.flags = TG_EVF_LAST;
    feed_emit(h, &ev);
}

int feed_flush(feed_handler_t *h)
{
    feed_out_t *o = &h->out;
    if (o->n == 0)
        return 0;
    int rc = o->flush(o->ctx, o->ev, o->n);
    o->n = 0;
    return rc;
}

void feed_logf(feed_handler_t *h, int level, const char *fmt, ...)
{
    if (!h->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    h->log(h->lctx, level, msg);
}

uint64_t feed_hash_id(const char *s, size_t len)
{
    uint64_t x = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        x ^= (unsigned char)s[i];
        x *= 0x100000001b3ull;
    }
    return x;
}
