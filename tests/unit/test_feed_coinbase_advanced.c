/* SPDX-License-Identifier: MIT */
/*
 * Coinbase Advanced Trade handler (feeds/venues/feed_coinbase_advanced.c): the recorded session
 * in ../shared/recordings/coinbase-advanced against the recordings' own checker
 * (peer/expected-ref: exact final books, trade counts), the sequence_num chain (a lost frame ->
 * GAP for every book + level2 resubscribe), stale updates before a snapshot, an unreadable book
 * event, trade order/duplicates/maker side, paced resubscribes, bad input counted, exact values
 * at extreme scales, and mutated frames handled without a crash or leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/tu_main.h"
#include "book/tg_dec.h"
#include "book/tg_resync.h"
#include "feeds/venues/venues.h"

#define CA_REC "coinbase-advanced/cryptofeed_57d5f18d_COINBASE.ws.2.tgrec.zst"
#define CA_REF "../expected-ref/cryptofeed_57d5f18d_COINBASE.ws.2.tgrec.zst.result.json"
#define TS     "\"timestamp\":\"2026-08-09T21:05:48.483587501Z\""
/* one level of an l2_data event */
#define LV(s, p, q)                                                                                \
    "{\"side\":\"" s "\",\"event_time\":\"2026-08-09T21:05:48.17Z\",\"price_level\":\"" p          \
    "\",\"new_quantity\":\"" q "\"}"

/* ---- synthetic sessions --------------------------------------------------------------------- */

typedef vh_syn_t syn_t;

static syn_t *syn_open(const char *symbols, tg_instr_reg_t *reg)
{
    return vh_syn_open("coinbase-advanced", symbols, reg);
}

static int l2(syn_t *s, uint64_t seq, const char *type, const char *prod, const char *levels,
              int64_t ts)
{
    char f[8192];
    snprintf(f, sizeof(f),
             "{\"channel\":\"l2_data\"," TS ",\"sequence_num\":%llu,\"events\":[{\"type\":\"%s\","
             "\"product_id\":\"%s\",\"updates\":[%s]}]}",
             (unsigned long long)seq, type, prod, levels);
    return vh_syn_frame(s, f, ts);
}

/* ---- the recording -------------------------------------------------------------------------- */

static void test_ca_venue_is_offered_with_its_published_limits(void **state)
{
    /* 8: unauthenticated messages per second per IP */
    vh_assert_venue("coinbase-advanced", &feed_venue_coinbase_advanced,
                    "wss://advanced-trade-ws.coinbase.com", 8);
}

/* Trades checked against the book as it stands when they arrive: an aggressive buy prints at
 * or above the best ask, a sell at or below the best bid. */
typedef struct sidechk {
    vrun_t v;
    long consistent, inconsistent, unplaced, order_bad;
    uint64_t last_tid[VR_MAX];
    uint64_t last_seq;
    long seq_back;
} sidechk_t;

static int side_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    sidechk_t *c = ctx;
    for (uint32_t i = 0; i < n; i++) {
        const tg_event_t *e = &ev[i];
        if (e->seq < c->last_seq)
            c->seq_back++;
        c->last_seq = e->seq;
        if (e->kind != TG_EV_TRADE || e->instr >= VR_MAX)
            continue;
        if (c->last_tid[e->instr] && e->u.trade_id != c->last_tid[e->instr] + 1)
            c->order_bad++;
        c->last_tid[e->instr] = e->u.trade_id;
        const ref_book_t *b = &c->v.book[e->instr];
        if (!c->v.synced[e->instr] || !b->bid.n || !b->ask.n) {
            c->unplaced++;
            continue;
        }
        int at_ask = e->price >= b->ask.px[0], at_bid = e->price <= b->bid.px[0];
        if (at_ask == at_bid)
            c->unplaced++;
        else if ((e->side == TG_SIDE_BUY) == at_ask)
            c->consistent++;
        else
            c->inconsistent++;
    }
    return vrun_sink(&c->v, ev, n);
}

