/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the builder through its synchronous API: snapshot -> VALID with a new
 * generation, one BOOK record per message, rate limiting that still publishes the final state,
 * checksum mismatch and crossed book -> RESYNCING + GAP + resync request, stale, feed gaps,
 * depth truncation before the checksum, trades and candles, bad events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book/book_builder.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_resync.h"
#include "tests/fixtures/tu_reg.h"

#define MS TG_NS_PER_MS

typedef struct fx {
    tg_instr_reg_t *reg;
    tg_resync_t resync;
    book_builder_t *b;
    uint32_t id, id_ck;
    book_out_t *rec;
    int n, cap;
    int64_t t; /* ts_mono / ts_exch of the next message */
} fx_t;

static int sink(void *ctx, const book_out_t *rec)
{
    fx_t *f = ctx;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->rec = realloc(f->rec, sizeof(book_out_t) * (size_t)f->cap);
    }
    f->rec[f->n++] = *rec;
    return 0;
}

/* Test checksum: (best bid price + 3 * best ask price + depth) of the truncated book. */
static uint32_t test_ck(const struct book_l2 *bk, const struct tg_instr *in, const tg_event_t *e)
{
    tg_level_t bid = {0}, ask = {0};
    book_l2_best_bid(bk, &bid);
    book_l2_best_ask(bk, &ask);
    return (uint32_t)(bid.price + 3 * ask.price + (int64_t)book_l2_depth(bk, TG_SIDE_BID) +
                      (int64_t)book_l2_depth(bk, TG_SIDE_ASK));
}

/* The builder's defaults on the fixture's registry and resync table (no sinks yet). */
static void cfg_base(fx_t *f, book_builder_cfg_t *cfg)
{
    book_builder_cfg_defaults(cfg);
    cfg->reg = f->reg;
    cfg->resync = &f->resync;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    tg_instr_cfg_t c;
    tu_reg_one(&f->reg, "test", "AAA", 2, 3, &f->id, &c);
    c.checksum = test_ck;
    c.depth_limit = 3;
    tg_instr_reg_add(f->reg, "test", "CKD", &c, &f->id_ck);
    book_builder_cfg_t cfg;
    cfg_base(f, &cfg);
    cfg.n_sinks = 1;
    cfg.sinks[0] = (book_sink_cfg_t){
        .name = "all", .fn = sink, .ctx = f, .kinds = BOOK_SINK_ALL, .lossless = true};
    cfg.book_interval_ns = 0;
    cfg.candles.n_intervals = 1;
    cfg.candles.interval_ns[0] = 60 * TG_NS_PER_SEC;
    if (book_builder_create(&f->b, &cfg) < 0)
        return -1;
    f->t = 1000 * TG_NS_PER_SEC;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    book_builder_destroy(&f->b);
    tg_instr_reg_destroy(&f->reg);
    free(f->rec);
    free(f);
    return 0;
}

static tg_event_t ev(fx_t *f, uint32_t id, int kind, int side, int64_t px, int64_t sz, uint64_t seq)
{
    tg_event_t e = {.kind = (uint8_t)kind,
                    .side = (uint8_t)side,
                    .price = px,
                    .size = sz,
                    .seq = seq,
                    .instr = id,
                    .ts_exch = f->t,
                    .ts_recv = f->t,
                    .ts_mono = f->t};
    return e;
}

/* Apply one message (marks the last event LAST) and advance time by dt. */
static void msg(fx_t *f, tg_event_t *e, int n, int64_t dt)
{
    e[n - 1].flags |= TG_EVF_LAST;
    book_builder_apply(f->b, e, (size_t)n);
    f->t += dt;
}

static void snapshot(fx_t *f, uint32_t id, uint64_t seq)
{
    tg_event_t e[5] = {ev(f, id, TG_EV_BOOK_CLEAR, 0, 0, 0, seq),
                       ev(f, id, TG_EV_LEVEL, TG_SIDE_BID, 100, 1, seq),
                       ev(f, id, TG_EV_LEVEL, TG_SIDE_BID, 99, 2, seq),
                       ev(f, id, TG_EV_LEVEL, TG_SIDE_ASK, 101, 3, seq),
                       ev(f, id, TG_EV_LEVEL, TG_SIDE_ASK, 102, 4, seq)};
    for (int i = 0; i < 5; i++)
        e[i].flags = TG_EVF_SNAPSHOT;
    msg(f, e, 5, 20 * MS);
}

static int count(const fx_t *f, int kind, int reason)
{
    int c = 0;
    for (int i = 0; i < f->n; i++) {
        const book_out_t *r = &f->rec[i];
        if (r->kind != kind)
            continue;
        if (reason < 0 || (kind == BOOK_OUT_BOOK && r->u.book.reason == reason) ||
            (kind == BOOK_OUT_GAP && r->u.gap.reason == reason))
            c++;
    }
    return c;
}

static const book_out_t *last(const fx_t *f, int kind)
{
    for (int i = f->n - 1; i >= 0; i--)
        if (f->rec[i].kind == kind)
            return &f->rec[i];
    return NULL;
}

static void test_builder_snapshot_makes_the_book_valid_with_a_new_generation(void **state)
{
    fx_t *f = *state;
    const book_l2_t *bk;
    snapshot(f, f->id, 10);
    bk = book_builder_book(f->b, f->id);
    assert_non_null(bk);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
    assert_int_equal(book_l2_generation(bk), 1);
    assert_int_equal(book_l2_last_seq(bk), 10);
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_STATE), 1);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_RESYNCED), 1);
    const book_out_t *r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->u.book.state, BOOK_STATE_VALID);
    assert_int_equal(r->u.book.n_bids, 2);
    assert_int_equal(r->u.book.bids[0].price, 100);
    assert_int_equal(r->u.book.asks[1].price, 102);
    assert_int_equal(r->u.book.generation, 1);
    assert_int_equal(r->instr, f->id);
}

