/* SPDX-License-Identifier: MIT */
/*
 * Binance trade backfill over REST after a reconnect (issue 15).
 *
 * DESIGN
 * - Each symbol remembers the last trade id it saw (bn_sym_t.last_tid, kept across
 *   reconnects) and whether ids are aggregate ids (@aggTrade "a") or trade ids (@trade "t").
 * - After a reconnect (on_open marks every symbol fresh), the first trade received with id M
 *   > last + 1 opens the hole [last + 1, M). A hole still being fetched when the next
 *   reconnect opens another is merged into one range [first from, newest M): the trades
 *   received in between come again, with the same ids (PostgreSQL's unique key and the
 *   builder's trade dedup drop them).
 * - The range is fetched in pages of at most 1000 (the venue's cap) with fromId:
 *   /api/v3|fapi/v1|dapi/v1 /historicalTrades (trade ids) or /aggTrades (aggregate ids), one
 *   request in flight per connection and at least BN_BF_GAP_NS between requests (1 per s:
 *   spot historicalTrades weighs 25 of 6000 per minute = 25 %; USD-M/COIN-M aggTrades 20 of
 *   2400 = 50 %). Each page's trades inside the range are emitted as ordinary TG_EV_TRADE
 *   events (same ids, prices, sizes, exchange times); the range ends when a page reaches M,
 *   comes back empty or does not advance.
 * - Counters: backfill_trades, backfill_requests, backfill_failures (feed_stats_t, exported as
 *   tickgate_feed_backfill_*_total). One INFO line per finished range (ids, trades,
 *   requests); a failed request is retried (paced) up to BN_BF_TRIES times, then the range is
 *   given up with an ERROR line naming the lost ids and a TG_EV_TRADE_GAP (a trade gap row in
 *   PostgreSQL: ids bf_from-1 .. bf_to). No REST client (offline): given up at once, logged
 *   and counted.
 * - At start-up the gateway may give each instrument a resume point (tg_instr_t.
 *   resume_trade_id: the last trade id PostgreSQL holds, [gateway] backfill_resume_s): a
 *   symbol that has seen no trade yet takes it as its last id, so the first trade of the first
 *   connection opens the hole of what was published while no gateway ran, like a reconnect.
 * - Answers carry the connection generation in their tag (bn_on_rest drops a previous
 *   connection's); stop needs nothing: no request blocks, the transport drops pending ones.
 * Thread: feed:<venue>.
 */
#include "feeds/venues/feed_binance.h"

#include <stdio.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_dec.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* same token layout as feed_binance.c (shared b->tok) */
#define JSMN_STRICT
#include <jsmn.h>

#define BN_BF_GAP_NS 1000000000LL /* at most one trade-history request per second */
#define BN_BF_TRIES  3

typedef struct bf_trade {
    uint64_t id;
    int64_t px, qty, ts_ms;
    uint8_t side;
} bf_trade_t;

static const char *bf_route(const feed_bn_t *b, bool agg)
{
    if (b->variant == FEED_BN_USDM)
        return agg ? "/fapi/v1/aggTrades" : "/fapi/v1/historicalTrades";
    if (b->variant == FEED_BN_COINM)
        return agg ? "/dapi/v1/aggTrades" : "/dapi/v1/historicalTrades";
    return agg ? "/api/v3/aggTrades" : "/api/v3/historicalTrades";
}

static void bf_end(feed_bn_t *b, bn_sym_t *y, bool lost)
{
    feed_handler_t *h = b->h;
    if (lost && h->rest_get) /* a trade gap row for history sinks: [bf_from, bf_to) is gone
                                (offline, the builder shows it from the closed connection) */
        feed_emit_make(h, TG_EV_TRADE_GAP, y->instr, 0, 0, 0, y->bf_from - 1, y->bf_to, 0,
                       tg_clock_realtime_ns(), tg_clock_mono_ns(), TG_EVF_LAST);
    if (lost)
        feed_logf(h, FEED_LOG_ERROR,
                  "%s %s: trade backfill given up: ids %llu..%llu lost (%llu trades fetched in "
                  "%u requests)",
                  h->venue->name, y->upper, (unsigned long long)y->bf_from,
                  (unsigned long long)(y->bf_to - 1), (unsigned long long)y->bf_got, y->bf_reqs);
    else
        feed_logf(h, FEED_LOG_INFO,
                  "%s %s: trade backfill ids %llu..%llu: %llu trades in %u requests",
                  h->venue->name, y->upper, (unsigned long long)y->bf_first,
                  (unsigned long long)(y->bf_to - 1), (unsigned long long)y->bf_got, y->bf_reqs);
    y->bf_active = false;
    y->bf_from = y->bf_to = 0;
}