static void test_ca_recording_books_and_trades_equal_the_reference(void **state)
{
    oracle_t orc;
    vh_oracle(CA_REF, &orc);
    feed_offline_t *o = vh_rec_open(CA_REC);
    sidechk_t *c = calloc(1, sizeof(*c));
    vrun_init(&c->v, o->reg);
    assert_int_equal(feed_offline_run(o, side_sink, c), 0);
    /* every frame accounted once, none rejected, no sequence gap, no resync */
    vrun_assert_all_read(o);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.resyncs), 0);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 2);
    assert_int_equal(o->sent, 3); /* level2, market_trades, heartbeats */
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    long trades = 0;
    int diffs = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
        const oracle_sym_t *os = oracle_find(&orc, in->symbol);
        assert_non_null(os);
        diffs += vrun_cmp_sides(&c->v.book[in->id], os, 10, feed_px_scale(&o->h, in->id),
                                feed_sz_scale(&o->h, in->id), in->symbol);
        vh_assert_depth(&c->v.book[in->id], os);
        assert_int_equal(c->v.trades[in->id], os->trades);
        assert_int_equal(c->v.gaps[in->id], 0);
        assert_int_equal(c->v.snapshots[in->id], 1);
        trades += c->v.trades[in->id];
    }
    assert_int_equal(diffs, 0);
    assert_int_equal(trades, 79);
    /* maker side inverted: every trade that can be placed against the book agrees */
    assert_int_equal(c->inconsistent, 0);
    assert_true(c->consistent >= 70);
    assert_int_equal(c->consistent + c->inconsistent + c->unplaced, trades);
    /* emitted oldest first, trade_ids consecutive per product; seq (sequence_num) never back */
    assert_int_equal(c->order_bad, 0);
    assert_int_equal(c->seq_back, 0);
    feed_offline_close(&o);
    vrun_free(&c->v);
    free(c);
    oracle_free(&orc);
}

/* The recording with data line `drop` (1-based) removed. */
static char *without_line(const char *text, size_t len, int drop, size_t *out_len)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    int line = 0;
    for (const char *p = text; p < text + len;) {
        const char *eol = memchr(p, '\n', (size_t)(text + len - p));
        size_t ll = eol ? (size_t)(eol - p) + 1 : (size_t)(text + len - p);
        if (p[0] != '#' && ++line == drop) {
            p += ll;
            continue;
        }
        memcpy(out + n, p, ll);
        n += ll;
        p += ll;
    }
    out[n] = 0;
    *out_len = n;
    return out;
}

static void test_ca_lost_frame_gaps_every_book_and_resubscribes_level2(void **state)
{
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open(&r, vh_rec(CA_REC)), 0);
    size_t len = 0;
    char *text = malloc(r->len + 1);
    for (size_t i = 0; i < r->len; i++)
        text[len++] = r->buf[i] ? r->buf[i] : '\n';
    text[len] = 0;
    feed_tgrec_close(&r);
    /* data line 500 = sequence_num 498, after both snapshots (13 and 23) */
    const char *l = text;
    for (int line = 0; line < 500;)
        if (*(l = strchr(l, '\n') + 1) != '#')
            line++;
    assert_non_null(strstr(l, "\"sequence_num\":498,"));
    size_t n2 = 0;
    char *lossy = without_line(text, len, 500, &n2);
    feed_offline_t *o = NULL;
    vrun_t *v = vh_run_mem(lossy, n2, &o);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(TG_STAT_GET(o->stats.resyncs), 2);
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        uint32_t id = o->h.instr[i];
        assert_int_equal(v->gaps[id], 1);
        assert_int_equal(v->synced[id], 0); /* no snapshot follows in the recording */
    }
    assert_int_equal(v->last_gap.seq, 497);   /* last number seen */
    assert_int_equal(v->last_gap.u.aux, 499); /* number received */
    assert_int_equal(o->sent, 3 + 2);         /* subscribes + one unsubscribe + one subscribe */
    assert_true(TG_STAT_GET(o->stats.stale_dropped) > 0); /* updates after the gap */
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    /* trades keep flowing: only the book is resynced */
    long tr = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++)
        tr += v->trades[o->h.instr[i]];
    assert_int_equal(tr, 79);
    vrun_close(&o, v);
    free(lossy);
    free(text);
}

