/* SPDX-License-Identifier: MIT */
/*
 * Gemini market data v2 handler (feeds/venues/feed_gemini.c): the recorded session in
 * ../shared/recordings/gemini against the tardis-dev oracle (peer/expected) and the recordings'
 * own checker (peer/expected-ref: exact strings), the full-book-first rule (changes before it
 * dropped), an unreadable book message (GAP + paced resubscribe of that symbol), builder resync
 * requests, trades (taker side, duplicates), auction and heartbeat messages, the in-band REST
 * symbol details, bad input counted, exact values at extreme scales, and mutated frames handled
 * without a crash or leak.
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

#define GM_REC  "gemini/cryptofeed_57d5f18d_GEMINI.ws.2.tgrec"
#define GM_PEER "cryptofeed_57d5f18d_GEMINI.ws.2.tgrec.result.json"
#define GM_REF  "../expected-ref/cryptofeed_57d5f18d_GEMINI.ws.2.tgrec.result.json"

/* ---- synthetic sessions --------------------------------------------------------------------- */

typedef vh_syn_t syn_t;

static syn_t *syn_open(const char *symbols, tg_instr_reg_t *reg)
{
    return vh_syn_open("gemini", symbols, reg);
}

/* full book (with "trades") when trades != NULL, else level changes */
static int book(syn_t *s, const char *sym, const char *changes, const char *trades, int64_t ts)
{
    char f[8192];
    if (trades)
        snprintf(f, sizeof(f),
                 "{\"auction_events\":[],\"changes\":[%s],\"symbol\":\"%s\",\"trades\":[%s],"
                 "\"type\":\"l2_updates\"}",
                 changes, sym, trades);
    else
        snprintf(f, sizeof(f), "{\"changes\":[%s],\"symbol\":\"%s\",\"type\":\"l2_updates\"}",
                 changes, sym);
    return vh_syn_frame(s, f, ts);
}

static int trade(syn_t *s, const char *sym, const char *tid, const char *px, const char *qty,
                 const char *side, int64_t ts)
{
    char f[1024];
    snprintf(f, sizeof(f),
             "{\"event_id\":1764551741926942,\"price\":\"%s\",\"quantity\":\"%s\",\"side\":\"%s\","
             "\"symbol\":\"%s\",\"tid\":%s,\"timestamp\":1786313194672,\"type\":\"trade\"}",
             px, qty, side, sym, tid);
    return vh_syn_frame(s, f, ts);
}

/* ---- the recording -------------------------------------------------------------------------- */

static void test_gm_venue_is_offered_with_its_limits(void **state)
{
    vh_assert_venue("gemini", &feed_venue_gemini, "wss://api.gemini.com/v2/marketdata", 1);
}

/* Which oracle the recording's books and trades are checked against. */
typedef struct gm_oracle {
    const char *name; /* under $TG_PEER_EXPECTED */
    int exact;        /* the recordings' exact reference (else tardis: float text) */
} gm_oracle_t;

static gm_oracle_t gm_tardis = {GM_PEER, 0}, gm_exact = {GM_REF, 1};