static void test_builder_publishes_once_per_message_and_rate_limits_but_keeps_the_last(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    int before = count(f, BOOK_OUT_BOOK, -1);
    tg_event_t e[3] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 5, 2),
                       ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 98, 5, 2),
                       ev(f, f->id, TG_EV_LEVEL, TG_SIDE_ASK, 101, 7, 2)};
    msg(f, e, 3, 1 * MS); /* 20 ms after the snapshot: published at once */
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_CHANGE), 1);
    tg_event_t e2[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 6, 3)};
    msg(f, e2, 1, 1 * MS); /* 1 ms later: deferred */
    tg_event_t e3[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 8, 4)};
    msg(f, e3, 1, 1 * MS);
    assert_int_equal(count(f, BOOK_OUT_BOOK, -1), before + 1);
    book_builder_tick(f->b, f->t + 20 * MS, 0);
    assert_int_equal(count(f, BOOK_OUT_BOOK, -1), before + 2);
    const book_out_t *r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->u.book.bids[0].size, 8); /* the final state */
    assert_int_equal(r->u.book.seq, 4);
    /* a change below the top-N is not republished */
    f->t += 30 * MS;
    tg_event_t e4[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 1, 8, 5)};
    msg(f, e4, 1, 50 * MS);
    assert_int_equal(count(f, BOOK_OUT_BOOK, -1), before + 3); /* top 10 includes it: 4 bids */
    for (int64_t p = 2; p < 20; p++) { /* fill 10+ bids, then touch the 11th */
        tg_event_t e5[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, p, 1, 6)};
        msg(f, e5, 1, 50 * MS);
    }
    int books = count(f, BOOK_OUT_BOOK, -1);
    tg_event_t e6[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 2, 5, 7)};
    msg(f, e6, 1, 50 * MS);
    assert_int_equal(count(f, BOOK_OUT_BOOK, -1), books);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->books_unchanged), 1);
}

static void test_builder_checksum_mismatch_resyncs_and_a_snapshot_recovers(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id_ck, 1);
    const book_l2_t *bk = book_builder_book(f->b, f->id_ck);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
    /* good checksum: bid 100 + 3*101 + depth 2+2 */
    tg_event_t e[2] = {ev(f, f->id_ck, TG_EV_LEVEL, TG_SIDE_BID, 100, 9, 2),
                       ev(f, f->id_ck, TG_EV_CHECKSUM, 0, 0, 0, 2)};
    e[1].u.checksum = 100 + 303 + 4;
    msg(f, e, 2, 20 * MS);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->checksum_ok), 1);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
    /* wrong checksum */
    tg_event_t e2[2] = {ev(f, f->id_ck, TG_EV_LEVEL, TG_SIDE_ASK, 101, 0, 3),
                        ev(f, f->id_ck, TG_EV_CHECKSUM, 0, 0, 0, 3)};
    e2[1].u.checksum = 12345;
    msg(f, e2, 2, 20 * MS);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->checksum_fail), 1);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_RESYNCING);
    assert_int_equal(tg_resync_get(&f->resync, f->id_ck), 1);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_CHECKSUM), 1);
    const book_out_t *r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->u.book.state, BOOK_STATE_RESYNCING);
    /* deltas on an invalid book are never published as valid */
    int books = count(f, BOOK_OUT_BOOK, -1);
    tg_event_t e3[1] = {ev(f, f->id_ck, TG_EV_LEVEL, TG_SIDE_BID, 100, 1, 4)};
    msg(f, e3, 1, 20 * MS);
    book_builder_flush(f->b);
    assert_int_equal(count(f, BOOK_OUT_BOOK, -1), books);
    snapshot(f, f->id_ck, 5);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
    assert_int_equal(book_l2_generation(bk), 2);
    r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->u.book.state, BOOK_STATE_VALID);
    assert_int_equal(r->u.book.generation, 2);
}

static void test_builder_truncates_to_the_depth_limit_before_the_checksum(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id_ck, 1);
    /* 2 more bids below: 4 bids -> truncated to 3 before the checksum */
    tg_event_t e[3] = {ev(f, f->id_ck, TG_EV_LEVEL, TG_SIDE_BID, 98, 1, 2),
                       ev(f, f->id_ck, TG_EV_LEVEL, TG_SIDE_BID, 97, 1, 2),
                       ev(f, f->id_ck, TG_EV_CHECKSUM, 0, 0, 0, 2)};
    e[2].u.checksum = 100 + 303 + 3 + 2;
    msg(f, e, 3, 20 * MS);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->checksum_ok), 1);
    assert_int_equal(book_l2_depth(book_builder_book(f->b, f->id_ck), TG_SIDE_BID), 3);
}

static void test_builder_crossed_book_after_a_message_is_a_fault_but_not_inside_one(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    /* crosses after the first level, uncrossed by the end of the message: fine */
    tg_event_t e[2] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 101, 1, 2),
                       ev(f, f->id, TG_EV_LEVEL, TG_SIDE_ASK, 101, 0, 2)};
    msg(f, e, 2, 20 * MS);
    const book_l2_t *bk = book_builder_book(f->b, f->id);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->crossed), 0);
    tg_event_t e2[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 103, 1, 3)};
    msg(f, e2, 1, 20 * MS);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_RESYNCING);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->crossed), 1);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_CROSSED), 1);
    assert_int_equal(tg_resync_get(&f->resync, f->id), 1);
    const book_out_t *r = last(f, BOOK_OUT_BOOK);
    assert_int_not_equal(r->u.book.state, BOOK_STATE_VALID);
    assert_int_equal(last(f, BOOK_OUT_GAP)->u.gap.seq_got, 3);
    assert_int_equal(last(f, BOOK_OUT_GAP)->u.gap.seq_last, 3);
}