/* ---- synthetic sync rules ------------------------------------------------------------------- */

static void test_ca_subscribes_one_message_per_channel_with_heartbeats(void **state)
{
    syn_t *s = syn_open("BTC-USD,ETH-USD", NULL);
    vh_syn_assert_open_sends(s, 3);
    assert_string_equal(s->cap.sent[0], "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\","
                                        "\"ETH-USD\"],\"channel\":\"level2\"}");
    assert_non_null(strstr(s->cap.sent[1], "\"channel\":\"market_trades\"}"));
    assert_non_null(strstr(s->cap.sent[2], "\"channel\":\"heartbeats\"}"));
    /* book only: no market_trades */
    s->o->h.channels = FEED_CH_BOOK;
    vh_syn_assert_open_sends(s, 2);
    assert_null(strstr(s->cap.sent[1], "market_trades"));
    vh_syn_close(s);
}

static void test_ca_updates_before_the_snapshot_are_dropped(void **state)
{
    syn_t *s = syn_open("BTC-USD", NULL);
    int64_t id = vh_syn_id(s, "BTC-USD");
    assert_int_equal(l2(s, 0, "update", "BTC-USD", LV("bid", "100", "1"), 1), 0);
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 1);
    assert_int_equal(s->v.events, 0);
    assert_int_equal(l2(s, 1, "snapshot", "BTC-USD",
                        LV("bid", "100", "1") "," LV("offer", "101", "2") "," LV("bid", "99", "3"),
                        2),
                     0);
    assert_int_equal(s->v.snapshots[id], 1);
    assert_int_equal(s->v.book[id].bid.n, 2);
    assert_int_equal(
        l2(s, 2, "update", "BTC-USD", LV("bid", "100", "0") "," LV("offer", "101", "5"), 3), 0);
    assert_int_equal(s->v.book[id].bid.n, 1);
    assert_int_equal(s->v.book[id].bid.px[0], 9900000000);
    assert_int_equal(s->v.book[id].ask.sz[0], 500000000);
    vh_syn_assert_msgs(s, 2, 3);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 0);
    vh_syn_close(s);
}

static void test_ca_sequence_gap_and_repeat_are_gaps_then_a_snapshot_recovers(void **state)
{
    syn_t *s = syn_open("BTC-USD,ETH-USD", NULL);
    int64_t b = vh_syn_id(s, "BTC-USD"), e = vh_syn_id(s, "ETH-USD");
    int64_t t0 = 1000000000000;
    assert_int_equal(l2(s, 10, "snapshot", "BTC-USD", LV("bid", "100", "1"), t0), 0);
    assert_int_equal(l2(s, 11, "snapshot", "ETH-USD", LV("bid", "10", "1"), t0), 0);
    /* a heartbeat with the next number: fine */
    assert_int_equal(vh_syn_frame(s,
                                  "{\"channel\":\"heartbeats\"," TS
                                  ",\"sequence_num\":12,\"events\":[{"
                                  "\"current_time\":\"x\",\"heartbeat_counter\":5}]}",
                                  t0),
                     0);
    assert_int_equal(TG_STAT_GET(s->o->stats.unhandled), 1);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 0);
    /* 13 lost: the heartbeat with 14 shows it */
    assert_int_equal(vh_syn_frame(s,
                                  "{\"channel\":\"heartbeats\"," TS
                                  ",\"sequence_num\":14,\"events\":[{"
                                  "\"current_time\":\"x\",\"heartbeat_counter\":6}]}",
                                  t0 + 1),
                     0);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 1);
    assert_int_equal(s->v.gaps[b], 1);
    assert_int_equal(s->v.gaps[e], 1);
    assert_int_equal(s->v.last_gap.seq, 12);
    assert_int_equal(s->v.last_gap.u.aux, 14);
    assert_int_equal(TG_STAT_GET(s->o->stats.handled), 3); /* the heartbeat acted on a gap */
    /* one unsubscribe and one subscribe for both products, level2 only */
    assert_int_equal(s->cap.n_sent, 2);
    assert_string_equal(s->cap.sent[0], "{\"type\":\"unsubscribe\",\"product_ids\":[\"BTC-USD\","
                                        "\"ETH-USD\"],\"channel\":\"level2\"}");
    assert_string_equal(s->cap.sent[1], "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\","
                                        "\"ETH-USD\"],\"channel\":\"level2\"}");
    /* updates until the new snapshot are dropped */
    assert_int_equal(l2(s, 15, "update", "BTC-USD", LV("bid", "100", "7"), t0 + 2), 0);
    assert_int_equal(s->v.book[b].bid.sz[0], 100000000);
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 1);
    assert_int_equal(l2(s, 16, "snapshot", "BTC-USD", LV("bid", "101", "2"), t0 + 3), 0);
    assert_int_equal(l2(s, 17, "update", "BTC-USD", LV("bid", "101", "3"), t0 + 4), 0);
    assert_int_equal(s->v.book[b].bid.n, 1);
    assert_int_equal(s->v.book[b].bid.sz[0], 300000000);
    /* a repeated number is a gap too */
    assert_int_equal(l2(s, 17, "update", "BTC-USD", LV("bid", "101", "4"), t0 + 5), 0);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 2);
    assert_int_equal(s->v.book[b].bid.sz[0], 300000000); /* dropped: waiting again */
    vh_syn_close(s);
}