/* The recording against the oracle *state (a gm_oracle_t). */
static void test_gm_recording_equals_oracle(void **state)
{
    const char *name = ((const gm_oracle_t *)*state)->name;
    int exact = ((const gm_oracle_t *)*state)->exact;
    oracle_t orc;
    feed_offline_t *o = NULL;
    vrun_t *v = vh_oracle_run(name, GM_REC, &orc, &o);
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    int diffs = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
        const oracle_sym_t *os = oracle_find(&orc, in->symbol);
        assert_non_null(os);
        int ps = feed_px_scale(&o->h, in->id), ss = feed_sz_scale(&o->h, in->id);
        diffs += vrun_cmp_sides(&v->book[in->id], os, 10, ps, ss, in->symbol);
        vh_assert_depth(&v->book[in->id], os);
        assert_int_equal(v->trades[in->id], os->trades);
        assert_int_equal(v->snapshots[in->id], 1);
        assert_int_equal(v->gaps[in->id], 0);
        if (!exact) { /* tardis: sides and amounts too */
            assert_int_equal(v->buys[in->id], os->buy_trades);
            assert_int_equal(v->sells[in->id], os->sell_trades);
            int64_t amount;
            assert_int_equal(oracle_dec(os->trade_amount, ss, &amount, NULL), 0);
            assert_int_equal(v->trade_sz[in->id], amount);
        }
    }
    assert_int_equal(diffs, 0);
    vrun_assert_all_read(o);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 10);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 0);
    assert_int_equal(TG_STAT_GET(o->stats.resyncs), 0);
    /* 10 REST details of our symbols + 549 changes + 2 trades handled; 2 heartbeats not */
    assert_int_equal(TG_STAT_GET(o->stats.handled), 10 + 559 + 2);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 2);
    assert_int_equal(o->sent, 1); /* one l2 subscribe for the 10 symbols */
    vrun_close(&o, v);
    oracle_free(&orc);
}

/* ---- synthetic sync rules ------------------------------------------------------------------- */

static void test_gm_subscribes_l2_for_every_symbol_in_one_message(void **state)
{
    syn_t *s = syn_open("BTCUSD,ETHUSD", NULL);
    vh_syn_assert_open_sends(s, 1);
    assert_string_equal(s->cap.sent[0], "{\"type\":\"subscribe\",\"subscriptions\":[{\"name\":"
                                        "\"l2\",\"symbols\":[\"BTCUSD\",\"ETHUSD\"]}]}");
    vh_syn_close(s);
}

static void test_gm_changes_before_the_full_book_are_dropped(void **state)
{
    syn_t *s = syn_open("BTCUSD", NULL);
    int64_t id = vh_syn_id(s, "BTCUSD");
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"1\"]", NULL, 1), 0);
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 1);
    assert_int_equal(s->v.events, 0);
    assert_int_equal(
        book(s, "BTCUSD",
             "[\"buy\",\"100.0\",\"1\"],[\"buy\",\"99\",\"2\"],[\"sell\",\"101\",\"3\"]", "", 2),
        0);
    assert_int_equal(s->v.snapshots[id], 1);
    assert_int_equal(s->v.book[id].bid.n, 2);
    assert_int_equal(s->v.book[id].ask.n, 1);
    assert_int_equal(
        book(s, "BTCUSD", "[\"buy\",\"100\",\"0.0\"],[\"sell\",\"101\",\"0.5\"]", NULL, 3), 0);
    assert_int_equal(s->v.book[id].bid.n, 1);
    assert_int_equal(s->v.book[id].bid.px[0], 9900000000);
    assert_int_equal(s->v.book[id].ask.sz[0], 50000000);
    /* a second full book replaces, not merges */
    assert_int_equal(book(s, "BTCUSD", "[\"sell\",\"105\",\"1\"]", "", 4), 0);
    assert_int_equal(s->v.book[id].bid.n, 0);
    assert_int_equal(s->v.book[id].ask.px[0], 10500000000);
    vh_syn_assert_msgs(s, 3, 4);
    vh_syn_close(s);
}