static void test_builder_crossed_snapshot_never_becomes_valid(void **state)
{
    fx_t *f = *state;
    tg_event_t e[3] = {ev(f, f->id, TG_EV_BOOK_CLEAR, 0, 0, 0, 1),
                       ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 105, 1, 1),
                       ev(f, f->id, TG_EV_LEVEL, TG_SIDE_ASK, 104, 1, 1)};
    msg(f, e, 3, 20 * MS);
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_RESYNCING);
    assert_int_equal(book_l2_generation(book_builder_book(f->b, f->id)), 0);
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_BOOK)
            assert_int_not_equal(f->rec[i].u.book.state, BOOK_STATE_VALID);
}

static void test_builder_stale_and_feed_gap_change_state_until_the_next_snapshot(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    tg_event_t e[1] = {ev(f, f->id, TG_EV_STALE, 0, 0, 0, 0)};
    msg(f, e, 1, 20 * MS);
    const book_l2_t *bk = book_builder_book(f->b, f->id);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_STALE);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_STALE), 1);
    assert_int_equal(last(f, BOOK_OUT_BOOK)->u.book.state, BOOK_STATE_STALE);
    snapshot(f, f->id, 7);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
    assert_int_equal(book_l2_generation(bk), 2);
    tg_event_t g[1] = {ev(f, f->id, TG_EV_GAP, 0, 0, 0, 7)};
    g[0].u.aux = 9;
    msg(f, g, 1, 20 * MS);
    assert_int_equal(book_l2_state(bk), BOOK_STATE_RESYNCING);
    const book_out_t *r = last(f, BOOK_OUT_GAP);
    assert_int_equal(r->u.gap.reason, BOOK_GAP_SEQUENCE);
    assert_int_equal(r->u.gap.seq_last, 7);
    assert_int_equal(r->u.gap.seq_got, 9);
    assert_int_equal(tg_resync_get(&f->resync, f->id), 0); /* the feed knows already */
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->gaps), 4);
}

static void test_builder_trades_make_records_and_candles_close_on_book_time(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    int64_t m = 60 * TG_NS_PER_SEC;
    f->t = 100 * m + 1;
    tg_event_t t1[2] = {ev(f, f->id, TG_EV_TRADE, TG_SIDE_BUY, 100, 2, 0),
                        ev(f, f->id, TG_EV_TRADE, TG_SIDE_SELL, 104, 2, 0)};
    t1[0].u.trade_id = 77;
    msg(f, t1, 2, 0);
    assert_int_equal(count(f, BOOK_OUT_TRADE, -1), 2);
    const book_out_t *r = last(f, BOOK_OUT_TRADE);
    assert_int_equal(r->u.trade.price, 104);
    assert_int_equal(r->u.trade.side, TG_SIDE_SELL);
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_TRADE) {
            assert_int_equal(f->rec[i].u.trade.trade_id, 77);
            break;
        }
    /* a book message 1 s after the minute does not close it yet (grace 2 s), 3 s after does */
    f->t = 101 * m + TG_NS_PER_SEC;
    tg_event_t b1[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 50, 1, 2)};
    msg(f, b1, 1, 0);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->candles_closed), 0);
    f->t = 101 * m + 3 * TG_NS_PER_SEC;
    tg_event_t b2[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 51, 1, 3)};
    msg(f, b2, 1, 0);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->candles_closed), 1);
    const book_out_t *c = NULL;
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_CANDLE && f->rec[i].u.candle.closed)
            c = &f->rec[i];
    assert_non_null(c);
    assert_int_equal(c->u.candle.start_ns, 100 * m);
    assert_int_equal(c->u.candle.open, 100);
    assert_int_equal(c->u.candle.close, 104);
    assert_int_equal(c->u.candle.vwap, 102);
    assert_int_equal(c->u.candle.trades, 2);
    /* a trade of the minute book time closed revises it (docs/book.md, revision rule) */
    f->t = 100 * m + 5;
    tg_event_t t2[1] = {ev(f, f->id, TG_EV_TRADE, TG_SIDE_BUY, 100, 1, 0)};
    msg(f, t2, 1, 0);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->late_trades), 0);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->candle_revisions), 1);
    c = last(f, BOOK_OUT_CANDLE); /* the revision, closed again */
    assert_non_null(c);
    assert_int_equal(c->u.candle.closed, 1);
    assert_int_equal(c->u.candle.start_ns, 100 * m);
    assert_int_equal(c->u.candle.revision, 1);
    assert_int_equal(c->u.candle.trades, 3);
}

static void test_builder_wall_clock_closes_candles_on_the_exchange_clock(void **state)
{
    /* A replayed recording: exchange times years before the receive times. The wall clock
       must close a candle only once the exchange clock (wall clock minus the offset seen on
       the instrument's last message) has passed its end plus grace; with the raw wall clock
       every candle would close at once and every trade would be late. */
    fx_t *f = *state;
    int64_t m = 60 * TG_NS_PER_SEC, off = 5LL * 365 * 86400 * TG_NS_PER_SEC;
    f->t = 100 * m + 1;
    tg_event_t t1[1] = {ev(f, f->id, TG_EV_TRADE, TG_SIDE_BUY, 100, 2, 0)};
    t1[0].ts_recv = t1[0].ts_exch + off;
    msg(f, t1, 1, 0);
    int64_t recv = t1[0].ts_recv;
    book_builder_tick(f->b, f->t + TG_NS_PER_SEC, recv + 30 * TG_NS_PER_SEC);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->candles_closed), 0);
    f->t = 100 * m + 40 * TG_NS_PER_SEC;
    tg_event_t t2[1] = {ev(f, f->id, TG_EV_TRADE, TG_SIDE_SELL, 101, 1, 0)};
    t2[0].ts_recv = t2[0].ts_exch + off;
    msg(f, t2, 1, 0);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->late_trades), 0);
    /* exchange clock now ~101m + 3s: past end + grace */
    book_builder_tick(f->b, f->t + 2 * TG_NS_PER_SEC, t2[0].ts_recv + 23 * TG_NS_PER_SEC);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->candles_closed), 1);
    const book_out_t *c = last(f, BOOK_OUT_CANDLE);
    assert_non_null(c);
    assert_int_equal(c->u.candle.closed, 1);
    assert_int_equal(c->u.candle.trades, 2);
}

