/* SPDX-License-Identifier: MIT */
/*
 * Kraken Futures v1 handler (feeds/venues/feed_cryptofacilities.c): the recorded session in
 * ../shared/recordings/cryptofacilities against the tardis-dev oracle and the recordings' own
 * exact reference (final books, level counts, trades, every frame accounted for, the per-product
 * seq chain without a gap), upper-case product ids in the frames matched to the lower-case
 * subscribed ones, a lost book message caught by the chain (GAP + resubscribe), the sync rules
 * on synthetic frames, trades (side = taker, uid hashed, trade_snapshot not emitted on the first
 * connection: its backfill after a reconnect is test_feed_cryptofacilities_backfill), the
 * keep-alive, malformed input counted, extreme scales (1e-12 .. 1e7 prices, 1e-8 .. 1e12 sizes,
 * mixed decimals, Java-style exponents "1.0E-4") checked as exact decimal text, and 20k+
 * mutated frames without a crash or leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "book/tg_dec.h"
#include "feeds/venues/venues.h"

#define CF_REC  "cryptofacilities/cryptofeed_ce58c2a0_KRAKEN_FUTURES.ws.1.tgrec.zst"
#define CF_ORC  "cryptofeed_ce58c2a0_KRAKEN_FUTURES.ws.1.tgrec.zst.result.json"
#define CF_SYMS "pi_xbtusd,PI_ETHUSD,fi_xbtusd_210924,pf_xrpusd,tiny_usd,big_usd"

/* ---- a handler on synthetic frames (venue_harness.h) ---- */

static vh_env_t *env_open(const char *symbols, tg_instr_reg_t *reg)
{
    return vh_env_open("cryptofacilities", symbols, reg, 256, 1);
}

static void snap_frame(char *out, size_t cap, const char *pid, long seq, const char *bids,
                       const char *asks)
{
    snprintf(out, cap,
             "{\"feed\":\"book_snapshot\",\"product_id\":\"%s\",\"timestamp\":1626994927654,"
             "\"seq\":%ld,\"tickSize\":null,\"bids\":[%s],\"asks\":[%s]}",
             pid, seq, bids, asks);
}

static void book_frame(char *out, size_t cap, const char *pid, const char *side, long seq,
                       const char *px, const char *qty)
{
    snprintf(out, cap,
             "{\"feed\":\"book\",\"product_id\":\"%s\",\"side\":\"%s\",\"seq\":%ld,\"price\":%s,"
             "\"qty\":%s,\"timestamp\":1626994927744}",
             pid, side, seq, px, qty);
}

static void test_cryptofacilities_is_found_also_as_kraken_futures(void **state)
{
    vh_assert_venue("cryptofacilities", &feed_venue_cryptofacilities,
                    "wss://futures.kraken.com/ws/v1", 0);
    assert_ptr_equal(feed_venue_find("kraken-futures"), &feed_venue_cryptofacilities);
}

/* ---- the recording ---------------------------------------------------------------------- */

static bool starts(const char *f, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(f, prefix, k) == 0;
}