static void test_gm_unreadable_book_message_gaps_and_resubscribes_paced(void **state)
{
    syn_t *s = syn_open("BTCUSD,ETHUSD", NULL);
    int64_t b = vh_syn_id(s, "BTCUSD"), e = vh_syn_id(s, "ETHUSD");
    int64_t t = 7000000000;
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"1\"]", "", t), 0);
    assert_int_equal(book(s, "ETHUSD", "[\"buy\",\"10\",\"1\"]", "", t), 0);
    /* second change unreadable: nothing applies, GAP, unsubscribe now, subscribe a second later
     * (one message per second; on_open's subscribe used this second) */
    assert_int_equal(
        book(s, "BTCUSD", "[\"buy\",\"100\",\"5\"],[\"buy\",\"1e\",\"1\"]", NULL, t + 1),
        TG_EDEC_SYNTAX);
    assert_int_equal(s->v.book[b].bid.sz[0], 100000000);
    assert_int_equal(s->v.gaps[b], 1);
    assert_int_equal(s->v.gaps[e], 0);
    assert_int_equal(TG_STAT_GET(s->o->stats.resyncs), 1);
    assert_int_equal(s->cap.n_sent, 0);
    feed_venue_gemini.on_tick(&s->o->h, t + 1000000000);
    assert_int_equal(s->cap.n_sent, 1);
    assert_string_equal(s->cap.sent[0], "{\"type\":\"unsubscribe\",\"subscriptions\":[{\"name\":"
                                        "\"l2\",\"symbols\":[\"BTCUSD\"]}]}");
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"7\"]", NULL, t + 1100000000), 0);
    assert_int_equal(s->v.book[b].bid.sz[0], 100000000); /* dropped: waiting */
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 1);
    assert_int_equal(book(s, "ETHUSD", "[\"buy\",\"10\",\"2\"]", NULL, t + 1200000000), 0);
    assert_int_equal(s->v.book[e].bid.sz[0], 200000000);
    feed_venue_gemini.on_tick(&s->o->h, t + 2000000000);
    assert_int_equal(s->cap.n_sent, 2);
    assert_string_equal(s->cap.sent[1], "{\"type\":\"subscribe\",\"subscriptions\":[{\"name\":"
                                        "\"l2\",\"symbols\":[\"BTCUSD\"]}]}");
    /* the new full book brings it back */
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"101\",\"2\"]", "", t + 2100000000), 0);
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"101\",\"3\"]", NULL, t + 2200000000), 0);
    assert_int_equal(s->v.book[b].bid.n, 1);
    assert_int_equal(s->v.book[b].bid.sz[0], 300000000);
    /* other book errors: bad side, wrong arity, zero price, unknown symbol */
    assert_int_equal(book(s, "ETHUSD", "[\"bid\",\"10\",\"2\"]", NULL, t + 3000000000), TG_EFIELD);
    assert_int_equal(s->v.gaps[e], 1);
    assert_int_equal(book(s, "ETHUSD", "[\"buy\",\"10\"]", "", t + 3000000001), TG_EFIELD);
    assert_int_equal(book(s, "ETHUSD", "[\"buy\",\"0\",\"1\"]", "", t + 3000000002), TG_EFIELD);
    assert_int_equal(book(s, "SOLUSD", "[\"buy\",\"1\",\"1\"]", NULL, t + 3000000003), TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_field), 3);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_symbol), 1);
    assert_int_equal(TG_STAT_GET(s->o->stats.gaps), 2);
    assert_int_equal(vrun_accounted(&s->o->stats), TG_STAT_GET(s->o->stats.frames));
    vh_syn_close(s);
}

static void test_gm_builder_resync_request_resubscribes_the_symbol(void **state)
{
    syn_t *s = syn_open("BTCUSD,ETHUSD", NULL);
    static tg_resync_t rs;
    s->o->h.resync = &rs;
    assert_int_equal(feed_venue_gemini.on_open(&s->o->h), 0);
    s->cap.n_sent = 0;
    int64_t b = vh_syn_id(s, "BTCUSD");
    int64_t t = 9000000000;
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"1\"]", "", t), 0);
    feed_venue_gemini.on_tick(&s->o->h, t + 1);
    assert_int_equal(s->cap.n_sent, 0); /* nothing asked */
    tg_resync_request(&rs, (uint32_t)b);
    feed_venue_gemini.on_tick(&s->o->h, t + 2000000000);
    assert_int_equal(s->cap.n_sent, 1);
    assert_non_null(strstr(s->cap.sent[0], "unsubscribe"));
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"4\"]", NULL, t + 2000000001), 0);
    assert_int_equal(s->v.book[b].bid.sz[0], 100000000);
    feed_venue_gemini.on_tick(&s->o->h, t + 3000000000);
    assert_int_equal(s->cap.n_sent, 2);
    assert_non_null(strstr(s->cap.sent[1], "\"type\":\"subscribe\""));
    feed_venue_gemini.on_tick(&s->o->h, t + 4000000000);
    assert_int_equal(s->cap.n_sent, 2);
    assert_int_equal(TG_STAT_GET(s->o->stats.resyncs), 1);
    vh_syn_close(s);
}