static void test_ca_unreadable_book_event_gaps_that_book_only(void **state)
{
    syn_t *s = syn_open("BTC-USD,ETH-USD", NULL);
    int64_t b = vh_syn_id(s, "BTC-USD"), e = vh_syn_id(s, "ETH-USD");
    assert_int_equal(l2(s, 0, "snapshot", "BTC-USD", LV("bid", "100", "1"), 1), 0);
    assert_int_equal(l2(s, 1, "snapshot", "ETH-USD", LV("bid", "10", "1"), 1), 0);
    /* second level unreadable: nothing of the event applies */
    assert_int_equal(
        l2(s, 2, "update", "BTC-USD", LV("bid", "100", "5") "," LV("bid", "1x", "1"), 2),
        TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_decimal), 1);
    assert_int_equal(s->v.book[b].bid.sz[0], 100000000);
    assert_int_equal(s->v.gaps[b], 1);
    assert_int_equal(s->v.gaps[e], 0);
    assert_int_equal(s->cap.n_sent, 2);
    assert_string_equal(s->cap.sent[0], "{\"type\":\"unsubscribe\",\"product_ids\":[\"BTC-USD\"],"
                                        "\"channel\":\"level2\"}");
    /* ETH goes on, BTC waits for its snapshot */
    assert_int_equal(l2(s, 3, "update", "ETH-USD", LV("bid", "10", "2"), 3), 0);
    assert_int_equal(s->v.book[e].bid.sz[0], 200000000);
    assert_int_equal(l2(s, 4, "update", "BTC-USD", LV("bid", "100", "2"), 4), 0);
    assert_int_equal(s->v.book[b].bid.sz[0], 100000000);
    /* unknown side / zero price / missing field are field errors */
    assert_int_equal(l2(s, 5, "update", "ETH-USD", LV("ask", "10", "2"), 5), TG_EFIELD);
    assert_int_equal(s->v.gaps[e], 1);
    assert_int_equal(l2(s, 6, "snapshot", "ETH-USD", LV("bid", "0", "2"), 6), TG_EFIELD);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_field), 2);
    /* an event of an unknown product: every book of the frame's connection */
    assert_int_equal(l2(s, 7, "snapshot", "ETH-USD", LV("bid", "10", "2"), 7), 0);
    assert_int_equal(l2(s, 8, "update", "XRP-USD", LV("bid", "1", "2"), 8), TG_ESYMBOL);
    assert_int_equal(s->v.gaps[e], 2);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 0 + 3); /* sequence fine: book gaps only */
    assert_int_equal(vrun_accounted(&s->o->stats), TG_STAT_GET(s->o->stats.frames));
    vh_syn_close(s);
}