static void test_cryptofacilities_recording_every_frame_accounted_and_chain_unbroken(void **state)
{
    feed_offline_t *o = NULL;
    const char **fr;
    size_t *fl;
    size_t nf = vh_rec_frames(CF_REC, &o, &fr, &fl);
    long book = 0, trades = 0, other = 0;
    vh_chain_t ch = {0};
    for (size_t i = 0; i < nf; i++) {
        bool b = starts(fr[i], fl[i], "{\"feed\":\"book\",");
        bool s = starts(fr[i], fl[i], "{\"feed\":\"book_snapshot\",");
        if (starts(fr[i], fl[i], "{\"feed\":\"trade\","))
            trades++;
        else if (!b && !s)
            other++;
        if (!b && !s)
            continue;
        long seq = vh_num_after(fr[i], fl[i], "\"seq\":");
        book += !s;
        vh_chain_step(&ch, fr[i], fl[i], "\"product_id\":\"", s, seq, seq - 1);
    }
    vh_frames_close(&o, fr, fl);
    long snaps = ch.snaps;
    assert_int_equal(snaps, 10);
    assert_int_equal(book, 7014);
    assert_int_equal(ch.chained, 7014); /* README: seq == prev seq + 1: 7014/7014 */
    assert_int_equal(ch.broken, 0);
    assert_int_equal(trades, 3);
    for (int k = 0; k < ch.n; k++) /* the venue spells product ids in upper case */
        for (const char *c = ch.names[k]; *c; c++)
            assert_false(*c >= 'a' && *c <= 'z');

    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(vrun_file(vh_rec(CF_REC), v, &o), 0);
    /* we subscribed (and registered) them in lower case, as the recording did */
    assert_string_equal(tg_instr_reg_get(o->reg, o->h.instr[0])->symbol, "fi_ethusd_211231");
    long msgs = vh_assert_clean_counts(o, v, book + snaps + trades, other, snaps);
    assert_int_equal(TG_STAT_GET(o->stats.trades), trades);
    assert_int_equal(msgs, book + snaps);
    vrun_close(&o, v);
}

static void test_cryptofacilities_recording_books_and_trades_equal_the_oracles(void **state)
{
    oracle_t orc, ref;
    feed_offline_t *o = NULL;
    vrun_t *v = vh_oracle_ref_run(CF_ORC, CF_REC, &orc, &ref, &o);
    long exact = 0;
    unsigned what =
        VH_OC_NOCASE | VH_OC_SELLS | VH_OC_SNAPSHOTS | VH_OC_BOOK_MSGS | VH_OC_REF_TRADES;
    assert_int_equal(vh_oracle_ref_books(v, o, &orc, &ref, 10, what, &exact), 3); /* trades */
    assert_int_equal(exact, 200); /* 10 books, 10 levels a side */
    vrun_close(&o, v);
    oracle_free(&orc);
    oracle_free(&ref);
}

/* Drop the 100th book message of PI_ETHUSD from the recording. */
static void test_cryptofacilities_lost_book_message_is_a_gap_with_resubscribe(void **state)
{
    feed_offline_t *o = vh_rec_open(CF_REC);
    const char **fr;
    size_t *fl;
    size_t nf = vh_frames(o, &fr, &fl);
    size_t cap = 64 * 1024 * 1024, n = 0;
    char *text = malloc(cap);
    n += (size_t)snprintf(text, cap, "# tgrec 1\n# venue: cryptofacilities\n# symbols: %s\n",
                          o->rec->symbols);
    int nth = 0;
    long lost = -1, after = 0;
    for (size_t i = 0; i < nf; i++) {
        bool mine = starts(fr[i], fl[i], "{\"feed\":\"book\",\"product_id\":\"PI_ETHUSD\"");
        if (mine && ++nth == 100) {
            lost = vh_num_after(fr[i], fl[i], "\"seq\":");
            continue;
        }
        if (mine && nth > 100)
            after++;
        n += (size_t)snprintf(text + n, cap - n, "%zu %.*s\n", 1000 + i, (int)fl[i], fr[i]);
    }
    free(fr);
    free(fl);
    feed_offline_close(&o);
    assert_true(lost > 0);
    assert_true(after > 10);
    assert_int_equal(feed_offline_open_mem(&o, text, n, NULL, NULL, 0), 0);
    free(text);
    vrun_t *v = calloc(1, sizeof(*v));
    vrun_init(v, o->reg);
    uint64_t sent0 = o->sent;
    assert_int_equal(feed_offline_run(o, vrun_sink, v), 0);
    int64_t id = tg_instr_reg_find_nocase(o->reg, o->h.venue_id, "PI_ETHUSD", 9);
    assert_true(id >= 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(v->last_gap.seq, (uint64_t)lost - 1);
    assert_int_equal(v->last_gap.u.aux, (uint64_t)lost + 1);
    assert_int_equal(o->sent, sent0 + 2);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), after - 1);
    assert_int_equal(v->synced[id], 0);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    vrun_close(&o, v);
}