static void test_gm_trades_taker_side_history_seeds_duplicates_dropped(void **state)
{
    syn_t *s = syn_open("BTCUSD", NULL);
    int64_t b = vh_syn_id(s, "BTCUSD");
    vh_keep_t *k = vh_keep_on(s->o);
    /* history in the full book: not emitted, tid 500 becomes the baseline */
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"1\"]",
                          "{\"event_id\":1,\"price\":\"9\",\"quantity\":\"1\",\"side\":\"sell\","
                          "\"symbol\":\"BTCUSD\",\"tid\":500,\"timestamp\":1,\"type\":\"trade\"}",
                          1),
                     0);
    k->n = 0;
    assert_int_equal(trade(s, "BTCUSD", "499", "65206.29", "0.00007667", "buy", 2), 0);
    assert_int_equal(k->n, 0);
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 1);
    assert_int_equal(trade(s, "BTCUSD", "2840141017904555", "65206.29", "0.00007667", "buy", 3), 0);
    assert_int_equal(trade(s, "BTCUSD", "2840141017904557", "65206.28", "1.5", "sell", 4), 0);
    assert_int_equal(trade(s, "BTCUSD", "2840141017904557", "65206.28", "1.5", "sell", 5), 0);
    assert_int_equal(k->n, 2);
    assert_int_equal(k->ev[0].kind, TG_EV_TRADE);
    assert_int_equal(k->ev[0].instr, (uint32_t)b);
    assert_int_equal(k->ev[0].side, TG_SIDE_BUY);
    assert_int_equal(k->ev[0].price, 6520629000000);
    assert_int_equal(k->ev[0].size, 7667);
    assert_int_equal(k->ev[0].u.trade_id, 2840141017904555ull);
    assert_int_equal(k->ev[0].seq, 1764551741926942ull);
    assert_int_equal(k->ev[0].ts_exch, 1786313194672000000);
    assert_true(k->ev[0].flags & TG_EVF_LAST);
    assert_int_equal(k->ev[1].side, TG_SIDE_SELL);
    assert_int_equal(TG_STAT_GET(s->o->stats.stale_dropped), 2);
    /* bad trades: side, tid, time, price */
    assert_int_equal(trade(s, "BTCUSD", "2840141017904559", "1", "1", "auction", 6), TG_EFIELD);
    assert_int_equal(trade(s, "BTCUSD", "\"x\"", "1", "1", "buy", 6), TG_EFIELD);
    assert_int_equal(trade(s, "BTCUSD", "-5", "1", "1", "buy", 6), TG_EFIELD);
    assert_int_equal(trade(s, "BTCUSD", "2840141017904561", "1,5", "1", "buy", 6), TG_EDEC_SYNTAX);
    assert_int_equal(trade(s, "XRPUSD", "2840141017904563", "1", "1", "buy", 6), TG_ESYMBOL);
    assert_int_equal(k->n, 2);
    free(k);
    vh_syn_close(s);
}

