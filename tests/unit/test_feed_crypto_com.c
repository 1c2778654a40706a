/* SPDX-License-Identifier: MIT */
/*
 * Crypto.com Exchange v2 market handler (feeds/venues/feed_crypto_com.c): the recording
 * (../shared/recordings/crypto-com) against tardis-dev and the recordings' checker (books, trade
 * counts, sides, amounts), out-of-order book pushes never replacing a newer book (the dropped
 * pushes counted here independently from the recording text), the heartbeat answered with its
 * id, subscribes only after ~1 s, trades oldest first and each id once across a reconnect, bad
 * input counted, a fuzz loop, and exact values at extreme scales.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/venue_harness.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "feeds/venues/venues.h"

#define CC_REC  "crypto-com/cryptofeed_57d5f18d_CRYPTO.COM.ws.1.tgrec.zst"
#define CC_NAME "cryptofeed_57d5f18d_CRYPTO.COM.ws.1.tgrec.zst.result.json"

/* ---- a handler on synthetic frames ------------------------------------------------------ */

typedef vh_ev_t cx_t;

static void cx_open(cx_t *b, const char *symbols, tg_instr_reg_t *reg)
{
    vh_ev_open(b, "crypto-com", symbols, reg);
}

/* A handler on sym alone. @return its instrument id */
static uint32_t cx_open_one(cx_t *b, const char *sym)
{
    cx_open(b, sym, NULL);
    return vh_ev_id(b, sym);
}

/* No error counted on b's handler; then b is closed. */
static void cx_close_clean(cx_t *b)
{
    assert_int_equal(vrun_errors(&b->o->stats), 0);
    vh_ev_close(b);
}

/* ---- the recording ---------------------------------------------------------------------- */

typedef struct stale_count {
    char name[16][32];
    long long max_t[16];
    long dropped[16];
    int n;
    long total;
} stale_count_t;

/* Book pushes older than the newest one seen before them, per instrument, from the text. */
static void count_stale(const char *text, stale_count_t *sc)
{
    memset(sc, 0, sizeof(*sc));
    for (const char *p = text; (p = fv_find(p, "\"channel\":\"book\"")) != NULL; p++) {
        const char *bol = p;
        while (bol > text && bol[-1] != '\n')
            bol--;
        const char *in = fv_in_line(bol, "\"instrument_name\":\"");
        const char *t = fv_in_line(p, "\"t\":");
        assert_true(in && t);
        in += 19;
        char name[32];
        int k = 0;
        while (in[k] != '"' && k < 31) {
            name[k] = in[k];
            k++;
        }
        name[k] = 0;
        long long tv = atoll(t + 4);
        int i = 0;
        while (i < sc->n && strcmp(sc->name[i], name) != 0)
            i++;
        if (i == sc->n) {
            assert_true(sc->n < 16);
            strcpy(sc->name[sc->n++], name);
        }
        if (tv < sc->max_t[i]) {
            sc->dropped[i]++;
            sc->total++;
        } else {
            sc->max_t[i] = tv;
        }
    }
}

static void test_crypto_com_is_a_usable_venue(void **state)
{
    (void)state;
    vh_assert_venue("crypto-com", &feed_venue_crypto_com, NULL, 0);
}