/* ---- synthetic frames ------------------------------------------------------------------- */

static void test_cryptofacilities_on_open_subscribes_heartbeat_book_and_trade(void **state)
{
    vh_env_t *e = env_open(CF_SYMS, NULL);
    assert_int_equal(e->n_sent, 3);
    assert_string_equal(e->sent[0], "{\"event\":\"subscribe\",\"feed\":\"heartbeat\"}");
    assert_string_equal(e->sent[1],
                        "{\"event\":\"subscribe\",\"feed\":\"book\",\"product_ids\":[\"pi_xbtusd\","
                        "\"PI_ETHUSD\",\"fi_xbtusd_210924\",\"pf_xrpusd\",\"tiny_usd\","
                        "\"big_usd\"]}");
    assert_non_null(strstr(e->sent[2], "\"feed\":\"trade\",\"product_ids\":[\"pi_xbtusd\","));
    /* keep-alive: nothing for 30 s, then the heartbeat subscribe again */
    e->o->venue->on_tick(&e->o->h, 1000000000LL);
    e->o->venue->on_tick(&e->o->h, 20000000000LL);
    assert_int_equal(e->n_sent, 3);
    e->o->venue->on_tick(&e->o->h, 31000000000LL);
    assert_int_equal(e->n_sent, 4);
    assert_string_equal(e->sent[3], e->sent[0]);
    e->o->venue->on_tick(&e->o->h, 32000000000LL);
    assert_int_equal(e->n_sent, 4);
    vh_env_close(e);
}

static void test_cryptofacilities_seq_chain_rules(void **state)
{
    vh_env_t *e = env_open(CF_SYMS, NULL);
    uint32_t id = vh_env_id(e, "pi_xbtusd");
    char f[2048];
    /* book before the snapshot: dropped */
    book_frame(f, sizeof(f), "PI_XBTUSD", "buy", 5, "32000.5", "100.0");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.stale_dropped), 1);
    assert_int_equal(e->n_ev, 0);
    snap_frame(f, sizeof(f), "PI_XBTUSD", 10,
               "{\"price\":32000.5,\"qty\":1200.0},{\"price\":32000.0,\"qty\":50.0}",
               "{\"price\":32001.0,\"qty\":7.0}");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(e->v->snapshots[id], 1);
    assert_int_equal(e->v->book[id].bid.n, 2);
    /* mixed-case product id: the same product */
    book_frame(f, sizeof(f), "Pi_XbtUsd", "sell", 11, "32001.0", "0.0");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(e->v->book[id].ask.n, 0);
    book_frame(f, sizeof(f), "PI_XBTUSD", "buy", 12, "32000.0", "75.0");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(e->v->book[id].bid.sz[1], 7500000000);
    assert_int_equal(e->ev[e->n_ev - 1].seq, 12);
    assert_true(e->ev[e->n_ev - 1].flags & TG_EVF_LAST);
    assert_int_equal(e->ev[e->n_ev - 1].ts_exch, 1626994927744LL * 1000000);
    /* a repeated seq breaks the chain too */
    size_t s0 = e->n_sent;
    book_frame(f, sizeof(f), "PI_XBTUSD", "buy", 12, "31000.0", "1.0");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(e->v->gaps[id], 1);
    assert_int_equal(e->v->last_gap.seq, 12);
    assert_int_equal(e->v->last_gap.u.aux, 12);
    assert_int_equal(e->v->book[id].bid.n, 2);
    assert_int_equal(e->n_sent, s0 + 2);
    assert_string_equal(e->sent[s0], "{\"event\":\"unsubscribe\",\"feed\":\"book\",\"product_ids\":"
                                     "[\"pi_xbtusd\"]}");
    assert_string_equal(e->sent[s0 + 1], "{\"event\":\"subscribe\",\"feed\":\"book\","
                                         "\"product_ids\":[\"pi_xbtusd\"]}");
    /* dropped until the new snapshot, then chained from its seq */
    book_frame(f, sizeof(f), "PI_XBTUSD", "buy", 13, "31000.0", "1.0");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.stale_dropped), 2);
    snap_frame(f, sizeof(f), "PI_XBTUSD", 100, "{\"price\":100.0,\"qty\":1.0}", "");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(e->v->book[id].bid.n, 1);
    book_frame(f, sizeof(f), "PI_XBTUSD", "sell", 102, "101.0", "1.0"); /* 101 lost */
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(e->v->gaps[id], 2);
    assert_int_equal(e->v->last_gap.seq, 100);
    assert_int_equal(e->v->last_gap.u.aux, 102);
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 2);
    assert_int_equal(vrun_errors(&e->o->stats), 0);
    /* connection lost: every book goes STALE */
    e->o->venue->on_close(&e->o->h, 5, 5);
    feed_flush(&e->o->h);
    for (uint32_t i = 0; i < e->o->h.n_instr; i++)
        assert_int_equal(e->v->stale[e->o->h.instr[i]], 1);
    assert_int_equal(vrun_accounted(&e->o->stats), TG_STAT_GET(e->o->stats.frames));
    vh_env_close(e);
}