/* Replace f's builder with one holding a single lossless sink `name` (the test's sink) taking
 * `kinds`, and an interval snapshot every 100 ms. */
static void rebuild_with_interval(fx_t *f, const char *name, uint32_t kinds)
{
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = f->reg;
    cfg.n_sinks = 1;
    cfg.sinks[0] =
        (book_sink_cfg_t){.name = name, .fn = sink, .ctx = f, .kinds = kinds, .lossless = true};
    cfg.book_interval_ns = 100 * MS;
    book_builder_t *b2;
    assert_int_equal(book_builder_create(&b2, &cfg), 0);
    book_builder_destroy(&f->b);
    f->b = b2;
}

static void test_builder_repeated_interval_snapshot_is_marked_for_storage_to_skip(void **state)
{
    fx_t *f = *state;
    rebuild_with_interval(f, "all", BOOK_SINK_ALL);
    snapshot(f, f->id, 1);
    int64_t t0 = f->t;
    book_builder_tick(f->b, t0 + 150 * MS, 0); /* first interval: not a repeat of CHANGE? */
    book_builder_tick(f->b, t0 + 260 * MS, 0); /* nothing happened since: a repeat */
    int iv = 0, rep = 0;
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_BOOK && f->rec[i].u.book.reason == BOOK_OUT_R_INTERVAL) {
            iv++;
            rep += f->rec[i].u.book.repeat;
        }
    assert_int_equal(iv, 2);
    assert_true(rep >= 1);
    assert_int_equal(last(f, BOOK_OUT_BOOK)->u.book.repeat, 1);
    /* a new message makes the next interval snapshot new again */
    f->t = t0 + 300 * MS;
    tg_event_t e[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 7, 2)};
    msg(f, e, 1, 0);
    book_builder_tick(f->b, t0 + 420 * MS, 0);
    const book_out_t *r = NULL;
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_BOOK && f->rec[i].u.book.reason == BOOK_OUT_R_INTERVAL)
            r = &f->rec[i];
    assert_non_null(r);
    assert_int_equal(r->u.book.repeat, 0);
}

static void test_builder_bad_events_are_counted_and_fault_the_book(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    tg_event_t e[1] = {ev(f, 999, TG_EV_LEVEL, TG_SIDE_BID, 100, 1, 2)};
    msg(f, e, 1, 20 * MS);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->bad_events), 1);
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_VALID);
    tg_event_t e2[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, -1, 3)};
    msg(f, e2, 1, 20 * MS);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->bad_events), 2);
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_RESYNCING);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_BADEVENT), 1);
}

static void test_builder_message_spanning_two_instruments_ends_both(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    snapshot(f, f->id_ck, 1);
    int books = count(f, BOOK_OUT_BOOK, BOOK_OUT_R_CHANGE);
    tg_event_t e[2] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 4, 2),
                       ev(f, f->id_ck, TG_EV_LEVEL, TG_SIDE_BID, 100, 4, 2)};
    msg(f, e, 2, 20 * MS);
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_CHANGE), books + 2);
}

static void test_builder_interval_snapshots_only_for_books_that_were_valid(void **state)
{
    fx_t *f = *state;
    rebuild_with_interval(f, "pg",
                          BOOK_SINK_TRADE | BOOK_SINK_BOOK_INTERVAL | BOOK_SINK_BOOK_STATE |
                              BOOK_SINK_CANDLE_CLOSED | BOOK_SINK_GAP); /* what PostgreSQL takes */
    snapshot(f, f->id, 1);
    tg_event_t t[1] = {ev(f, f->id_ck, TG_EV_TRADE, TG_SIDE_BUY, 100, 1, 0)};
    msg(f, t, 1, 0);
    int64_t t0 = f->t;
    book_builder_tick(f->b, t0 + 50 * MS, 0);
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_INTERVAL), 0);
    book_builder_tick(f->b, t0 + 150 * MS, 0);
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_INTERVAL), 1);
    book_builder_tick(f->b, t0 + 260 * MS, 0);
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_INTERVAL), 2);
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_BOOK)
            assert_int_equal(f->rec[i].instr, f->id); /* never the trade-only instrument */
    /* PG kinds: no CHANGE snapshots, no forming candles */
    assert_int_equal(count(f, BOOK_OUT_BOOK, BOOK_OUT_R_CHANGE), 0);
    for (int i = 0; i < f->n; i++)
        if (f->rec[i].kind == BOOK_OUT_CANDLE)
            assert_int_equal(f->rec[i].u.candle.closed, 1);
}

/* An event at its own scales (what feeds send: TG_EVF_SCALED). */
static tg_event_t evs(fx_t *f, int kind, int side, const char *px, const char *sz, int ps, int ss)
{
    tg_event_t e = ev(f, f->id, kind, side, 0, 0, 0);
    assert_int_equal(tg_dec_parse(px, strlen(px), ps, &e.price), 0);
    assert_int_equal(tg_dec_parse(sz, strlen(sz), ss, &e.size), 0);
    e.px_scale = (unsigned)ps;
    e.sz_scale = (unsigned)ss;
    e.flags = TG_EVF_SCALED;
    return e;
}