static int trades_frame(syn_t *s, uint64_t seq, const char *type, const char *trades, int64_t ts)
{
    char f[4096];
    snprintf(f, sizeof(f),
             "{\"channel\":\"market_trades\"," TS ",\"sequence_num\":%llu,\"events\":[{\"type\":"
             "\"%s\",\"trades\":[%s]}]}",
             (unsigned long long)seq, type, trades);
    return vh_syn_frame(s, f, ts);
}

#define TR(p, id, px, sz, side)                                                                    \
    "{\"product_id\":\"" p "\",\"trade_id\":\"" id "\",\"price\":\"" px "\",\"size\":\"" sz        \
    "\",\"time\":\"2026-08-09T21:05:42.5143Z\",\"side\":\"" side "\"}"

static void test_ca_trades_oldest_first_maker_side_inverted_duplicates_dropped(void **state)
{
    syn_t *s = syn_open("BTC-USD,ETH-USD", NULL);
    int64_t b = vh_syn_id(s, "BTC-USD"), e = vh_syn_id(s, "ETH-USD");
    /* history: baseline only */
    assert_int_equal(trades_frame(s, 0, "snapshot",
                                  TR("BTC-USD", "100", "1", "1", "BUY") "," TR("BTC-USD", "99", "1",
                                                                               "1", "SELL"),
                                  1),
                     0);
    assert_int_equal(s->v.trades[b], 0);
    s->v.no_truncate = 1;
    long ev0 = s->v.events, msgs0 = s->v.msgs;
    /* newest first, as Coinbase sends them; mixed products in one message */
    assert_int_equal(
        trades_frame(
            s, 1, "update",
            TR("BTC-USD", "103", "3", "1", "SELL") "," TR("BTC-USD", "102", "2", "1", "BUY") "," TR(
                "ETH-USD", "7", "5", "2", "sell") "," TR("BTC-USD", "101", "1.5", "1", "SELL"),
            2),
        0);
    assert_int_equal(s->v.trades[b], 3);
    assert_int_equal(s->v.trades[e], 1);
    assert_int_equal(s->v.buys[b], 2); /* maker sold twice: the taker bought */
    assert_int_equal(s->v.sells[b], 1);
    assert_int_equal(s->v.buys[e], 1);
    assert_int_equal(s->v.events - ev0, 4);
    assert_int_equal(s->v.msgs - msgs0, 2); /* one message per product */
    /* the first trade event of this message is BTC 101 at 1.5 */
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 0);
    /* a repeat is dropped, a jump is counted (no book gap) */
    assert_int_equal(trades_frame(s, 2, "update", TR("BTC-USD", "103", "3", "1", "SELL"), 3), 0);
    assert_int_equal(s->v.trades[b], 3);
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 1);
    assert_int_equal(trades_frame(s, 3, "update", TR("BTC-USD", "106", "3", "1", "SELL"), 4), 0);
    assert_int_equal(s->v.trades[b], 4);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 1);
    assert_int_equal(s->v.gaps[b], 0);
    /* a bad side drops the whole frame */
    assert_int_equal(trades_frame(s, 4, "update", TR("BTC-USD", "107", "3", "1", "UP"), 5),
                     TG_EFIELD);
    assert_int_equal(s->v.trades[b], 4);
    vh_syn_close(s);
}

static void test_ca_trade_events_carry_exact_fields(void **state)
{
    syn_t *s = syn_open("BTC-USD", NULL);
    vh_keep_t *k = vh_keep_on(s->o);
    assert_int_equal(
        trades_frame(s, 5, "update",
                     TR("BTC-USD", "1068572096", "65083.67", "0.002186",
                        "SELL") "," TR("BTC-USD", "1068572095", "65083.66", "0.5", "BUY"),
                     77),
        0);
    assert_int_equal(k->n, 2);
    assert_int_equal(k->ev[0].u.trade_id, 1068572095);
    assert_int_equal(k->ev[0].side, TG_SIDE_SELL);
    assert_int_equal(k->ev[0].price, 6508366000000);
    assert_int_equal(k->ev[0].flags & TG_EVF_LAST, 0);
    assert_int_equal(k->ev[1].u.trade_id, 1068572096);
    assert_int_equal(k->ev[1].side, TG_SIDE_BUY);
    assert_int_equal(k->ev[1].size, 218600);
    assert_true(k->ev[1].flags & TG_EVF_LAST);
    assert_int_equal(k->ev[1].seq, 5);
    assert_int_equal(k->ev[1].ts_recv, 77);
    /* 2026-08-09T21:05:42.5143Z */
    assert_int_equal(k->ev[1].ts_exch, 1786309542514300000);
    free(k);
    vh_syn_close(s);
}