static void test_gm_heartbeats_auctions_and_errors_are_counted_once(void **state)
{
    syn_t *s = syn_open("BTCUSD", NULL);
    int64_t b = vh_syn_id(s, "BTCUSD");
    assert_int_equal(book(s, "BTCUSD", "[\"buy\",\"100\",\"1\"],[\"sell\",\"101\",\"1\"]", "", 1),
                     0);
    assert_int_equal(vh_syn_frame(s, "{\"timestamp\":1786313195331,\"type\":\"heartbeat\"}", 2), 0);
    /* auction events change no level */
    assert_int_equal(
        vh_syn_frame(s,
                     "{\"type\":\"auction_open\",\"symbol\":\"BTCUSD\",\"auction_open_ms\":"
                     "1,\"auction_time_ms\":2,\"first_indicative_ms\":3,\"last_cancel_time_"
                     "ms\":4}",
                     3),
        0);
    assert_int_equal(
        vh_syn_frame(s,
                     "{\"type\":\"auction_indicative\",\"symbol\":\"BTCUSD\",\"result\":"
                     "\"success\",\"indicative_price\":\"100.5\",\"indicative_quantity\":"
                     "\"3\"}",
                     4),
        0);
    assert_int_equal(
        vh_syn_frame(s,
                     "{\"type\":\"auction_result\",\"symbol\":\"BTCUSD\",\"result\":"
                     "\"success\",\"auction_price\":\"100.5\",\"auction_quantity\":\"3\"}",
                     5),
        0);
    assert_int_equal(vh_syn_frame(s, "{\"type\":\"candles_1m_updates\",\"symbol\":\"BTCUSD\"}", 6),
                     0);
    assert_int_equal(TG_STAT_GET(s->o->stats.unhandled), 5);
    assert_int_equal(s->v.book[b].bid.n, 1);
    assert_int_equal(s->v.trades[b], 0);
    assert_int_equal(vh_syn_frame(s, "{\"type\":\"error\",\"reason\":\"InvalidJson\"}", 7),
                     TG_EPROTO);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_venue), 1);
    assert_int_equal(vh_syn_frame(s, "{\"type\":\"l2_updates\",\"symbol\":\"BTCUSD\",", 8),
                     TG_EJSON);
    assert_int_equal(vh_syn_frame(s, "{\"type\":\"trade\"} 1", 8), TG_EJSON);
    assert_int_equal(vh_syn_frame(s, "\"heartbeat\"", 8), TG_EJSON);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_json), 3);
    assert_int_equal(vh_syn_frame(s, "{\"symbol\":\"BTCUSD\"}", 9), TG_EFIELD);
    assert_int_equal(vh_syn_frame(s, "{\"type\":\"l2_updates\",\"changes\":[]}", 9), TG_EFIELD);
    assert_int_equal(TG_STAT_GET(s->o->stats.err_field), 2);
    assert_int_equal(TG_STAT_GET(s->o->stats.frames), 12);
    assert_int_equal(vrun_accounted(&s->o->stats), 12);
    vh_syn_close(s);
}

/* ---- fuzz ----------------------------------------------------------------------------------- */

static uint64_t rng = 0xD1B54A32D192ED03ull;
static void test_gm_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    vh_fuzz_t f = VH_FUZZ_TEXT(vh_rec(GM_REC), &rng, 100000000, 1000);
    vh_fuzz_run(&f, 30000);
    assert_true(TG_STAT_GET(f.o->stats.handled) > 0 && TG_STAT_GET(f.o->stats.resyncs) > 0);
    vh_fuzz_close(&f);
}

/* ---- exact values at extreme scales --------------------------------------------------------- */

static void changes_of(const vh_xval_t *xv, int n, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s[\"%s\",\"%s\",\"%s\"]", i ? "," : "",
                              i % 2 ? "sell" : "buy", xv[i].px, xv[i].sz);
}