static void assert_level(const book_out_t *r, int i, tg_side_t side, const char *px, const char *sz)
{
    const tg_level_t *l = side == TG_SIDE_BID ? &r->u.book.bids[i] : &r->u.book.asks[i];
    char b[TG_DEC_STR_MAX];
    tg_dec_format(l->price, r->px_scale, b);
    assert_string_equal(b, px);
    tg_dec_format(l->size, r->sz_scale, b);
    assert_string_equal(b, sz);
}

static void test_builder_raises_book_scales_exactly_when_events_carry_more_places(void **state)
{
    fx_t *f = *state; /* AAA registered at 2/3 places */
    tg_event_t s[3] = {evs(f, TG_EV_BOOK_CLEAR, 0, "0", "0", 2, 3),
                       evs(f, TG_EV_LEVEL, TG_SIDE_BID, "12.5", "3", 2, 3),
                       evs(f, TG_EV_LEVEL, TG_SIDE_ASK, "13", "1.25", 2, 3)};
    for (int i = 0; i < 3; i++)
        s[i].flags |= TG_EVF_SNAPSHOT;
    msg(f, s, 3, 20 * MS);
    /* a later message at 11 price places and 8 size places (ELON-USDT: 0.00000074408) */
    tg_event_t d[2] = {evs(f, TG_EV_LEVEL, TG_SIDE_BID, "12.50000074408", "0.00000001", 11, 8),
                       evs(f, TG_EV_LEVEL, TG_SIDE_BID, "12.4", "5", 2, 3)}; /* older scale */
    msg(f, d, 2, 20 * MS);
    const book_out_t *r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->px_scale, 11);
    assert_int_equal(r->sz_scale, 8);
    assert_int_equal(r->u.book.state, BOOK_STATE_VALID);
    assert_int_equal(r->u.book.n_bids, 3);
    assert_level(r, 0, TG_SIDE_BID, "12.50000074408", "0.00000001");
    assert_level(r, 1, TG_SIDE_BID, "12.5", "3");
    assert_level(r, 2, TG_SIDE_BID, "12.4", "5");
    assert_level(r, 0, TG_SIDE_ASK, "13", "1.25");
    int px, sz;
    assert_true(book_builder_scales(f->b, f->id, &px, &sz));
    assert_int_equal(px, 11);
    assert_int_equal(sz, 8);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->rescales), 1);
    /* trades and candles follow: a trade at 2 places after the book moved to 11 */
    tg_event_t t[2] = {evs(f, TG_EV_TRADE, TG_SIDE_BUY, "12.5", "2", 2, 3),
                       evs(f, TG_EV_TRADE, TG_SIDE_SELL, "0.000000000001", "90000000000", 12, 0)};
    msg(f, t, 2, 20 * MS);
    const book_out_t *tr = last(f, BOOK_OUT_TRADE);
    char b[TG_DEC_STR_MAX];
    tg_dec_format(tr->u.trade.price, tr->px_scale, b);
    assert_string_equal(b, "0.000000000001");
    tg_dec_format(tr->u.trade.size, tr->sz_scale, b);
    assert_string_equal(b, "90000000000"); /* 9e10 at the book's 8 size places: 9e18 */
    const book_candles_t *cs = book_builder_candles(f->b, f->id);
    book_out_candle_t c;
    assert_true(book_candles_forming(cs, 0, &c));
    tg_dec_format(c.open, 12, b);
    assert_string_equal(b, "12.5");
    tg_dec_format(c.low, 12, b);
    assert_string_equal(b, "0.000000000001");
    tg_dec_format(c.volume, 8, b);
    assert_string_equal(b, "90000000002");
    /* 1e12 at 8 places (1e20) is more than int64 holds: the trade is kept at its own scales
       (exact), never lost or rounded; only the candle, which needs one scale, skips it */
    tg_event_t t2[1] = {evs(f, TG_EV_TRADE, TG_SIDE_SELL, "1", "1000000000000", 0, 0)};
    msg(f, t2, 1, 20 * MS);
    tr = last(f, BOOK_OUT_TRADE);
    tg_dec_format(tr->u.trade.size, tr->sz_scale, b);
    assert_string_equal(b, "1000000000000");
    tg_dec_format(tr->u.trade.price, tr->px_scale, b);
    assert_string_equal(b, "1");
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_VALID);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->faults), 1);
    assert_true(book_candles_forming(cs, 0, &c));
    tg_dec_format(c.volume, 8, b);
    assert_string_equal(b, "90000000002");
}

static void test_builder_value_that_cannot_be_held_faults_the_book_loudly(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    /* 9e6 at 12 places fits int64 (9e18); the book holds 100 at 2 places: raising prices to 12
       places is fine, but a size of 1e12 at 9 places (1e21) is not */
    tg_event_t d[1] = {evs(f, TG_EV_LEVEL, TG_SIDE_BID, "0.000000000001", "1", 12, 3)};
    msg(f, d, 1, 20 * MS);
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_VALID);
    tg_event_t big[1] = {evs(f, TG_EV_LEVEL, TG_SIDE_ASK, "9000000", "1", 0, 3)};
    msg(f, big, 1, 20 * MS); /* 9e6 x 1e12 = 9e18 < 2^63: still exact */
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_VALID);
    tg_event_t over[1] = {evs(f, TG_EV_LEVEL, TG_SIDE_ASK, "10000000", "1", 0, 3)};
    msg(f, over, 1, 20 * MS); /* 1e7 at 12 places does not fit */
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_FAULT);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_FAULT), 1);
    assert_int_equal(last(f, BOOK_OUT_BOOK)->u.book.state, BOOK_STATE_FAULT);
    assert_int_equal(TG_STAT_GET(book_builder_stats(f->b)->faults), 1);
    assert_int_equal(tg_resync_get(&f->resync, f->id), 0); /* no resync: it would fault again */
    /* a feed that met an unrepresentable value says so with a FAULT gap */
    snapshot(f, f->id, 2);
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_VALID);
    tg_event_t g[1] = {ev(f, f->id, TG_EV_GAP, 0, 0, 0, 0)};
    g[0].flags = TG_EVF_FAULT;
    msg(f, g, 1, 20 * MS);
    assert_int_equal(book_l2_state(book_builder_book(f->b, f->id)), BOOK_STATE_FAULT);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_FAULT), 2);
}