static void test_cryptofacilities_trades_are_taker_side_and_snapshots_are_not_emitted(void **state)
{
    vh_env_t *e = env_open(CF_SYMS, NULL);
    uint32_t id = vh_env_id(e, "PI_ETHUSD");
    const char *ts = "{\"feed\":\"trade_snapshot\",\"product_id\":\"PI_ETHUSD\",\"trades\":[{"
                     "\"feed\":\"trade\",\"product_id\":\"PI_ETHUSD\",\"uid\":\"2cb085d0-ee66-"
                     "40de-98d5-b3074851dae4\",\"side\":\"buy\",\"type\":\"fill\",\"seq\":103831,"
                     "\"time\":1626994921293,\"qty\":1.0,\"price\":2003.45}]}";
    assert_int_equal(vh_env_frame(e, ts), 0);
    assert_int_equal(e->n_ev, 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.unhandled), 1);
    static const char *const trades[] = {
        "{\"feed\":\"trade\",\"product_id\":\"PI_ETHUSD\",\"uid\":\"a4cce96f-e061-"
        "46ef-9205-8cbe73bb4cdb\",\"side\":\"buy\",\"type\":\"fill\",\"seq\":103832,"
        "\"time\":1626994936490,\"qty\":40.0,\"price\":2005.2}",
        "{\"feed\":\"trade\",\"product_id\":\"PI_ETHUSD\",\"uid\":\"b\",\"side\":"
        "\"sell\",\"type\":\"liquidation\",\"seq\":103833,\"time\":1626994936491,"
        "\"qty\":1.0E-4,\"price\":2005.15}",
    };
    vh_frames_ok(e->o, 1000, trades, 2);
    assert_int_equal(e->n_ev, 2);
    assert_int_equal(e->ev[0].kind, TG_EV_TRADE);
    assert_int_equal(e->ev[0].instr, id);
    assert_int_equal(e->ev[0].side, TG_SIDE_BUY);
    assert_int_equal(e->ev[0].price, 200520000000);
    assert_int_equal(e->ev[0].size, 4000000000);
    assert_int_equal(e->ev[0].seq, 103832);
    assert_int_equal(e->ev[0].ts_exch, 1626994936490LL * 1000000);
    assert_int_equal(e->ev[0].u.trade_id, feed_hash_id("a4cce96f-e061-46ef-9205-8cbe73bb4cdb", 36));
    assert_true(e->ev[0].flags & TG_EVF_LAST);
    assert_int_equal(e->ev[1].side, TG_SIDE_SELL);
    assert_int_equal(e->ev[1].size, 10000);
    assert_int_equal(e->v->trades[id], 2);
    /* settlement transfers are not market trades */
    const char *t3 = "{\"feed\":\"trade\",\"product_id\":\"PI_ETHUSD\",\"uid\":\"c\",\"side\":"
                     "\"buy\",\"type\":\"termination\",\"seq\":103834,\"time\":1626994936492,"
                     "\"qty\":5.0,\"price\":2005.15}";
    uint64_t un = TG_STAT_GET(e->o->stats.unhandled);
    assert_int_equal(vh_env_frame(e, t3), 0);
    assert_int_equal(e->n_ev, 2);
    assert_int_equal(TG_STAT_GET(e->o->stats.unhandled), un + 1);
    vh_env_close(e);
}