static void test_ca_bad_input_is_counted_once(void **state)
{
    syn_t *s = syn_open("BTC-USD", NULL);
    assert_int_equal(vh_syn_frame(s, "{\"channel\":\"l2_data\",", 1), TG_EJSON);
    assert_int_equal(vh_syn_frame(s, "{\"channel\":\"x\"} {}", 1), TG_EJSON);
    assert_int_equal(vh_syn_frame(s, "[1,2]", 1), TG_EJSON);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_json), 3);
    assert_int_equal(
        vh_syn_frame(s, "{\"type\":\"error\",\"message\":\"failure to subscribe\"}", 1), TG_EPROTO);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_venue), 1);
    assert_int_equal(vh_syn_frame(s, "{\"sequence_num\":1}", 1), TG_EFIELD);
    assert_int_equal(vh_syn_frame(s, "{\"channel\":\"l2_data\",\"sequence_num\":-1}", 1),
                     TG_EFIELD);
    assert_int_equal(vh_syn_frame(s,
                                  "{\"channel\":\"l2_data\",\"timestamp\":\"2026-13-09T21:05:48Z\","
                                  "\"sequence_num\":0,\"events\":[]}",
                                  1),
                     TG_EFIELD);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_field), 3);
    assert_int_equal(trades_frame(s, 1, "update", TR("DOGE-USD", "1", "1", "1", "BUY"), 1),
                     TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_symbol), 1);
    assert_int_equal(vh_syn_frame(s,
                                  "{\"channel\":\"subscriptions\"," TS
                                  ",\"sequence_num\":2,\"events\":[{"
                                  "\"subscriptions\":{\"level2\":[\"BTC-USD\"]}}]}",
                                  1),
                     0);
    assert_int_equal(vh_syn_frame(s,
                                  "{\"channel\":\"ticker\"," TS
                                  ",\"sequence_num\":3,\"events\":[{\"type\":"
                                  "\"update\",\"tickers\":[]}]}",
                                  1),
                     0);
    assert_int_equal(TG_STAT_GET(s->o->stats.unhandled), 2);
    /* in-band REST product list: ours found -> handled; none of ours -> unhandled */
    assert_int_equal(
        vh_syn_frame(s,
                     "{\"rest\":\"https://api.coinbase.com/api/v3/brokerage/market/products\","
                     "\"generated\":true,\"data\":{\"products\":[{\"product_id\":\"BTC-USD\","
                     "\"base_increment\":\"0.00000001\",\"quote_increment\":\"0.01\","
                     "\"price_increment\":\"0.01\"}]}}",
                     1),
        0);
    assert_int_equal(vh_syn_frame(s,
                                  "{\"rest\":\"u\",\"generated\":true,\"data\":{\"products\":[{"
                                  "\"product_id\":\"XRP-USD\"}]}}",
                                  1),
                     0);
    assert_int_equal(TG_STAT_GET(s->o->stats.unhandled), 3);
    assert_int_equal(TG_STAT_GET(s->o->stats.frames), 12);
    assert_int_equal(vrun_accounted(&s->o->stats), 12);
    vh_syn_close(s);
}