/* Latency classes (docs/latency.md): a record published after a deliberate delay (rate limit
 * of on-change snapshots, of forming candles) carries BOOK_OUT_F_TIMER; one published for the
 * message that caused it does not. */
static void test_builder_flags_records_held_back_by_a_rate_limit_as_timer_made(void **state)
{
    fx_t *f = *state;
    snapshot(f, f->id, 1);
    tg_event_t e[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 5, 2)};
    msg(f, e, 1, 1 * MS); /* 20 ms after the snapshot: at once */
    const book_out_t *r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->u.book.reason, BOOK_OUT_R_CHANGE);
    assert_int_equal(r->flags & BOOK_OUT_F_TIMER, 0);
    assert_int_equal(book_out_lat_kind(r), BOOK_LAT_BOOK);
    tg_event_t e2[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 100, 6, 3)};
    msg(f, e2, 1, 1 * MS); /* within book_min_gap: held back */
    book_builder_tick(f->b, f->t + 20 * MS, 0);
    r = last(f, BOOK_OUT_BOOK);
    assert_int_equal(r->u.book.bids[0].size, 6);
    assert_int_equal(r->flags & BOOK_OUT_F_TIMER, BOOK_OUT_F_TIMER);
    assert_int_equal(book_out_lat_kind(r), BOOK_LAT_TIMER);
    f->t += 30 * MS;
    /* trades and the first forming candle: at once; the next forming candle: held back */
    tg_event_t t1[1] = {ev(f, f->id, TG_EV_TRADE, TG_SIDE_BID, 100, 1, 4)};
    msg(f, t1, 1, 1 * MS);
    r = last(f, BOOK_OUT_TRADE);
    assert_int_equal(book_out_lat_kind(r), BOOK_LAT_TRADE);
    r = last(f, BOOK_OUT_CANDLE);
    assert_non_null(r);
    assert_int_equal(r->u.candle.closed, 0);
    assert_int_equal(book_out_lat_kind(r), BOOK_LAT_CANDLE);
    int candles = count(f, BOOK_OUT_CANDLE, -1);
    tg_event_t t2[1] = {ev(f, f->id, TG_EV_TRADE, TG_SIDE_BID, 101, 1, 5)};
    msg(f, t2, 1, 1 * MS);
    assert_int_equal(count(f, BOOK_OUT_CANDLE, -1), candles);
    book_builder_tick(f->b, f->t + 300 * MS, 0);
    assert_int_equal(count(f, BOOK_OUT_CANDLE, -1), candles + 1);
    r = last(f, BOOK_OUT_CANDLE);
    assert_int_equal(r->u.candle.close, 101);
    assert_int_equal(book_out_lat_kind(r), BOOK_LAT_TIMER);
}

/* Trade gaps (book_builder.c "Trade gaps"): only history sinks that name BOOK_SINK_TRADE_GAP get
 * them; a closed connection arms the instrument and its next trade shows the hole, unless the
 * ids are consecutive or the handler fetches the outage's trades (REST on the STALE); a silent
 * feed's STALE (no CLOSED) arms nothing; the feed's own TG_EV_TRADE_GAP is one record. */
