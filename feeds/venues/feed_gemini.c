/* SPDX-License-Identifier: MIT */
/*
 * Gemini market data v2 (wss://api.gemini.com/v2/marketdata) venue handler: the `l2`
 * subscription's `l2_updates` (book) and `trade` messages; `heartbeat`, the `auction_*` events
 * and other types (candles, mark prices, ...) acknowledged as unhandled; `{"type":"error"}` a
 * venue error; the in-band REST "symbol details" of a recording (`{"rest":..,"generated":true,
 * "data":..}`) read for the symbols' increments.
 *
 * DESIGN
 * Books: the first `l2_updates` of a symbol after (re)subscribing is its full book; it is the
 * one that carries the "trades" list (recent history) and "auction_events": a message with a
 * "trades" key clears and fills the book (TG_EV_BOOK_CLEAR + levels flagged SNAPSHOT), any other
 * one sets levels ([side, price, remaining quantity], "buy" = bid, "sell" = ask, "0" deletes).
 * Changes that arrive before the symbol's full book are dropped (stale_dropped).
 * Gemini v2 has NO sequence numbers (no socket_sequence as in v1, no per-symbol counter) and no
 * checksum: a lost message cannot be detected here, only what the builder sees (a crossed book
 * -> resync request, acted on in on_tick). A book message that cannot be read completely is
 * never applied in part: TG_EV_GAP (when the book was valid) and a resubscribe of the symbol
 * (unsubscribe + subscribe: Gemini answers with a new full book). l2_updates carry no time:
 * ts_exch is 0 for book events.
 *
 * Trades: `side` is the taker's (checked on the recording: both BTCUSD trades print at the best
 * ask with side "buy"); `tid` in u.trade_id, `event_id` in seq, `timestamp` (ms) in ts_exch.
 * The "trades" list of the full book is history (not emitted; it seeds the symbol's tid
 * baseline). tids grow but are not consecutive (…555, …557 in the recording), so lost trades
 * cannot be detected; a tid not above the last one is a duplicate and dropped (stale_dropped).
 * Auctions: `auction_open`, `auction_indicative` and `auction_result` are informational (times,
 * indicative and final auction price/quantity); they change no book level, and no trade is
 * printed from them (a result carries one price and the total quantity, no trade id, no side):
 * counted unhandled. Whether the fills also arrive as `trade` messages is not in the recording
 * (docs/venues/gemini.md); a trade whose side is not buy/sell is rejected and logged.
 *
 * Sends: Gemini publishes no websocket message rate; its public REST guidance is at most one
 * request per second, which we apply to subscribe/unsubscribe messages (one subscribe for all
 * symbols on open; resubscribes batched and paced from on_frame / on_tick).
 *
 * Thread: feed:gemini.
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/feed_sync.h"
#include "feed_venue_base.h"
#include "feed_venue_util.h"
#include "venues.h"

#define GM_TOK_INIT    4096
#define GM_TOK_MAX     (1 << 21)
#define GM_LOG_BURST   20
#define GM_SENDS_PER_S 1
#define GM_NS_PER_S    1000000000LL

enum { GM_OK = 0, GM_UNHANDLED = 1 };

typedef feed_rsb_sym_t gm_sym_t; /* live: full book seen since (re)subscribe */

typedef struct gm_lvl {
    int64_t px, sz;
    uint8_t side;
} gm_lvl_t;

typedef struct gm_state {
    feed_jtok_t jt;
    gm_lvl_t *lv;
    size_t lv_cap;
    gm_sym_t *sym;
    uint32_t n_sym;
    uint16_t *slot;
    feed_ratelim_t rl;
    feed_resub_t rsb; /* resyncs by resubscribing, paced */
} gm_state_t;

/* ---- resubscribe (paced) ------------------------------------------------------------------ */

/* ---- l2_updates ----------------------------------------------------------------------------- */