static void test_crypto_com_recording_equals_both_oracles_and_never_goes_back_in_time(void **st)
{
    (void)st;
    cx_t b = {0};
    assert_int_equal(feed_offline_open(&b.o, vh_rec(CC_REC), NULL, NULL, 0), 0);
    vh_ev_attach(&b);
    assert_int_equal(feed_offline_run(b.o, vh_ev_sink, &b), 0);
    feed_offline_t *o = b.o;
    vrun_assert_all_read(o);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    /* handled: 1525 book pushes (older ones dropped), 139 trade pushes, the heartbeat;
       unhandled: 1484 ticker, 10 candlestick pushes, 4 acks */
    assert_int_equal(TG_STAT_GET(o->stats.handled), 1665);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 1498);
    /* the heartbeat was answered with its id */
    assert_int_equal(vh_n_sent, 1);
    assert_string_equal(vh_sent[0],
                        "{\"id\":1637709519420,\"method\":\"public/respond-heartbeat\"}");

    size_t tlen = 0;
    /* the text of the (compressed) recording */
    char *text = fv_load_text(vh_rec(CC_REC), &tlen);
    assert_non_null(text);
    stale_count_t sc;
    count_stale(text, &sc);
    assert_int_equal(sc.n, 10);
    assert_true(sc.total > 100); /* README: pushes go back in t ~111 times */
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), sc.total);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 1525 - sc.total);

    /* no applied book is older than the one before it */
    int64_t last[VR_MAX] = {0};
    long clears = 0;
    for (size_t i = 0; i < b.n_ev; i++) {
        const tg_event_t *e = &b.ev[i];
        if (e->kind != TG_EV_BOOK_CLEAR)
            continue;
        assert_true(e->ts_exch >= last[e->instr]);
        last[e->instr] = e->ts_exch;
        clears++;
    }
    assert_int_equal(clears, 1525 - sc.total);

    for (int pass = 0; pass < 2; pass++) {
        oracle_t orc;
        vh_oracle_pass(pass, CC_NAME, &orc);
        assert_int_equal(orc.n_syms, (int)o->h.n_instr);
        int diffs = 0;
        long trades = 0;
        for (uint32_t i = 0; i < o->h.n_instr; i++) {
            const tg_instr_t *in;
            const oracle_sym_t *os = vrun_oracle_in(b.v, o, &orc, i, 10, &diffs, &in);
            assert_int_equal(b.v->trades[in->id], os->trades);
            trades += b.v->trades[in->id];
            if (pass == 1) {
                vrun_assert_trades(b.v, in, os, 1);
                /* tardis applies every push, we drop the older ones */
                int k = 0;
                while (k < sc.n && strcmp(sc.name[k], in->symbol) != 0)
                    k++;
                assert_true(k < sc.n);
                assert_int_equal(b.v->snapshots[in->id], os->snapshots - sc.dropped[k]);
            }
        }
        assert_int_equal(diffs, 0);
        assert_int_equal(trades, 1143);
        oracle_free(&orc);
    }
    free(text);
    vh_ev_close(&b);
}

/* ---- synthetic ---------------------------------------------------------------------------- */

static void test_crypto_com_subscribes_only_after_one_second(void **state)
{
    (void)state;
    char syms[4096];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(syms + n, sizeof(syms) - n, "%sS%02d_USDT", i ? "," : "", i);
    cx_t b;
    cx_open(&b, syms, NULL);
    vh_n_sent = 0;
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(b.o->venue->on_open(&b.o->h), 0);
    assert_int_equal(vh_n_sent, 0);
    b.o->venue->on_tick(&b.o->h, t0 + 500000000);
    assert_int_equal(vh_n_sent, 0);
    b.o->venue->on_tick(&b.o->h, tg_clock_mono_ns() + 1000000000);
    assert_int_equal(vh_n_sent, 3); /* 120 channels, 50 per request */
    int book = 0, trade = 0;
    for (int i = 0; i < vh_n_sent; i++) {
        assert_non_null(strstr(vh_sent[i], "\"method\":\"subscribe\""));
        for (const char *p = vh_sent[i]; (p = strstr(p, "\"book.")) != NULL; p++)
            book++;
        for (const char *p = vh_sent[i]; (p = strstr(p, "\"trade.")) != NULL; p++)
            trade++;
    }
    assert_int_equal(book, 60);
    assert_int_equal(trade, 60);
    assert_non_null(strstr(vh_sent[0], "\"book.S00_USDT.150\""));
    b.o->venue->on_tick(&b.o->h, tg_clock_mono_ns() + 3000000000LL);
    assert_int_equal(vh_n_sent, 3);
    vh_ev_close(&b);
}

#define BOOK(sym, t, bids, asks)                                                                   \
    "{\"code\":0,\"method\":\"subscribe\",\"result\":{\"instrument_name\":\"" sym                  \
    "\",\"subscription\":\"book." sym ".150\",\"channel\":\"book\",\"depth\":150,\"data\":[{"      \
    "\"bids\":" bids ",\"asks\":" asks ",\"t\":" #t "}]}}"
#define TRADES(sym, data)                                                                          \
    "{\"code\":0,\"method\":\"subscribe\",\"result\":{\"instrument_name\":\"" sym                  \
    "\",\"subscription\":\"trade." sym "\",\"channel\":\"trade\",\"data\":" data "}}"

static void test_crypto_com_an_older_push_never_replaces_a_newer_book(void **state)
{
    (void)state;
    cx_t b;
    uint32_t id = cx_open_one(&b, "BTC_USDT");
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1000, "[[100,1,1]]", "[[101,1,1]]")), 0);
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 900, "[[99,1,1]]", "[[102,1,1]]")), 0);
    assert_int_equal(TG_STAT_GET(b.o->stats.stale_dropped), 1);
    assert_int_equal(b.v->book[id].bid.px[0], 100LL * 100000000);
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1000, "[[100.5,2,1]]", "[[101,1,1]]")), 0);
    assert_int_equal(b.v->book[id].bid.px[0], 10050000000LL); /* equal t: applied */
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1100, "[[98,1,1],[97,3,2]]", "[]")), 0);
    assert_int_equal(b.v->book[id].bid.n, 2);
    assert_int_equal(b.v->book[id].ask.n, 0);
    assert_int_equal(b.v->snapshots[id], 3);
    assert_int_equal(b.ev[b.n_ev - 1].ts_exch, 1100LL * 1000000);
    /* a reconnect forgets the time: the first push of the new connection is applied */
    b.o->venue->on_open(&b.o->h);
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1050, "[[96,1,1]]", "[]")), 0);
    assert_int_equal(b.v->snapshots[id], 4);
    cx_close_clean(&b);
}