static void test_builder_trade_gaps_show_trades_lost_while_a_connection_was_closed(void **state)
{
    fx_t *f = *state, *hist = calloc(1, sizeof(*hist));
    assert_non_null(hist);
    book_builder_t *b = NULL;
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = f->reg;
    cfg.n_sinks = 2;
    cfg.sinks[0] = (book_sink_cfg_t){
        .name = "live", .fn = sink, .ctx = f, .kinds = BOOK_SINK_ALL, .lossless = true};
    cfg.sinks[1] = (book_sink_cfg_t){.name = "history",
                                     .fn = sink,
                                     .ctx = hist,
                                     .kinds = BOOK_SINK_TRADE | BOOK_SINK_TRADE_GAP,
                                     .lossless = true};
    cfg.book_interval_ns = 0;
    /* a venue whose trade ids are consecutive per instrument (tg_instr_t.trade_ids_seq) */
    tg_instr_cfg_t sc;
    tg_instr_cfg_defaults(&sc);
    sc.trade_ids_seq = true;
    uint32_t seq_id = 0;
    assert_int_equal(tg_instr_reg_add(f->reg, "test", "SEQ", &sc, &seq_id), 0);
    assert_int_equal(book_builder_create(&b, &cfg), 0);
    book_builder_destroy(&f->b);
    f->b = b;
    uint64_t ids[] = {10, 0 /* closed */,       15, 16, 0 /* closed */, 17, 0 /* silent */,
                      30, 0 /* closed, REST */, 40};
    uint8_t stale_flags[] = {
        0, TG_EVF_CLOSED, 0, 0, TG_EVF_CLOSED, 0, 0, 0, TG_EVF_CLOSED | TG_EVF_REST, 0};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        tg_event_t e[1] = {ev(f, seq_id, ids[i] ? TG_EV_TRADE : TG_EV_STALE, TG_SIDE_BUY,
                              ids[i] ? 100 : 0, ids[i] ? 1 : 0, 0)};
        e[0].u.trade_id = ids[i];
        e[0].flags = stale_flags[i];
        msg(f, e, 1, MS);
    }
    tg_event_t g[1] = {ev(f, seq_id, TG_EV_TRADE_GAP, 0, 0, 0, 40)};
    g[0].u.aux = 45;
    msg(f, g, 1, MS);
    /* 10 -> closed -> 15: one gap (10, 15); 16 -> closed -> 17: consecutive, none; silent
       STALE before 30, REST before 40: none; the feed's own (40, 45): one */
    assert_int_equal(count(hist, BOOK_OUT_GAP, BOOK_GAP_TRADES), 2);
    assert_int_equal(count(hist, BOOK_OUT_TRADE, -1), 6);
    assert_int_equal(count(f, BOOK_OUT_GAP, BOOK_GAP_TRADES), 0); /* not a live record */
    const book_out_t *r = NULL;
    for (int i = 0; i < hist->n; i++)
        if (hist->rec[i].kind == BOOK_OUT_GAP) {
            r = &hist->rec[i];
            break;
        }
    assert_non_null(r);
    assert_int_equal(r->u.gap.seq_last, 10);
    assert_int_equal(r->u.gap.seq_got, 15);
    r = last(hist, BOOK_OUT_GAP);
    assert_int_equal(r->u.gap.seq_last, 40);
    assert_int_equal(r->u.gap.seq_got, 45);
    assert_int_equal(TG_STAT_GET(book_builder_stats(b)->trade_gaps), 2);
    /* the REST outage before 40 is remembered as (30, 40); its trades 31..33 arrive (the
       handler's backfill), then the handler gives a wider range up: one record, (33, 40) */
    for (uint64_t id = 31; id <= 33; id++) {
        tg_event_t t[1] = {ev(f, seq_id, TG_EV_TRADE, TG_SIDE_BUY, 100, 1, 0)};
        t[0].u.trade_id = id;
        msg(f, t, 1, MS);
    }
    tg_event_t w[1] = {ev(f, seq_id, TG_EV_TRADE_GAP, 0, 0, 0, 20)};
    w[0].u.aux = 41;
    msg(f, w, 1, MS);
    assert_int_equal(count(hist, BOOK_OUT_GAP, BOOK_GAP_TRADES), 3);
    r = last(hist, BOOK_OUT_GAP);
    assert_int_equal(r->u.gap.seq_last, 33);
    assert_int_equal(r->u.gap.seq_got, 40);
    /* a REST outage whose trades all arrive leaves nothing to report */
    uint64_t fill[] = {0 /* closed, REST */, 50, 41, 42, 43, 44, 45, 46, 47, 48, 49};
    for (size_t i = 0; i < sizeof(fill) / sizeof(fill[0]); i++) {
        tg_event_t t[1] = {ev(f, seq_id, fill[i] ? TG_EV_TRADE : TG_EV_STALE, TG_SIDE_BUY,
                              fill[i] ? 100 : 0, fill[i] ? 1 : 0, 0)};
        t[0].u.trade_id = fill[i];
        t[0].flags = fill[i] ? 0 : TG_EVF_CLOSED | TG_EVF_REST;
        msg(f, t, 1, MS);
    }
    tg_event_t w2[1] = {ev(f, seq_id, TG_EV_TRADE_GAP, 0, 0, 0, 44)};
    w2[0].u.aux = 51;
    msg(f, w2, 1, MS); /* (40, 50) was filled: no hole known, so the feed's own range */
    assert_int_equal(count(hist, BOOK_OUT_GAP, BOOK_GAP_TRADES), 4);
    r = last(hist, BOOK_OUT_GAP);
    assert_int_equal(r->u.gap.seq_last, 44);
    assert_int_equal(r->u.gap.seq_got, 51);
    /* a venue whose ids tell no hole (global, hashed: the default): after a closed connection
       the first trade newer than every one seen (a re-delivered older one is not) is a gap with
       unknown id bounds (0, 0) at that trade's time, whatever its id; a silent STALE arms
       nothing */
    int64_t t_before = f->t, t_shown = 0;
    uint64_t hashed[] = {0xdeadbeef00000001u, 0 /* closed */, 0x0123u /* re-delivered */, 0x7777u,
                         0 /* silent */,      0x5555u};
    uint8_t hflags[] = {0, TG_EVF_CLOSED, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
        tg_event_t t[1] = {ev(f, f->id, hashed[i] ? TG_EV_TRADE : TG_EV_STALE, TG_SIDE_BUY,
                              hashed[i] ? 100 : 0, hashed[i] ? 1 : 0, 0)};
        t[0].u.trade_id = hashed[i];
        t[0].flags = hflags[i];
        if (i == 2)
            t[0].ts_exch = t_before; /* the first trade, again */
        if (i == 3)
            t_shown = f->t;
        msg(f, t, 1, MS);
    }
    assert_int_equal(count(hist, BOOK_OUT_GAP, BOOK_GAP_TRADES), 5);
    r = last(hist, BOOK_OUT_GAP);
    assert_int_equal(r->instr, f->id);
    assert_int_equal(r->u.gap.seq_last, 0);
    assert_int_equal(r->u.gap.seq_got, 0);
    assert_int_equal(r->ts_exch, t_shown);
    /* that venue's feed gives a range up (a backfill by time): its bounds are times, and the
       record says so (BOOK_GAP_TRADES_TIME), so that no reader takes them for ids */
    tg_event_t tw[1] = {ev(f, f->id, TG_EV_TRADE_GAP, 0, 0, 0, 1617648100000000000ull)};
    tw[0].u.aux = 1617648160000000000ull;
    msg(f, tw, 1, MS);
    assert_int_equal(count(hist, BOOK_OUT_GAP, BOOK_GAP_TRADES), 5);
    assert_int_equal(count(hist, BOOK_OUT_GAP, BOOK_GAP_TRADES_TIME), 1);
    r = last(hist, BOOK_OUT_GAP);
    assert_int_equal(r->u.gap.seq_last, 1617648100000000000ull);
    assert_int_equal(r->u.gap.seq_got, 1617648160000000000ull);
    free(hist->rec);
    free(hist);
}