/* [[side, price, qty], ...] -> st->lv. @return number of levels, TG_ERESCALE or an error. */
static int gm_changes(feed_handler_t *h, uint32_t instr, const char *js, const jsmntok_t *t, int n,
                      int a)
{
    gm_state_t *st = h->vstate;
    if (a < 0 || t[a].type != JSMN_ARRAY)
        return TG_EFIELD;
    size_t nl = 0;
    int k = a + 1;
    for (int m = 0; m < t[a].size; m++, k = feed_jtok_next(t, n, k)) {
        if (k + 3 >= n || t[k].type != JSMN_ARRAY || t[k].size != 3 || nl >= st->lv_cap)
            return TG_EFIELD;
        const jsmntok_t *sd = &t[k + 1], *px = &t[k + 2], *qt = &t[k + 3];
        if (px->type != JSMN_STRING || qt->type != JSMN_STRING)
            return TG_EFIELD;
        gm_lvl_t *l = &st->lv[nl];
        if (feed_jtok_side(js, sd, "buy", TG_SIDE_BID, "sell", TG_SIDE_ASK, &l->side) < 0)
            return TG_EFIELD;
        int rc = feed_dec_px(h, instr, js + px->start, feed_jtok_len(px), &l->px);
        if (rc < 0)
            return rc;
        if (l->px == 0)
            return TG_EFIELD;
        if ((rc = feed_dec_sz(h, instr, js + qt->start, feed_jtok_len(qt), &l->sz)) < 0)
            return rc;
        nl++;
    }
    return (int)nl;
}