static void test_crypto_com_trades_are_emitted_oldest_first_and_once(void **state)
{
    (void)state;
    cx_t b;
    uint32_t id = cx_open_one(&b, "ETH_USDT");
    const char *push1 = TRADES(
        "ETH_USDT", "[{\"d\":3,\"s\":\"SELL\",\"p\":4000.5,\"q\":0.25,\"t\":1637709515137},"
                    "{\"d\":2,\"s\":\"BUY\",\"p\":\"4000.25\",\"q\":\"1.5\",\"t\":1637709511236},"
                    "{\"d\":1,\"s\":\"buy\",\"p\":4000,\"q\":2,\"t\":1637709511000}]");
    assert_int_equal(vh_ev_frame(&b, push1), 0);
    assert_int_equal(b.v->trades[id], 3);
    assert_int_equal(b.v->buys[id], 2);
    uint64_t ids[3];
    int k = 0;
    for (size_t i = 0; i < b.n_ev; i++)
        if (b.ev[i].kind == TG_EV_TRADE) {
            assert_true(k < 3);
            ids[k] = b.ev[i].u.trade_id;
            assert_int_equal(!!(b.ev[i].flags & TG_EVF_LAST), k == 2);
            k++;
        }
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 3);
    vh_assert_dec_eq(b.ev[b.n_ev - 1].price, b.ev[b.n_ev - 1].px_scale, "4000.5");
    assert_int_equal(b.ev[b.n_ev - 1].side, TG_SIDE_SELL);
    assert_int_equal(b.ev[b.n_ev - 1].ts_exch, 1637709515137LL * 1000000);
    /* a reconnect: the first push repeats what we had, plus one new trade */
    b.o->venue->on_open(&b.o->h);
    assert_int_equal(vh_ev_frame(&b, push1), 0);
    assert_int_equal(b.v->trades[id], 3);
    assert_int_equal(
        vh_ev_frame(
            &b, TRADES("ETH_USDT",
                       "[{\"d\":4,\"s\":\"SELL\",\"p\":4001,\"q\":1,\"t\":1637709516000},"
                       "{\"d\":3,\"s\":\"SELL\",\"p\":4000.5,\"q\":0.25,\"t\":1637709515137}]")),
        0);
    assert_int_equal(b.v->trades[id], 4);
    assert_int_equal(TG_STAT_GET(b.o->stats.stale_dropped), 4);
    cx_close_clean(&b);
}

static void test_crypto_com_bad_input_is_counted(void **state)
{
    (void)state;
    cx_t b;
    uint32_t id = cx_open_one(&b, "BTC_USDT");
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1000, "[[100,1,1]]", "[[101,1,1]]")), 0);
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1001, "[[100,\"x\",1]]", "[]")),
                     TG_EDEC_SYNTAX);
    assert_int_equal(b.v->gaps[id], 1);
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1002, "[[100,-1,1]]", "[]")),
                     TG_EDEC_NEGATIVE);
    assert_int_equal(vh_ev_frame(&b, BOOK("XRP_USDT", 1002, "[[100,1,1]]", "[]")), TG_ESYMBOL);
    assert_int_equal(vh_ev_frame(&b, "{\"id\":1,\"code\":10004,\"method\":\"subscribe\","
                                     "\"message\":\"BAD_REQUEST\"}"),
                     TG_EPROTO);
    assert_int_equal(vh_ev_frame(&b, "{\"method\":\"public/heartbeat\"}"), TG_EFIELD);
    assert_int_equal(
        vh_ev_frame(&b, "{\"method\":\"subscribe\",\"result\":{\"channel\":\"book\"}}"), TG_EFIELD);
    assert_int_equal(vh_ev_frame(&b, "[1,2]"), TG_EJSON);
    assert_int_equal(vh_ev_frame(&b, "{\"method\":"), TG_EJSON);
    assert_int_equal(
        vh_ev_frame(&b, TRADES("BTC_USDT", "[{\"d\":1,\"s\":\"HOLD\",\"p\":1,\"q\":1,\"t\":1}]")),
        TG_EFIELD);
    /* acks and channels we do not read */
    assert_int_equal(vh_ev_frame(&b, "{\"id\":0,\"code\":0,\"method\":\"subscribe\"}"), 0);
    assert_int_equal(vh_ev_frame(&b,
                                 "{\"code\":0,\"method\":\"subscribe\",\"result\":{\"instrument_"
                                 "name\":\"BTC_USDT\",\"channel\":\"ticker\",\"data\":[{}]}}"),
                     0);
    const feed_stats_t *s = &b.o->stats;
    assert_int_equal(TG_STAT_GET(s->unhandled), 2);
    fv_assert_errs(s, 2, 3, 1, 2, 1);
    assert_int_equal(vrun_accounted(s), TG_STAT_GET(s->frames));
    /* the book is whole again with the next push */
    assert_int_equal(vh_ev_frame(&b, BOOK("BTC_USDT", 1003, "[[100,1,1]]", "[[101,1,1]]")), 0);
    assert_int_equal(b.v->snapshots[id], 2);
    vh_ev_close(&b);
}

