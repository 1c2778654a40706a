/* SPDX-License-Identifier: MIT */
/*
 * Binance trade backfill over REST after a reconnect (issue 15).
 *
 * DESIGN
 * - The range rule, pacing, tries, counters, log lines and TG_EV_TRADE_GAP are the shared
 *   feed_backfill.c's; here: Binance's request and page. Each symbol's last trade id is of
 *   one kind (feed_bf_sym_t.kind): aggregate ids (@aggTrade "a", kind 1) or trade ids (@trade
 *   "t", kind 0); a hole [last + 1, M) opens at the first trade M of a new connection.
 * - Pages of at most 1000 with fromId: /api/v3|fapi/v1|dapi/v1 /historicalTrades (trade ids)
 *   or /aggTrades (aggregate ids), one request in flight per connection and at most 1 per s
 *   (spot historicalTrades weighs 25 of 6000 per minute = 25 %; USD-M/COIN-M aggTrades 20 of
 *   2400 = 50 %).
 * - At start-up the gateway may give each instrument a resume point (tg_instr_t.
 *   resume_trade_id: the last trade id PostgreSQL holds, [gateway] backfill_resume_s): a
 *   symbol that has seen no trade yet takes it as its last id (of the kind the venue's trade
 *   stream carries), so the first trade of the first connection opens the hole of what was
 *   published while no gateway ran, like a reconnect.
 * Thread: feed:<venue>.
 */
#include "feeds/venues/feed_binance.h"

#include <stdio.h>
#include <string.h>

#include "book/tg_dec.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* same token layout as feed_binance.c (shared b->tok) */
#define JSMN_STRICT
#include <jsmn.h>

#include "feeds/feed_jtok.h"

static const char *bf_route(const feed_bn_t *b, bool agg)
{
    if (b->variant == FEED_BN_USDM)
        return agg ? "/fapi/v1/aggTrades" : "/fapi/v1/historicalTrades";
    if (b->variant == FEED_BN_COINM)
        return agg ? "/dapi/v1/aggTrades" : "/dapi/v1/historicalTrades";
    return agg ? "/api/v3/aggTrades" : "/api/v3/historicalTrades";
}

static int bf_path(void *v, uint32_t s, uint64_t from, uint64_t n, char *buf, size_t cap)
{
    const feed_bn_t *b = v;
    return snprintf(buf, cap, "%s?symbol=%s&fromId=%llu&limit=%llu", bf_route(b, b->sym[s].bf.kind),
                    b->sym[s].upper, (unsigned long long)from, (unsigned long long)n);
}

/* One page: [{"id"|"a":N,"price"|"p":"..","qty"|"q":"..","time"|"T":N,"isBuyerMaker"|"m":B,..}]
 * decoded into out (every number first: TG_ERESCALE before anything is emitted). */
static int bf_parse(void *v, uint32_t s, const char *js, size_t len, feed_bf_trade_t *out,
                    uint32_t cap, uint32_t *n_out)
{
    feed_bn_t *b = v;
    const bn_sym_t *y = &b->sym[s];
    bool agg = y->bf.kind;
    jsmn_parser p;
    jsmntok_t *t = b->tok;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, t, b->tok_cap);
    if (n < 1 || t[0].type != JSMN_ARRAY || !feed_jtok_wellformed(t, n))
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
            if (agg ? KEY("a") : KEY("id"))
                id = j + 1;
            else if (agg ? KEY("p") : KEY("price"))
                px = j + 1;
            else if (agg ? KEY("q") : KEY("qty"))
                q = j + 1;
            else if (agg ? KEY("T") : KEY("time"))
                ts = j + 1;
            else if (agg ? KEY("m") : KEY("isBuyerMaker"))
                m = j + 1;
#undef KEY
        }
        i = j;
        if (id < 0 || px < 0 || q < 0 || ts < 0 || m < 0)
            return TG_EFIELD;
        feed_bf_trade_t *o = &out[k++];
        uint64_t tsv;
        if (feed_bn__u64(js + t[id].start, (size_t)(t[id].end - t[id].start), &o->id) < 0 ||
            feed_bn__u64(js + t[ts].start, (size_t)(t[ts].end - t[ts].start), &tsv) < 0 ||
            tsv > 9223372036854ULL)
            return TG_EFIELD;
        o->ts_ns = (int64_t)tsv * 1000000;
        o->seq = o->id;
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

static const feed_bf_ops_t bf_ops = {.path = bf_path, .parse = bf_parse};

void feed_binance__bf_open(feed_bn_t *b)
{
    if (!b->bf.h) { /* first connection: the shared state points at the symbols */
        feed_bf_init(&b->bf, b->h, b, &bf_ops, b->n_sym ? &b->sym[0].bf : NULL, sizeof(b->sym[0]),
                     b->n_sym, &b->log_rl);
        for (uint32_t i = 0; i < b->n_sym; i++) {
            b->sym[i].bf.instr = b->sym[i].instr;
            b->sym[i].bf.name = b->sym[i].upper;
        }
    }
    feed_bf_open(&b->bf, b->gen, b->futures); /* futures streams carry aggregate ids */
}

void feed_binance__bf_trade(feed_bn_t *b, int s, uint64_t id, bool agg, int64_t now)
{
    feed_bf_trade(&b->bf, (uint32_t)s, id, agg, false, now);
}

void feed_binance__bf_tick(feed_bn_t *b, int64_t now)
{
    if (b->bf.h)
        feed_bf_tick(&b->bf, now);
}

int feed_binance__bf_rest(feed_bn_t *b, uint32_t s, int status, const char *body, size_t len,
                          int64_t ts_recv, int64_t ts_mono)
{
    return b->bf.h ? feed_bf_rest(&b->bf, s, status, body, len, ts_recv, ts_mono) : 0;
}