static void test_ca_resubscribes_are_paced_and_builder_requests_resubscribe(void **state)
{
    syn_t *s = syn_open("A-USD,B-USD,C-USD,D-USD,E-USD,F-USD,G-USD,H-USD,I-USD,J-USD", NULL);
    feed_handler_t *h = &s->o->h;
    static tg_resync_t rs; /* the builder's requests */
    h->resync = &rs;
    /* on_open's 3 subscribes count in the first second: 5 sends left there */
    assert_int_equal(feed_venue_coinbase_advanced.on_open(h), 0);
    s->cap.n_sent = 0;
    int64_t t = 5000000000;
    const char *p[10] = {"A-USD", "B-USD", "C-USD", "D-USD", "E-USD",
                         "F-USD", "G-USD", "H-USD", "I-USD", "J-USD"};
    for (int i = 0; i < 10; i++) {
        char lv[128];
        snprintf(lv, sizeof(lv), LV("bid", "1", "1"));
        assert_int_equal(l2(s, (uint64_t)i, "snapshot", p[i], lv, t), 0);
    }
    /* each product broken in turn, inside one second: 2 sends per resync */
    for (int i = 0; i < 5; i++)
        assert_int_equal(l2(s, 10 + (uint64_t)i, "update", p[i], LV("bid", "x", "1"), t + i),
                         TG_EDEC_SYNTAX);
    assert_int_equal(s->cap.n_sent, 5); /* 8 per second */
    assert_int_equal(TG_STAT_GET(s->o->stats.resyncs), 5);
    /* the next second: the rest goes out, batched */
    feed_venue_coinbase_advanced.on_tick(h, t + 1000000000);
    assert_int_equal(s->cap.n_sent, 7);
    int subs = 0, unsubs = 0;
    for (int i = 0; i < s->cap.n_sent; i++) {
        subs += strncmp(s->cap.sent[i], "{\"type\":\"subscribe\"", 19) == 0;
        unsubs += strncmp(s->cap.sent[i], "{\"type\":\"unsubscribe\"", 21) == 0;
    }
    assert_int_equal(subs, 3);
    assert_int_equal(unsubs, 4);
    assert_non_null(strstr(s->cap.sent[6], "\"product_ids\":[\"C-USD\",\"D-USD\",\"E-USD\"]"));
    /* the builder asks for J-USD (crossed book): resubscribed on the next tick */
    int64_t j = vh_syn_id(s, "J-USD");
    assert_int_equal(l2(s, 15, "update", "J-USD", LV("bid", "1", "2"), t + 1000000001), 0);
    assert_int_equal(s->v.book[j].bid.sz[0], 200000000);
    tg_resync_request(&rs, (uint32_t)j);
    feed_venue_coinbase_advanced.on_tick(h, t + 2000000000);
    assert_int_equal(s->cap.n_sent, 9);
    assert_string_equal(s->cap.sent[7], "{\"type\":\"unsubscribe\",\"product_ids\":[\"J-USD\"],"
                                        "\"channel\":\"level2\"}");
    assert_int_equal(l2(s, 16, "update", "J-USD", LV("bid", "1", "3"), t + 2000000001), 0);
    assert_int_equal(s->v.book[j].bid.sz[0], 200000000); /* waiting for the new snapshot */
    feed_venue_coinbase_advanced.on_tick(h, t + 3000000000);
    assert_int_equal(s->cap.n_sent, 9); /* asked once, served once */
    vh_syn_close(s);
}

/* ---- fuzz ----------------------------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static void test_ca_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    vh_fuzz_t f = VH_FUZZ_TEXT(vh_rec(CA_REC), &rng, 1000, 5000);
    f.big = 65536; /* the multi-MB frames: one time in 64 */
    f.big_every = 64;
    vh_fuzz_run(&f, 30000);
    assert_true(TG_STAT_GET(f.o->stats.handled) > 0);
    vh_fuzz_close(&f);
}

/* ---- exact values at extreme scales --------------------------------------------------------- */

/* The first n levels of xv, as one l2_data update list: sides from `side` ("bid") or, when
 * NULL, bid and offer in turn. */
static void levels_of(const vh_xval_t *xv, int n, const char *side, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(out + k, cap - k,
                              "%s{\"side\":\"%s\",\"price_level\":\"%s\",\"new_quantity\":\"%s\"}",
                              i ? "," : "",
                              side    ? side
                              : i % 2 ? "offer"
                                      : "bid",
                              xv[i].px, xv[i].sz);
}