/* Send the next page request if one is due. */
static void bf_pump(feed_bn_t *b, int64_t now)
{
    feed_handler_t *h = b->h;
    if (b->bf_inflight || (b->bf_last_req && now - b->bf_last_req < BN_BF_GAP_NS))
        return;
    for (uint32_t k = 0; k < b->n_sym; k++) {
        uint32_t s = (b->bf_next + k) % b->n_sym;
        bn_sym_t *y = &b->sym[s];
        if (!y->bf_active)
            continue;
        if (!h->rest_get) {
            TG_STAT_INC(h->stats->backfill_failures);
            bf_end(b, y, true);
            continue;
        }
        uint64_t n = y->bf_to - y->bf_from;
        char path[160];
        snprintf(path, sizeof(path), "%s?symbol=%s&fromId=%llu&limit=%llu", bf_route(b, y->agg),
                 y->upper, (unsigned long long)y->bf_from,
                 (unsigned long long)(n < 1000 ? n : 1000));
        if (h->rest_get(h->tctx, path, ((uint64_t)b->gen << 32) | BN_BF_TAG | s) < 0)
            return; /* queue full: the tick tries again */
        TG_STAT_INC(h->stats->backfill_requests);
        y->bf_reqs++;
        b->bf_inflight = true;
        b->bf_last_req = now;
        b->bf_next = (s + 1) % b->n_sym;
        return;
    }
}

void feed_binance__bf_open(feed_bn_t *b)
{
    b->bf_inflight = false; /* the previous connection's answer is dropped by its tag */
    for (uint32_t i = 0; i < b->n_sym; i++) {
        bn_sym_t *y = &b->sym[i];
        y->bf_fresh = true;
        const tg_instr_t *in = tg_instr_reg_get(b->h->reg, y->instr);
        if (!y->last_tid && in && in->resume_trade_id) { /* start-up: after the last stored */
            y->last_tid = in->resume_trade_id;
            y->agg = b->futures; /* the id kind this venue's trade stream carries */
            feed_logf(b->h, FEED_LOG_INFO,
                      "%s %s: resuming trades after the last stored id %llu (trade backfill)",
                      b->h->venue->name, y->upper, (unsigned long long)y->last_tid);
        }
    }
}

void feed_binance__bf_trade(feed_bn_t *b, int s, uint64_t id, bool agg, int64_t now)
{
    bn_sym_t *y = &b->sym[s];
    if (y->bf_fresh) {
        y->bf_fresh = false;
        if (y->last_tid && agg == y->agg && id > y->last_tid + 1) {
            uint64_t from = y->last_tid + 1;
            if (!y->bf_active) {
                y->bf_first = from;
                y->bf_got = 0;
                y->bf_reqs = 0;
            } else if (y->bf_from < from) {
                from = y->bf_from; /* merge with the range still being fetched */
            }
            y->bf_from = from;
            y->bf_to = id;
            y->bf_tries = 0;
            y->bf_active = true;
        }
    }
    if (agg != y->agg || id > y->last_tid) {
        y->last_tid = id;
        y->agg = agg;
    }
    if (y->bf_active)
        bf_pump(b, now);
}

void feed_binance__bf_tick(feed_bn_t *b, int64_t now)
{
    bf_pump(b, now);
}

/* One page: [{"id"|"a":N,"price"|"p":"..","qty"|"q":"..","time"|"T":N,"isBuyerMaker"|"m":B,..}]
 * decoded into out (every number first: TG_ERESCALE before anything is emitted). */