static int count_ids(void *ctx, const book_out_t *rec)
{
    uint64_t *ids = ctx; /* ids[0]: how many, then the trade ids in order */
    if (rec->kind == BOOK_OUT_TRADE && ids[0] < 15)
        ids[++ids[0]] = rec->u.trade.trade_id;
    return 0;
}

static void test_builder_sends_a_redelivered_trade_to_lossless_sinks_only(void **state)
{
    fx_t *f = *state;
    uint64_t pg[16] = {0}, rds[16] = {0};
    book_builder_cfg_t cfg;
    cfg_base(f, &cfg);
    cfg.n_sinks = 2;
    cfg.sinks[0] = (book_sink_cfg_t){
        .name = "pg", .fn = count_ids, .ctx = pg, .kinds = BOOK_SINK_TRADE, .lossless = true};
    cfg.sinks[1] = (book_sink_cfg_t){
        .name = "redis", .fn = count_ids, .ctx = rds, .kinds = BOOK_SINK_TRADE, .lossless = false};
    book_builder_t *b = NULL;
    assert_int_equal(book_builder_create(&b, &cfg), 0);
    /* trades 1, 2, 3; a reconnect re-delivers 2 and 3 (same id and time); then 4 */
    static const uint64_t ids[] = {1, 2, 3, 2, 3, 4};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        tg_event_t e = ev(f, f->id, TG_EV_TRADE, TG_SIDE_BID, 100, 1, 0);
        e.u.trade_id = ids[i];
        e.ts_exch = 1000 * TG_NS_PER_SEC + (int64_t)ids[i] * MS; /* the trade's own time */
        e.flags = TG_EVF_LAST;
        book_builder_apply(b, &e, 1);
    }
    assert_int_equal(TG_STAT_GET(book_builder_stats(b)->dup_trades), 2);
    assert_int_equal(pg[0], 6);  /* PostgreSQL gets every record (its key keeps one row) */
    assert_int_equal(rds[0], 4); /* subscribers get each trade once, in order */
    for (uint64_t k = 1; k <= 4; k++)
        assert_int_equal(rds[k], k);
    book_builder_destroy(&b);
}

static void test_builder_counts_the_levels_and_memory_of_all_books_on_the_wall_tick(void **state)
{
    fx_t *f = *state;
    const book_builder_stats_t *st = book_builder_stats(f->b);
    snapshot(f, f->id, 10);
    snapshot(f, f->id_ck, 10);
    tg_event_t e[1] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 98, 5, 11)};
    msg(f, e, 1, MS);
    book_builder_tick(f->b, f->t, 0); /* not the wall tick: not counted yet */
    assert_int_equal(TG_STAT_GET(st->book_levels), 0);
    book_builder_tick(f->b, f->t, f->t);
    const book_l2_t *a = book_builder_book(f->b, f->id), *c = book_builder_book(f->b, f->id_ck);
    assert_int_equal(TG_STAT_GET(st->book_levels), 4 + 1 + 4);
    assert_int_equal(TG_STAT_GET(st->book_bytes), book_l2_mem_bytes(a) + book_l2_mem_bytes(c));
    assert_true(TG_STAT_GET(st->book_bytes) >= 9 * 16);
    tg_event_t d[2] = {ev(f, f->id, TG_EV_LEVEL, TG_SIDE_BID, 98, 0, 12),
                       ev(f, f->id, TG_EV_LEVEL, TG_SIDE_ASK, 102, 0, 12)};
    msg(f, d, 2, MS);
    book_builder_tick(f->b, f->t, f->t);
    assert_int_equal(TG_STAT_GET(st->book_levels), 4 + 1 + 4 - 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_builder_snapshot_makes_the_book_valid_with_a_new_generation),
        T(test_builder_publishes_once_per_message_and_rate_limits_but_keeps_the_last),
        T(test_builder_checksum_mismatch_resyncs_and_a_snapshot_recovers),
        T(test_builder_truncates_to_the_depth_limit_before_the_checksum),
        T(test_builder_crossed_book_after_a_message_is_a_fault_but_not_inside_one),
        T(test_builder_crossed_snapshot_never_becomes_valid),
        T(test_builder_stale_and_feed_gap_change_state_until_the_next_snapshot),
        T(test_builder_trades_make_records_and_candles_close_on_book_time),
        T(test_builder_wall_clock_closes_candles_on_the_exchange_clock),
        T(test_builder_repeated_interval_snapshot_is_marked_for_storage_to_skip),
        T(test_builder_bad_events_are_counted_and_fault_the_book),
        T(test_builder_message_spanning_two_instruments_ends_both),
        T(test_builder_interval_snapshots_only_for_books_that_were_valid),
        T(test_builder_raises_book_scales_exactly_when_events_carry_more_places),
        T(test_builder_value_that_cannot_be_held_faults_the_book_loudly),
        T(test_builder_flags_records_held_back_by_a_rate_limit_as_timer_made),
        T(test_builder_trade_gaps_show_trades_lost_while_a_connection_was_closed),
        T(test_builder_counts_the_levels_and_memory_of_all_books_on_the_wall_tick),
        T(test_builder_sends_a_redelivered_trade_to_lossless_sinks_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