static void test_ca_extreme_scales_are_exact(void **state)
{
    tg_instr_reg_t *reg = vh_reg_big("coinbase-advanced", "BIG-USD");
    syn_t *s = syn_open("BIG-USD,TINY-USD,OVER-USD", reg);
    vh_keep_t *k = vh_keep_on(s->o);
    /* one message: first level no decimals, later 2 and 11 places (scales 0 -> 2 -> 11 for
     * prices, 0 -> 1 -> 6 for sizes): every value stays exact */
    char lv[2048];
    levels_of(vh_xs + VH_XS_BIG, 4, NULL, lv, sizeof(lv));
    assert_int_equal(l2(s, 0, "snapshot", "BIG-USD", lv, 1), 0);
    vh_keep_assert_exact(k, TG_EV_LEVEL, vh_xs + VH_XS_BIG, 4);
    assert_int_equal(k->ev[k->n - 1].px_scale, 11);
    assert_int_equal(k->ev[k->n - 1].sz_scale, 6);
    assert_int_equal(TG_STAT_GET(s->o->stats.rescales), 4);
    /* 1e8 at price scale 11 is 1e19: no int64 holds it, the book faults loudly */
    k->n = 0;
    vh_keep_assert_fault(k, l2(s, 1, "update", "BIG-USD", LV("bid", "100000000", "1"), 2));
    assert_int_equal(TG_STAT_GET(s->o->stats.unrepresentable), 1);
    /* small instrument (default scales 8/8): 1e-12 prices, 1e-8 sizes, 16 places */
    k->n = 0;
    levels_of(vh_xs + VH_XS_TINY, 4, "bid", lv, sizeof(lv));
    assert_int_equal(l2(s, 2, "snapshot", "TINY-USD", lv, 3), 0);
    vh_keep_assert_exact(k, TG_EV_LEVEL, vh_xs + VH_XS_TINY, 4);
    assert_int_equal(k->ev[k->n - 1].px_scale, 16);
    /* trades at extreme scales too */
    k->n = 0;
    assert_int_equal(trades_frame(s, 3, "update",
                                  TR("TINY-USD", "9", "0.000000000007", "1000000000.5", "BUY"), 4),
                     0);
    vh_keep_assert_exact(k, TG_EV_TRADE, vh_xs + VH_XS_TRADE, 1);
    /* 1e12 at the default size scale 8 is 1e20: no int64 holds it, the book faults */
    k->n = 0;
    vh_keep_assert_fault(k, l2(s, 4, "snapshot", "OVER-USD", LV("bid", "1", "1000000000000"), 5));
    assert_int_equal(k->n, 1);
    vh_xs_close(s, k, reg, 2);
}

int main(void)
{
    if (tu_skip_without("TG_RECORDINGS", "the recordings are needed") ||
        tu_skip_without("TG_PEER_EXPECTED", "the oracles are needed"))
        return TU_SKIPPED;
    TU_RETURN_GROUP(
        NULL, NULL, cmocka_unit_test(test_ca_venue_is_offered_with_its_published_limits),
        cmocka_unit_test(test_ca_recording_books_and_trades_equal_the_reference),
        cmocka_unit_test(test_ca_lost_frame_gaps_every_book_and_resubscribes_level2),
        cmocka_unit_test(test_ca_subscribes_one_message_per_channel_with_heartbeats),
        cmocka_unit_test(test_ca_updates_before_the_snapshot_are_dropped),
        cmocka_unit_test(test_ca_sequence_gap_and_repeat_are_gaps_then_a_snapshot_recovers),
        cmocka_unit_test(test_ca_unreadable_book_event_gaps_that_book_only),
        cmocka_unit_test(test_ca_trades_oldest_first_maker_side_inverted_duplicates_dropped),
        cmocka_unit_test(test_ca_trade_events_carry_exact_fields),
        cmocka_unit_test(test_ca_bad_input_is_counted_once),
        cmocka_unit_test(test_ca_resubscribes_are_paced_and_builder_requests_resubscribe),
        cmocka_unit_test(test_ca_extreme_scales_are_exact),
        cmocka_unit_test(test_ca_mutated_frames_never_crash_and_are_all_counted));
}
