/* SPDX-License-Identifier: MIT */
/* Venue-independent helpers of the handler contract (feed.h): message ends, flushing,
 * logging, the venue table. */
#include "feed.h"

#include "book/tg_err.h"
#include "book/tg_resync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

static const feed_venue_t *const venues[] = {
    &feed_venue_binance, &feed_venue_binance_futures, &feed_venue_coinbase, &feed_venue_kraken,
    &feed_venue_okex,    &feed_venue_bybit,           &feed_venue_bitstamp, &feed_venue_bitmex,
};

const feed_venue_t *feed_venue_at(size_t i)
{
    return i < sizeof(venues) / sizeof(venues[0]) ? venues[i] : NULL;
}

const feed_venue_t *feed_venue_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(venues) / sizeof(venues[0]); i++)
        if (strcmp(venues[i]->name, name) == 0)
            return venues[i];
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
    tg_event_t ev =
        feed_event(TG_EV_END, instr, 0, 0, 0, 0, 0, ts_exch, ts_recv, ts_mono, TG_EVF_LAST);
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

static void feed_vlogf(feed_handler_t *h, int level, const char *fmt, va_list ap)
{
    if (!h->log)
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    h->log(h->lctx, level, msg);
}

void feed_logf(feed_handler_t *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    feed_vlogf(h, level, fmt, ap);
    va_end(ap);
}

void feed_logf_limited(feed_handler_t *h, feed_ratelim_t *rl, int64_t now_mono, int level,
                       const char *fmt, ...)
{
    if (feed_ratelim_expired(rl, now_mono)) {
        if (rl->suppressed)
            feed_logf(h, FEED_LOG_WARN, "%s: %llu log lines suppressed", h->venue->name,
                      (unsigned long long)rl->suppressed);
        rl->suppressed = 0;
    }
    uint64_t dropped;
    if (!feed_ratelim_ok(rl, now_mono, &dropped))
        return;
    va_list ap;
    va_start(ap, fmt);
    feed_vlogf(h, level, fmt, ap);
    va_end(ap);
}

void feed_log_frame(feed_handler_t *h, feed_ratelim_t *rl, int64_t now_mono, int level,
                    const char *what, int rc, const char *buf, size_t len)
{
    int n = len > 160 ? 160 : (int)len;
    feed_logf_limited(h, rl, now_mono, level, "%s: %s (%s): %.*s%s", h->venue->name, what,
                      rc ? tg_strerror(rc) : "-", n, buf ? buf : "", len > 160 ? "..." : "");
}

const char *feed_count_error(feed_stats_t *st, int rc)
{
    if (rc == TG_EJSON) {
        TG_STAT_INC(st->err_json);
        return "malformed frame";
    }
    if (rc == TG_ESYMBOL) {
        TG_STAT_INC(st->err_symbol);
        return "unknown symbol";
    }
    if (rc == TG_EPROTO) {
        TG_STAT_INC(st->err_venue);
        return "venue error";
    }
    if (rc <= TG_EDEC_SYNTAX && rc >= TG_EDEC_NEGATIVE) {
        TG_STAT_INC(st->err_decimal);
        return "bad decimal";
    }
    TG_STAT_INC(st->err_field);
    return "missing or bad field";
}

void *feed_vstate_new(feed_handler_t *h, size_t size)
{
    h->vstate = calloc(1, size);
    return h->vstate;
}

void feed_vstate_free(feed_handler_t *h)
{
    free(h->vstate);
    h->vstate = NULL;
}

uint32_t feed_resync_count(const feed_handler_t *h, uint32_t instr)
{
    return h->resync ? tg_resync_get(h->resync, instr) : 0;
}

bool feed_resync_asked(const feed_handler_t *h, uint32_t instr, uint32_t *seen)
{
    uint32_t v = feed_resync_count(h, instr);
    if (v == *seen)
        return false;
    *seen = v;
    return true;
}

uint16_t *feed_slots_new(const feed_handler_t *h)
{
    uint16_t *slot = calloc(TG_INSTR_MAX, sizeof(*slot));
    if (!slot)
        return NULL;
    for (uint32_t i = 0; i < h->n_instr; i++)
        if (h->instr[i] < TG_INSTR_MAX)
            slot[h->instr[i]] = (uint16_t)(i + 1);
    return slot;
}

bool feed_json_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return false;
    return true;
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