/* Highest numeric "tid" of the full book's trade history (0 if none). */
static int gm_history_tid(const char *js, const jsmntok_t *t, int n, int a, uint64_t *max)
{
    *max = 0;
    if (t[a].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = a + 1;
    for (int m = 0; m < t[a].size && k < n; m++, k = feed_jtok_next(t, n, k)) {
        int ti = feed_jtok_get(js, t, n, k, "tid");
        uint64_t v;
        if (ti >= 0 && feed_jtok_u64(js, &t[ti], &v) == 0 && v > *max)
            *max = v;
    }
    return 0;
}

static int gm_book(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int symi, int ch,
                   int tr, int64_t ts_recv, int64_t ts_mono)
{
    gm_state_t *st = h->vstate;
    if (symi < 0)
        return TG_EFIELD;
    int s = feed_vsym_index(h, js, &t[symi]);
    if (s < 0)
        return s;
    gm_sym_t *y = &st->sym[s];
    bool snap = tr >= 0;
    uint64_t hist = 0;
    int nl = gm_changes(h, y->instr, js, t, n, ch);
    if (nl >= 0 && snap)
        nl = gm_history_tid(js, t, n, tr, &hist) < 0 ? TG_EFIELD : nl;
    if (nl == TG_ERESCALE)
        return nl; /* parsed again at the new scale: nothing changed yet */
    if (nl < 0) {
        /* unreadable: this book is no longer Gemini's */
        if (y->live) {
            feed_emit_make(h, TG_EV_GAP, y->instr, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono, TG_EVF_LAST);
            TG_STAT_INC(h->stats->gaps);
        }
        if ((y->live || snap) && (h->channels & FEED_CH_BOOK))
            feed_rsb_want(h, (uint32_t)s);
        return nl;
    }
    if (snap && hist > y->last_tid) {
        y->last_tid = hist;
        y->have_tid = 1;
    }
    if (!(h->channels & FEED_CH_BOOK))
        return GM_UNHANDLED;
    uint16_t fl = 0;
    if (snap) {
        fl = TG_EVF_SNAPSHOT;
        feed_emit_make(h, TG_EV_BOOK_CLEAR, y->instr, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono, fl);
        TG_STAT_INC(h->stats->snapshots);
        y->live = 1;
    } else if (!y->live) {
        TG_STAT_INC(h->stats->stale_dropped); /* before the symbol's full book */
        return GM_OK;
    } else if (nl == 0) {
        return GM_OK;
    }
    for (int i = 0; i < nl; i++)
        feed_emit_make(h, TG_EV_LEVEL, y->instr, st->lv[i].side, st->lv[i].px, st->lv[i].sz, 0, 0,
                       0, ts_recv, ts_mono, fl);
    feed_end_message(h, y->instr, 0, ts_recv, ts_mono);
    return GM_OK;
}

/* ---- trade ---------------------------------------------------------------------------------- */

static int gm_trade(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int symi,
                    int64_t ts_recv, int64_t ts_mono)
{
    gm_state_t *st = h->vstate;
    int px = feed_jtok_get(js, t, n, 0, "price"), qt = feed_jtok_get(js, t, n, 0, "quantity");
    int sd = feed_jtok_get(js, t, n, 0, "side"), ti = feed_jtok_get(js, t, n, 0, "tid");
    int tm = feed_jtok_get(js, t, n, 0, "timestamp"), ei = feed_jtok_get(js, t, n, 0, "event_id");
    if (symi < 0 || px < 0 || qt < 0 || sd < 0 || ti < 0 || tm < 0 || t[px].type != JSMN_STRING ||
        t[qt].type != JSMN_STRING)
        return TG_EFIELD;
    int s = feed_vsym_index(h, js, &t[symi]);
    if (s < 0)
        return s;
    gm_sym_t *y = &st->sym[s];
    uint8_t side;
    if (feed_jtok_side(js, &t[sd], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &side) < 0)
        return TG_EFIELD; /* side: the taker's */
    uint64_t tid, eid = 0, ms;
    if (feed_jtok_u64(js, &t[ti], &tid) < 0 || feed_jtok_u64(js, &t[tm], &ms) < 0 ||
        ms > (uint64_t)INT64_MAX / 1000000 || (ei >= 0 && feed_jtok_u64(js, &t[ei], &eid) < 0))
        return TG_EFIELD;
    int64_t p, q;
    int rc = feed_jtok_dec_pxsz(h, y->instr, js, &t[px], &t[qt], &p, &q);
    if (rc < 0)
        return rc;
    if (y->have_tid && tid <= y->last_tid) {
        TG_STAT_INC(h->stats->stale_dropped); /* already seen */
        return GM_OK;
    }
    y->last_tid = tid;
    y->have_tid = 1;
    if (!(h->channels & FEED_CH_TRADES))
        return GM_UNHANDLED;
    feed_emit_make(h, TG_EV_TRADE, y->instr, side, p, q, eid, tid, (int64_t)ms * 1000000, ts_recv,
                   ts_mono, TG_EVF_LAST);
    return GM_OK;
}

/* ---- in-band REST symbol details (recordings) ----------------------------------------------- */

/* {"rest":"<url>","generated":true,"data":{"symbol":"ETHUSD","tick_size":1e-06,
 * "quote_increment":0.01,..}}: Gemini's tick_size is the quantity increment, quote_increment
 * the price increment. They go through feed_dec, which raises a scale that holds fewer places
 * (never lowers one). */
static int gm_rest_line(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int data)
{
    int symi = feed_jtok_get(js, t, n, data, "symbol");
    if (symi < 0)
        return GM_UNHANDLED;
    int s = feed_vsym_index(h, js, &t[symi]);
    if (s < 0)
        return GM_UNHANDLED; /* details of a symbol this connection does not carry */
    gm_state_t *st = h->vstate;
    uint32_t instr = st->sym[s].instr;
    int qi = feed_jtok_get(js, t, n, data, "quote_increment");
    int ts = feed_jtok_get(js, t, n, data, "tick_size");
    int64_t v;
    if (qi >= 0 && t[qi].type != JSMN_OBJECT && t[qi].type != JSMN_ARRAY &&
        feed_dec_px(h, instr, js + t[qi].start, feed_jtok_len(&t[qi]), &v) == TG_ERESCALE)
        return TG_ERESCALE;
    if (ts >= 0 && t[ts].type != JSMN_OBJECT && t[ts].type != JSMN_ARRAY &&
        feed_dec_sz(h, instr, js + t[ts].start, feed_jtok_len(&t[ts]), &v) == TG_ERESCALE)
        return TG_ERESCALE;
    return GM_OK;
}

/* ---- frames --------------------------------------------------------------------------------- */

static int gm_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    if (feed_jtok_next(t, n, 0) != n)
        return TG_EJSON; /* bytes after the object */
    static const char *const keys[] = {"type", "symbol", "changes", "trades", "rest", "data"};
    int v[6];
    feed_jtok_getv(buf, t, n, 0, keys, v, 6);
    int ty = v[0], symi = v[1], ch = v[2], tr = v[3], rest = v[4], data = v[5];
    if (rest >= 0 && data >= 0)
        return gm_rest_line(h, buf, t, n, data);
    if (ty < 0 || t[ty].type != JSMN_STRING)
        return TG_EFIELD;
    if (feed_jtok_str_is(buf, &t[ty], "l2_updates"))
        return gm_book(h, buf, t, n, symi, ch, tr, ts_recv, ts_mono);
    if (feed_jtok_str_is(buf, &t[ty], "trade"))
        return gm_trade(h, buf, t, n, symi, ts_recv, ts_mono);
    if (feed_jtok_str_is(buf, &t[ty], "error"))
        return TG_EPROTO;
    return GM_UNHANDLED; /* heartbeat, auction_*, candles_*, ... */
}