static void test_cryptofacilities_bad_input_is_counted_and_a_bad_book_message_resyncs(void **state)
{
    vh_env_t *e = env_open(CF_SYMS, NULL);
    const feed_stats_t *s = &e->o->stats;
    uint32_t id = vh_env_id(e, "fi_xbtusd_210924");
    char f[2048];
    snap_frame(f, sizeof(f), "FI_XBTUSD_210924", 1, "{\"price\":32189.5,\"qty\":1130.0}",
               "{\"price\":32190.0,\"qty\":1.0}");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(vh_env_frame(e, "{\"event\":\"info\",\"version\":1}"), 0);
    assert_int_equal(vh_env_frame(e, "{\"event\":\"subscribed\",\"feed\":\"book\",\"product_ids\":["
                                     "\"FI_XBTUSD_210924\"]}"),
                     0);
    assert_int_equal(vh_env_frame(e, "{\"feed\":\"heartbeat\",\"time\":1534262350627}"), 0);
    assert_int_equal(vh_env_frame(e,
                                  "{\"feed\":\"ticker_lite\",\"product_id\":\"FI_XBTUSD_210924\","
                                  "\"bid\":32189.5,\"ask\":32221.0}"),
                     0);
    assert_int_equal(TG_STAT_GET(s->unhandled), 4);
    static const char *const venue_errors[] = {
        "{\"event\":\"error\",\"message\":\"Invalid product id\"}",
        "{\"event\":\"alert\",\"message\":\"Bad websocket message\"}",
        "{\"event\":\"subscribed_failed\",\"feed\":\"book\",\"product_ids\":[\"PI_NOPE\"],"
        "\"message\":\"Invalid product id\"}",
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(vh_env_frame(e, venue_errors[i]), TG_EPROTO);
    assert_int_equal(TG_STAT_GET(s->err_venue), 3);
    assert_int_equal(vh_env_frame(e, "{\"feed\":\"book\",\"product_id\":"), TG_EJSON);
    assert_int_equal(TG_STAT_GET(s->err_json), 1);
    book_frame(f, sizeof(f), "PI_LTCUSD", "buy", 2, "1.0", "1.0");
    assert_int_equal(vh_env_frame(e, f), TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(s->err_symbol), 1);
    assert_int_equal(vh_env_frame(e, "{\"product_id\":\"FI_XBTUSD_210924\"}"), TG_EFIELD);
    assert_int_equal(TG_STAT_GET(s->err_field), 1);
    /* a bad side: nothing applied, GAP + resubscribe */
    size_t s0 = e->n_sent;
    book_frame(f, sizeof(f), "FI_XBTUSD_210924", "bid", 2, "32000.0", "1.0");
    assert_int_equal(vh_env_frame(e, f), TG_EFIELD);
    assert_int_equal(e->v->gaps[id], 1);
    assert_int_equal(e->n_sent, s0 + 2);
    assert_int_equal(e->v->book[id].bid.n, 1);
    /* negative qty, price as text */
    snap_frame(f, sizeof(f), "FI_XBTUSD_210924", 5, "{\"price\":32189.5,\"qty\":-1.0}", "");
    assert_int_equal(vh_env_frame(e, f), TG_EDEC_NEGATIVE);
    assert_int_equal(TG_STAT_GET(s->err_decimal), 1);
    snap_frame(f, sizeof(f), "FI_XBTUSD_210924", 5, "{\"price\":\"32189.5\",\"qty\":1.0}", "");
    assert_int_equal(vh_env_frame(e, f), TG_EFIELD);
    /* a trade without uid: nothing emitted */
    vh_env_refused_last_close(e,
                              "{\"feed\":\"trade\",\"product_id\":\"FI_XBTUSD_210924\","
                              "\"side\":\"buy\",\"seq\":1,\"time\":1,\"qty\":1.0,"
                              "\"price\":1.0}",
                              TG_EFIELD);
}

/* ---- fuzz ------------------------------------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
/* snapshots and trades are rare in the recording: pick them more often (listed at the first
 * pick; no draw of the generator) */
static size_t cf_pick(vh_fuzz_t *f)
{
    for (size_t i = 0; !f->n_rare && i < f->nf; i++)
        if (!starts(f->fr[i], f->fl[i], "{\"feed\":\"book\",") &&
            !starts(f->fr[i], f->fl[i], "{\"feed\":\"ticker_lite\""))
            f->rare[f->n_rare++] = i;
    return fv_rand(f->rng) % 4 == 0 ? f->rare[fv_rand(f->rng) % f->n_rare]
                                    : fv_rand(f->rng) % f->nf;
}

static void test_cryptofacilities_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    vh_fuzz_t f = VH_FUZZ_NUM(vh_rec(CF_REC), &rng, "9E-0.", NULL, 0);
    f.pick = cf_pick;
    vh_fuzz_run(&f, 25000);
    assert_true(TG_STAT_GET(f.o->stats.gaps) > 0);
    vh_fuzz_close(&f);
}