static void test_gm_extreme_scales_are_exact(void **state)
{
    tg_instr_reg_t *reg = vh_reg_big("gemini", "BIGUSD");
    syn_t *s = syn_open("BIGUSD,TINYUSD,METAUSD", reg);
    vh_keep_t *k = vh_keep_on(s->o);
    char ch[2048];
    /* one full book: the first level with no decimals, later 2 and 11 places */
    changes_of(vh_xs + VH_XS_BIG, 5, ch, sizeof(ch));
    assert_int_equal(book(s, "BIGUSD", ch, "", 1), 0);
    vh_keep_assert_exact(k, TG_EV_LEVEL, vh_xs + VH_XS_BIG, 5);
    assert_int_equal(k->ev[k->n - 1].px_scale, 11);
    assert_int_equal(k->ev[k->n - 1].sz_scale, 6);
    /* 1e8 at scale 11 does not fit an int64: the book faults loudly */
    k->n = 0;
    vh_keep_assert_fault(k, book(s, "BIGUSD", "[\"buy\",\"100000000\",\"1\"]", NULL, 2));
    /* default scales 8/8: 1e-12 prices, 1e-8 sizes, up to 16 places, INT64_MAX exactly */
    k->n = 0;
    changes_of(vh_xs + VH_XS_TINY, 5, ch, sizeof(ch));
    assert_int_equal(book(s, "TINYUSD", ch, "", 3), 0);
    vh_keep_assert_exact(k, TG_EV_LEVEL, vh_xs + VH_XS_TINY, 5);
    assert_int_equal(k->ev[k->n - 1].px_scale, 16);
    k->n = 0;
    const vh_xval_t *trd = vh_xs + VH_XS_TRADE;
    assert_int_equal(trade(s, "TINYUSD", "77", trd[0].px, trd[0].sz, "buy", 4), 0);
    vh_keep_assert_exact(k, TG_EV_TRADE, trd, 1);
    /* in-band REST details raise the scales before any data (tick_size = quantity step) */
    assert_int_equal(feed_sz_scale(&s->o->h, (uint32_t)vh_syn_id(s, "METAUSD")), 8);
    assert_int_equal(
        vh_syn_frame(s,
                     "{\"rest\":\"https://api.gemini.com/v1/symbols/details/metausd\","
                     "\"generated\":true,\"data\":{\"symbol\":\"METAUSD\",\"tick_size\":1e-10,"
                     "\"quote_increment\":0.000000001,\"status\":\"open\"}}",
                     5),
        0);
    assert_int_equal(feed_sz_scale(&s->o->h, (uint32_t)vh_syn_id(s, "METAUSD")), 10);
    assert_int_equal(feed_px_scale(&s->o->h, (uint32_t)vh_syn_id(s, "METAUSD")), 9);
    /* 1e12 at the default size scale 8 is 1e20: unrepresentable, loud */
    k->n = 0;
    vh_keep_assert_fault(k, book(s, "METAUSD", "[\"buy\",\"1\",\"1000000000000\"]", "", 6));
    vh_xs_close(s, k, reg, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gm_venue_is_offered_with_its_limits),
        TU_CASE(test_gm_recording_equals_the_tardis_oracle, test_gm_recording_equals_oracle,
                &gm_tardis),
        TU_CASE(test_gm_recording_equals_the_reference_exactly, test_gm_recording_equals_oracle,
                &gm_exact),
        cmocka_unit_test(test_gm_subscribes_l2_for_every_symbol_in_one_message),
        cmocka_unit_test(test_gm_changes_before_the_full_book_are_dropped),
        cmocka_unit_test(test_gm_unreadable_book_message_gaps_and_resubscribes_paced),
        cmocka_unit_test(test_gm_builder_resync_request_resubscribes_the_symbol),
        cmocka_unit_test(test_gm_trades_taker_side_history_seeds_duplicates_dropped),
        cmocka_unit_test(test_gm_heartbeats_auctions_and_errors_are_counted_once),
        cmocka_unit_test(test_gm_extreme_scales_are_exact),
        cmocka_unit_test(test_gm_mutated_frames_never_crash_and_are_all_counted),
    };
    if (!getenv("TG_RECORDINGS") || !getenv("TG_PEER_EXPECTED")) {
        fprintf(stderr, "TG_RECORDINGS / TG_PEER_EXPECTED not set\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