static const feed_vparser_t gm_parser = {gm_frame, JSMN_OBJECT, 0};

/* The parser (feed_rsb_t.parse): gm_frame through the venue's tokenizer. */
static int gm_parse(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                    int64_t ts_mono, bool *acted)
{
    return feed_vparser_run(h, buf, len, ts_recv, ts_mono);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* The state, allocated and freed by the venue base (the level scratch grows with the tokens;
 * init sizes the subscribe buffer to the symbols). Instruments: feed_instr_defaults_plain
 * (quantity increments go down to 1e-8, tick_size of the BTC pairs, price increments to 0.001
 * here; a symbol that needs more places raises its scale by itself, feed_dec; l2 is the full
 * book). */
static const feed_vspec_t gm_spec = {
    FEED_VSPEC_RL(gm_state_t, GM_TOK_INIT, GM_TOK_MAX, GM_LOG_BURST, FEED_LOG_PERIOD_10S),
    .blocks = {FEED_VSCRATCH(gm_state_t, lv, 4), FEED_RESUB_BLOCKS(gm_state_t, rsb)},
    .reset = {FEED_VRESET(gm_sym_t, live, 0), FEED_VRESET(gm_sym_t, have_tid, 0),
              FEED_VRESET(gm_sym_t, last_tid, 0)},
};

static int gm_on_open(feed_handler_t *h)
{
    gm_state_t *st = h->vstate;
    if (!feed_rsb_open(h)) /* no snapshot seen, no trade id (the spec's reset fields) */
        return 0;
    /* one l2 subscription carries the book, the trades and the auction events */
    int rc = feed_rsb_send(h, "subscribe", -1);
    if (rc < 0)
        return rc;
    st->rsb.win_used = 1;
    return 0;
}

/* Resyncs by resubscribing (feed_venue_base.h):
 * {"type":"<op>","subscriptions":[{"name":"l2","symbols":[..]}]} (the book, the trades and the
 * auction events); every frame counts exactly once: handled, unhandled or one err_* counter. */
static const feed_rsb_t gm_rsb = {FEED_RSB_STATE(gm_state_t),
                                  .list = "\"subscriptions\":[{\"name\":\"l2\",\"symbols\":[",
                                  .tail = "]}]}", .parse = gm_parse, .unhandled = GM_UNHANDLED};

const feed_venue_t feed_venue_gemini = {
    .name = "gemini",
    .default_url = "wss://api.gemini.com/v2/marketdata",
    .rest_host = NULL, /* full books come on the websocket */
    .parser = &gm_parser,
    FEED_VENUE_RSB(gm, feed_instr_defaults_plain, GM_SENDS_PER_S),
};