/* ---- extreme scales --------------------------------------------------------------------- */

static void test_cryptofacilities_extreme_scales_come_out_exact(void **state)
{
    /* big_usd at scales 0: 1e12 sizes fit int64 only at <= 6 places */
    tg_instr_reg_t *reg = vh_reg_big("cryptofacilities", "big_usd");
    vh_env_t *e = env_open(CF_SYMS, reg);
    char f[4096];
    uint64_t rs0 = TG_STAT_GET(e->o->stats.rescales);

    /* mixed decimals in one snapshot (2 places first, 11 later), Java-style exponents */
    const char *px1[] = {"0.59", "0.58810000001", "5.0E-11", "0.6", "1.0E-4"};
    const char *sz1[] = {"320.0", "1.0E-8", "0.00000001", "17745.0", "2.5E7"};
    size_t n0 = e->n_ev;
    snap_frame(f, sizeof(f), "PF_XRPUSD", 1,
               "{\"price\":0.59,\"qty\":320.0},{\"price\":0.58810000001,\"qty\":1.0E-8},"
               "{\"price\":5.0E-11,\"qty\":0.00000001}",
               "{\"price\":0.6,\"qty\":17745.0},{\"price\":1.0E-4,\"qty\":2.5E7}");
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px1, sz1, 5);
    assert_int_equal(e->ev[n0].px_scale, 11);
    assert_true(TG_STAT_GET(e->o->stats.rescales) > rs0);
    /* a single-level book message at another scale */
    const char *px2[] = {"0.000000000001"};
    const char *sz2[] = {"1.23456789E-5"};
    n0 = e->n_ev;
    book_frame(f, sizeof(f), "PF_XRPUSD", "buy", 2, "0.000000000001", "1.23456789E-5");
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px2, sz2, 1);
    assert_int_equal(e->ev[n0].px_scale, 12);
    assert_int_equal(e->ev[n0].sz_scale, 13);
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 0);

    /* tiny: 1e-12 prices with 1e-8 sizes */
    const char *px3[] = {"1e-12", "0.000000000002"};
    const char *sz3[] = {"0.00000001", "12345678901.5"};
    n0 = e->n_ev;
    snap_frame(f, sizeof(f), "TINY_USD", 7, "{\"price\":1e-12,\"qty\":0.00000001}",
               "{\"price\":0.000000000002,\"qty\":12345678901.5}");
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px3, sz3, 2);

    /* big: 1e7 prices, 1e12 sizes on the whole-number instrument */
    const char *px4[] = {"10000000.0", "9999999.5", "10000000.25"};
    const char *sz4[] = {"1.0E12", "1000000000000", "999999999999.9"};
    n0 = e->n_ev;
    snap_frame(f, sizeof(f), "BIG_USD", 1,
               "{\"price\":10000000.0,\"qty\":1.0E12},{\"price\":9999999.5,\"qty\":1000000000000}",
               "{\"price\":10000000.25,\"qty\":999999999999.9}");
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px4, sz4, 3);
    assert_int_equal(e->ev[n0].px_scale, 2);
    assert_int_equal(e->ev[n0].sz_scale, 1);
    /* trade at the extremes */
    const char *px5[] = {"1.0E7"};
    const char *sz5[] = {"1.0E12"};
    n0 = e->n_ev;
    assert_int_equal(vh_env_frame(e, "{\"feed\":\"trade\",\"product_id\":\"BIG_USD\",\"uid\":\"x\","
                                     "\"side\":\"sell\",\"type\":\"fill\",\"seq\":1,\"time\":1,"
                                     "\"qty\":1.0E12,\"price\":1.0E7}"),
                     0);
    vh_env_check_levels(e, n0, px5, sz5, 1);

    /* 1e12 at the default 8 places fits no int64: FAULT, counted, resubscribed */
    size_t s0 = e->n_sent;
    n0 = e->n_ev;
    snap_frame(f, sizeof(f), "PI_XBTUSD", 1, "{\"price\":1.5,\"qty\":1.0E12}", "");
    assert_int_equal(vh_env_frame(e, f), TG_EDEC_RANGE);
    assert_int_equal(TG_STAT_GET(e->o->stats.unrepresentable), 1);
    assert_int_equal(TG_STAT_GET(e->o->stats.err_decimal), 1);
    assert_int_equal(e->n_sent, s0 + 2);
    assert_int_equal(e->n_ev, n0 + 1);
    assert_int_equal(e->ev[n0].kind, TG_EV_GAP);
    assert_true(e->ev[n0].flags & TG_EVF_FAULT);
    assert_int_equal(vrun_accounted(&e->o->stats), TG_STAT_GET(e->o->stats.frames));
    vh_env_close(e);
    tg_instr_reg_destroy(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cryptofacilities_is_found_also_as_kraken_futures),
        cmocka_unit_test(test_cryptofacilities_recording_every_frame_accounted_and_chain_unbroken),
        cmocka_unit_test(test_cryptofacilities_recording_books_and_trades_equal_the_oracles),
        cmocka_unit_test(test_cryptofacilities_lost_book_message_is_a_gap_with_resubscribe),
        cmocka_unit_test(test_cryptofacilities_on_open_subscribes_heartbeat_book_and_trade),
        cmocka_unit_test(test_cryptofacilities_seq_chain_rules),
        cmocka_unit_test(test_cryptofacilities_trades_are_taker_side_and_snapshots_are_not_emitted),
        cmocka_unit_test(test_cryptofacilities_bad_input_is_counted_and_a_bad_book_message_resyncs),
        cmocka_unit_test(test_cryptofacilities_extreme_scales_come_out_exact),
        cmocka_unit_test(test_cryptofacilities_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