static int bf_parse(feed_bn_t *b, const bn_sym_t *y, const char *js, size_t len, bf_trade_t *out,
                    uint32_t cap, uint32_t *n_out)
{
    jsmn_parser p;
    jsmntok_t *t = b->tok;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, t, b->tok_cap);
    if (n < 1 || t[0].type != JSMN_ARRAY)
        return TG_EJSON;
    if ((uint32_t)t[0].size > cap)
        return TG_EFIELD;
    uint32_t k = 0;
    for (int i = 1; i < n;) {
        if (t[i].type != JSMN_OBJECT)
            return TG_EFIELD;
        int size = t[i].size, j = i + 1;
        int id = -1, px = -1, q = -1, ts = -1, m = -1;
        for (int f = 0; f < size && j + 1 < n; f++, j += 2) {
            const char *key = js + t[j].start;
            int kl = t[j].end - t[j].start;
            if (t[j + 1].type == JSMN_OBJECT || t[j + 1].type == JSMN_ARRAY)
                return TG_EFIELD;
#define KEY(s) (kl == (int)sizeof(s) - 1 && memcmp(key, s, sizeof(s) - 1) == 0)
            if (y->agg ? KEY("a") : KEY("id"))
                id = j + 1;
            else if (y->agg ? KEY("p") : KEY("price"))
                px = j + 1;
            else if (y->agg ? KEY("q") : KEY("qty"))
                q = j + 1;
            else if (y->agg ? KEY("T") : KEY("time"))
                ts = j + 1;
            else if (y->agg ? KEY("m") : KEY("isBuyerMaker"))
                m = j + 1;
#undef KEY
        }
        i = j;
        if (id < 0 || px < 0 || q < 0 || ts < 0 || m < 0)
            return TG_EFIELD;
        bf_trade_t *o = &out[k++];
        uint64_t tsv;
        if (feed_bn__u64(js + t[id].start, (size_t)(t[id].end - t[id].start), &o->id) < 0 ||
            feed_bn__u64(js + t[ts].start, (size_t)(t[ts].end - t[ts].start), &tsv) < 0 ||
            tsv > 9223372036854ULL)
            return TG_EFIELD;
        o->ts_ms = (int64_t)tsv;
        o->side = js[t[m].start] == 't' ? TG_SIDE_SELL : TG_SIDE_BUY; /* buyer is the maker */
        int rc = feed_dec_px(b->h, y->instr, js + t[px].start, (size_t)(t[px].end - t[px].start),
                             &o->px);
        if (rc == 0)
            rc = feed_dec_sz(b->h, y->instr, js + t[q].start, (size_t)(t[q].end - t[q].start),
                             &o->qty);
        if (rc < 0)
            return rc;
    }
    *n_out = k;
    return 0;
}

int feed_binance__bf_rest(feed_bn_t *b, uint32_t s, int status, const char *body, size_t len,
                          int64_t ts_recv, int64_t ts_mono)
{
    feed_handler_t *h = b->h;
    bn_sym_t *y = &b->sym[s];
    bf_trade_t tr[1000];
    uint32_t n = 0;
    int rc = status == 200 ? bf_parse(b, y, body, len, tr, 1000, &n) : TG_EPROTO;
    if (rc == TG_ERESCALE)
        return rc; /* parsed again by the transport; nothing changed */
    b->bf_inflight = false;
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    if (rc < 0) {
        if (status != 200 && status)
            feed_venue_error(h, body, len); /* 429/418 rate limits, -1121, ... */
        else if (status != 200)
            TG_STAT_INC(h->stats->err_venue);
        else
            feed_count_error(h->stats, rc);
        TG_STAT_INC(h->stats->backfill_failures);
        feed_log_frame(h, &b->log_rl, ts_mono, FEED_LOG_WARN, "trade backfill request failed", rc,
                       body, len);
        if (y->bf_active && ++y->bf_tries >= BN_BF_TRIES)
            bf_end(b, y, true);
        bf_pump(b, ts_mono);
        return rc;
    }
    TG_STAT_INC(h->stats->handled);
    if (!y->bf_active)
        return 0;
    y->bf_tries = 0;
    uint64_t top = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (tr[i].id > top)
            top = tr[i].id;
        if (tr[i].id < y->bf_from || tr[i].id >= y->bf_to)
            continue;
        int64_t ts = tr[i].ts_ms * 1000000;
        feed_emit_make(h, TG_EV_TRADE, y->instr, tr[i].side, tr[i].px, tr[i].qty, tr[i].id,
                       tr[i].id, ts, ts_recv, ts_mono, TG_EVF_LAST | TG_EVF_REST);
        TG_STAT_INC(h->stats->backfill_trades);
        y->bf_got++;
    }
    if (n == 0 || top + 1 >= y->bf_to || top < y->bf_from)
        bf_end(b, y, false);
    else
        y->bf_from = top + 1;
    bf_pump(b, ts_mono);
    return 0;
}