/* the recorded frames (the first 4096), a fresh connection every 5000 */
static void test_crypto_com_fuzzed_frames_are_counted_and_never_crash(void **state)
{
    (void)state;
    /* seed, frames (max, min), iters, cap, keep, grow_below, runs; on_open every 5000 after */
    static const vh_rec_fuzz_t p = {0x9E3779B97F4A7C15ull, 4096, 3000, 20000, 1 << 17, 64,
                                    (1 << 17) - 20,        4,    0,    0,     5000};
    vh_rec_fuzz_run(vh_rec(CC_REC), &p);
}

static void test_crypto_com_extreme_scales_are_exact(void **state)
{
    (void)state;
    cx_t b;
    /* start at 0 places: every value raises the scale */
    tg_instr_reg_t *reg =
        vh_ev_open_at_scale_0(&b, &feed_venue_crypto_com, 150, "TINY_X,HUGE_X,BIG_X");
    size_t from = b.n_ev;
    assert_int_equal(
        vh_ev_frame(&b, BOOK("TINY_X", 1, "[[1e-12,1e-8,1],[\"0.000000000011\",0.5,1]]",
                             "[[3.5E-11,\"12345.12345678\",1],[0.000001,7,1]]")),
        0);
    const char *const tiny[][2] = {{"1e-12", "1e-8"},
                                   {"0.000000000011", "0.5"},
                                   {"3.5E-11", "12345.12345678"},
                                   {"0.000001", "7"}};
    vh_ev_assert_values(&b, from, vh_ev_id(&b, "TINY_X"), tiny, 4);
    vh_ev_assert_xs_huge(&b,
                         BOOK("HUGE_X", 2, "[[10000000.25,3,1],[9999999.12345678901,0.1,1]]",
                              "[[10000001,2.5E+2,1]]"),
                         "HUGE_X");
    from = b.n_ev;
    assert_int_equal(
        vh_ev_frame(&b, BOOK("BIG_X", 3, "[[2.5,1000000000000,1],[2.4,123456789012.123456,1]]",
                             "[[2.6,1e12,1]]")),
        0);
    assert_int_equal(
        vh_ev_frame(&b, TRADES("BIG_X", "[{\"d\":\"7\",\"s\":\"SELL\",\"p\":\"0.00000000015\","
                                        "\"q\":\"999999999999.5\",\"t\":1700000000000}]")),
        0);
    vh_ev_assert_values(&b, from, vh_ev_id(&b, "BIG_X"), vh_xs_big, 4);
    vh_ev_xs_fault_close(&b, &reg, BOOK("HUGE_X", 4, "[[10000000.5,1e-19,1]]", "[]"));
}

TU_MAIN_NEEDS(
    "TG_RECORDINGS", "the crypto.com recording is needed",
    cmocka_unit_test(test_crypto_com_is_a_usable_venue),
    cmocka_unit_test(test_crypto_com_recording_equals_both_oracles_and_never_goes_back_in_time),
    cmocka_unit_test(test_crypto_com_subscribes_only_after_one_second),
    cmocka_unit_test(test_crypto_com_an_older_push_never_replaces_a_newer_book),
    cmocka_unit_test(test_crypto_com_trades_are_emitted_oldest_first_and_once),
    cmocka_unit_test(test_crypto_com_bad_input_is_counted),
    cmocka_unit_test(test_crypto_com_fuzzed_frames_are_counted_and_never_crash),
    cmocka_unit_test(test_crypto_com_extreme_scales_are_exact))
