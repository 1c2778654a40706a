/* SPDX-License-Identifier: MIT */
/*
 * Deribit API v2 handler (feeds/venues/feed_deribit.c): the recorded session in
 * ../shared/recordings/deribit against the tardis-dev oracle and the recordings' own exact
 * reference (final books, level counts, every frame accounted for, the prev_change_id chain
 * without a gap), a lost change caught by the chain (GAP + resubscribe, later changes dropped),
 * the sync rules on synthetic frames for option, future, perpetual and linear instruments, the
 * heartbeat protocol (test_request answered with public/test), trades (direction = taker,
 * text and numeric trade ids), paced subscriptions, malformed input counted, extreme scales
 * (1e-12 .. 1e7 prices, 1e-8 .. 1e12 sizes, mixed decimals in one message, exponents) checked
 * as exact decimal text, and 20k+ mutated frames without a crash or leak.
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

#define DB_REC  "deribit/cryptofeed_ce58c2a0_DERIBIT.ws.1.tgrec"
#define DB_ORC  "cryptofeed_ce58c2a0_DERIBIT.ws.1.tgrec.result.json"
#define DB_SYMS "BTC-24SEP21-8000-P,BTC-24SEP21,BTC-PERPETUAL,ETH_USDC-PERPETUAL,XRP-TINY,BIG-SIZE"
#define DB_PRE  "{\"jsonrpc\":\"2.0\",\"method\":\"subscription\",\"params\":{\"channel\":"

/* ---- a handler on synthetic frames (venue_harness.h) ---- */

static vh_env_t *env_open(const char *symbols, tg_instr_reg_t *reg)
{
    return vh_env_open("deribit", symbols, reg, 4096, 0);
}

static void book_frame(char *out, size_t cap, const char *sym, const char *type, long prev,
                       long chg, const char *bids, const char *asks)
{
    char pv[64] = "";
    if (prev >= 0)
        snprintf(pv, sizeof(pv), "\"prev_change_id\":%ld,", prev);
    snprintf(out, cap,
             DB_PRE "\"book.%s.raw\",\"data\":{\"type\":\"%s\",\"timestamp\":1626993724318,%s"
                    "\"instrument_name\":\"%s\",\"change_id\":%ld,\"bids\":[%s],\"asks\":[%s]}}}",
             sym, type, pv, sym, chg, bids, asks);
}

static void test_deribit_is_found_and_has_a_handler(void **state)
{
    vh_assert_venue("deribit", &feed_venue_deribit, "wss://www.deribit.com/ws/api/v2", 0);
}

/* ---- the recording ---------------------------------------------------------------------- */

/* Frames of a recording, as text pointers into o->rec. */
static bool has(const char *f, size_t n, const char *needle)
{
    return memmem(f, n, needle, strlen(needle)) != NULL;
}

static void test_deribit_recording_every_frame_accounted_and_chain_unbroken(void **state)
{
    /* independent counts from the raw frames */
    feed_offline_t *o = NULL;
    const char **fr;
    size_t *fl;
    size_t nf = vh_rec_frames(DB_REC, &o, &fr, &fl);
    long book = 0, ticker = 0, results = 0;
    vh_chain_t ch = {0};
    for (size_t i = 0; i < nf; i++) {
        if (has(fr[i], fl[i], "\"channel\":\"ticker."))
            ticker++;
        if (has(fr[i], fl[i], "\"result\":"))
            results++;
        if (!has(fr[i], fl[i], "\"channel\":\"book."))
            continue;
        book++;
        long chg = vh_num_after(fr[i], fl[i], "\"change_id\":");
        bool snap = has(fr[i], fl[i], "\"type\":\"snapshot\"");
        long prev = snap ? 0 : vh_num_after(fr[i], fl[i], "\"prev_change_id\":");
        vh_chain_step(&ch, fr[i], fl[i], "\"instrument_name\":\"", snap, chg, prev);
    }
    vh_frames_close(&o, fr, fl);
    long snaps = ch.snaps;
    assert_int_equal(snaps, 10);
    assert_int_equal(ch.chained, 36); /* README: prev_change_id chain 36/36 */
    assert_int_equal(ch.broken, 0);

    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(vrun_file(vh_rec(DB_REC), v, &o), 0);
    /* no rescale: scale 8 holds Deribit's values */
    assert_int_equal(vh_assert_clean_counts(o, v, book, ticker + results, snaps), book);
    vrun_close(&o, v);
}

/* Final books against tardis (float text) and against the recordings' exact checker. */
static void test_deribit_recording_books_equal_the_oracle_and_the_exact_reference(void **state)
{
    oracle_t orc, ref;
    feed_offline_t *o = NULL;
    vrun_t *v = vh_oracle_ref_run(DB_ORC, DB_REC, &orc, &ref, &o);
    /* exact strings: every level of the reference's top 10 parses to ours exactly */
    long exact = 0;
    vh_oracle_ref_books(v, o, &orc, &ref, 10, VH_OC_TRADES | VH_OC_SNAPSHOTS | VH_OC_BOOK_MSGS,
                        &exact);
    assert_true(exact > 50);
    vrun_close(&o, v);
    oracle_free(&orc);
    oracle_free(&ref);
}

/* Drop the nth change of an instrument from the recording: the next change's prev_change_id
 * no longer chains. */
static void test_deribit_lost_change_is_a_gap_with_resubscribe(void **state)
{
    size_t len = 0;
    char *text = vrun_slurp(vh_rec(DB_REC), &len);
    assert_non_null(text);
    const char *key = "\"type\":\"change\"";
    const char *inst = "\"instrument_name\":\"BTC-24SEP21-8000-P\"";
    char *p = text;
    int nth = 0;
    char *line = NULL;
    long lost_chg = -1, lost_prev = -1;
    while ((p = fv_find(p, key)) != NULL) {
        char *bol = p;
        while (bol > text && bol[-1] != '\n')
            bol--;
        char *eol = strchr(p, '\n');
        if (fv_in_line(bol, inst) && ++nth == 5) {
            line = bol;
            lost_chg = vh_num_after(bol, (size_t)(eol - bol), "\"change_id\":");
            lost_prev = vh_num_after(bol, (size_t)(eol - bol), "\"prev_change_id\":");
            memmove(bol, eol + 1, len - (size_t)(eol + 1 - text) + 1);
            len -= (size_t)(eol + 1 - bol);
            break;
        }
        p = eol;
    }
    assert_non_null(line);
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open_mem(&o, text, len, NULL, NULL, 0), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    uint64_t sent0 = o->sent;
    vrun_init(v, o->reg);
    assert_int_equal(feed_offline_run(o, vrun_sink, v), 0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-24SEP21-8000-P", 18);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(v->last_gap.instr, (uint32_t)id);
    assert_int_equal(v->last_gap.seq, (uint64_t)lost_prev);  /* last change_id applied */
    assert_int_equal(v->last_gap.u.aux, (uint64_t)lost_chg); /* what the next one chains to */
    assert_int_equal(o->sent, sent0 + 2);                    /* unsubscribe + subscribe */
    assert_int_equal(TG_STAT_GET(o->stats.resyncs), 1);
    /* 31 book messages: 1 snapshot, 4 applied, 1 lost, the breaking one, 24 dropped */
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 24);
    assert_int_equal(v->synced[id], 0);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    vrun_close(&o, v);
    free(text);
}

/* ---- synthetic frames ------------------------------------------------------------------- */

static void test_deribit_on_open_sets_heartbeat_and_subscribes_every_channel(void **state)
{
    vh_env_t *e = env_open(DB_SYMS, NULL);
    assert_int_equal(e->n_sent, 2);
    assert_non_null(strstr(e->sent[0], "\"method\":\"public/set_heartbeat\""));
    assert_non_null(strstr(e->sent[0], "\"params\":{\"interval\":30}"));
    assert_non_null(strstr(e->sent[1], "\"method\":\"public/subscribe\""));
    const char *syms[] = {"BTC-24SEP21-8000-P", "BTC-24SEP21", "BTC-PERPETUAL",
                          "ETH_USDC-PERPETUAL"};
    for (int i = 0; i < 4; i++) {
        char ch[96];
        snprintf(ch, sizeof(ch), "\"book.%s.raw\"", syms[i]);
        assert_non_null(strstr(e->sent[1], ch));
        snprintf(ch, sizeof(ch), "\"trades.%s.raw\"", syms[i]);
        assert_non_null(strstr(e->sent[1], ch));
    }
    /* request ids differ (JSON-RPC) */
    assert_true(strcmp(strstr(e->sent[0], "\"id\":"), strstr(e->sent[1], "\"id\":")) != 0);
    vh_env_close(e);
}

/* Many instruments: batches of channels, never more sends in one second than the venue row
 * says; on_tick sends the rest. Built by hand (the tgrec header holds 4 KB of symbols). */
static void test_deribit_subscriptions_are_paced_per_second(void **state)
{
    tg_instr_reg_t *reg = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    enum { N = 900 };
    feed_handler_t h;
    memset(&h, 0, sizeof(h));
    feed_stats_t st;
    memset(&st, 0, sizeof(st));
    uint32_t ids[N];
    for (int i = 0; i < N; i++) {
        char s[32];
        snprintf(s, sizeof(s), "BTC-%dJUL21-%d-C", 1 + i % 28, 1000 + i);
        tg_instr_cfg_t cfg;
        feed_venue_instr_cfg(&feed_venue_deribit, s, 0, &cfg);
        assert_int_equal(tg_instr_reg_add(reg, "deribit", s, &cfg, &ids[i]), 0);
    }
    vh_env_t *e = calloc(1, sizeof(*e));
    tg_event_t buf[64];
    h.venue = &feed_venue_deribit;
    h.reg = reg;
    h.venue_id = tg_instr_reg_venue_id(reg, "deribit");
    h.instr = ids;
    h.n_instr = N;
    h.channels = FEED_CH_ALL;
    h.out.ev = buf;
    h.out.cap = 64;
    h.out.flush = vh_env_sink;
    h.out.ctx = e;
    h.stats = &st;
    h.send = vh_env_send;
    h.reconnect = vh_env_reconnect;
    h.tctx = e;
    assert_int_equal(feed_handler_setup(&h), 0);
    assert_int_equal(h.venue->on_open(&h), 0);
    assert_int_equal(e->n_sent, feed_venue_deribit.max_sends_per_s);
    size_t ticks = 0;
    while (ticks < 10) {
        size_t before = e->n_sent;
        h.venue->on_tick(&h, (int64_t)(ticks + 1) * 1000000000LL);
        assert_true(e->n_sent - before <= feed_venue_deribit.max_sends_per_s);
        ticks++;
        if (e->n_sent == before)
            break;
    }
    /* every channel exactly once */
    long book = 0, trades = 0;
    for (size_t i = 1; i < e->n_sent; i++) {
        for (const char *p = e->sent[i]; (p = strstr(p, "\"book.")) != NULL; p++)
            book++;
        for (const char *p = e->sent[i]; (p = strstr(p, "\"trades.")) != NULL; p++)
            trades++;
    }
    assert_int_equal(book, N);
    assert_int_equal(trades, N);
    assert_true(ticks >= 1);
    for (size_t i = 0; i < e->n_sent; i++)
        free(e->sent[i]);
    free(e->ev);
    free(e);
    feed_handler_teardown(&h);
    tg_instr_reg_destroy(&reg);
}

static void test_deribit_test_request_is_answered_with_public_test(void **state)
{
    vh_env_t *e = env_open(DB_SYMS, NULL);
    size_t s0 = e->n_sent;
    assert_int_equal(vh_env_frame(e, "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{"
                                     "\"type\":\"heartbeat\"}}"),
                     0);
    assert_int_equal(e->n_sent, s0);
    assert_int_equal(vh_env_frame(e, "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{"
                                     "\"type\":\"test_request\"}}"),
                     0);
    assert_int_equal(e->n_sent, s0 + 1);
    assert_non_null(strstr(e->sent[s0], "\"method\":\"public/test\""));
    assert_int_equal(vh_env_frame(e,
                                  "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"version\":\"1.2."
                                  "26\"},\"usIn\":1,\"usOut\":2,\"usDiff\":1,\"testnet\":false}"),
                     0);
    assert_int_equal(TG_STAT_GET(e->o->stats.unhandled), 3);
    assert_int_equal(e->n_ev, 0);
    vh_env_close(e);
}

/* Snapshot, chained changes (new / change / delete), a break, recovery by a new snapshot; for
 * an option, a future, a perpetual and a linear perpetual. */
static void test_deribit_change_chain_rules_for_every_instrument_kind(void **state)
{
    const char *syms[] = {"BTC-24SEP21-8000-P", "BTC-24SEP21", "BTC-PERPETUAL",
                          "ETH_USDC-PERPETUAL"};
    vh_env_t *e = env_open(DB_SYMS, NULL);
    char f[2048];
    for (int i = 0; i < 4; i++) {
        uint32_t id = vh_env_id(e, syms[i]);
        uint64_t stale0 = TG_STAT_GET(e->o->stats.stale_dropped);
        /* change before any snapshot: dropped */
        book_frame(f, sizeof(f), syms[i], "change", 99, 100, "[\"new\",1.5,1.0]", "");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(TG_STAT_GET(e->o->stats.stale_dropped), stale0 + 1);
        assert_int_equal(e->v->book[id].bid.n, 0);
        book_frame(f, sizeof(f), syms[i], "snapshot", -1, 1000,
                   "[\"new\",31000.5,10.0],[\"new\",31000.0,20.0]", "[\"new\",31001.0,5.0]");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->v->snapshots[id], 1);
        assert_int_equal(e->v->book[id].bid.n, 2);
        book_frame(f, sizeof(f), syms[i], "change", 1000, 1004,
                   "[\"change\",31000.5,7.5],[\"delete\",31000.0,20.0]", "[\"new\",31001.5,1.0]");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->v->book[id].bid.n, 1);
        assert_int_equal(e->v->book[id].bid.sz[0], 750000000);
        assert_int_equal(e->v->book[id].ask.n, 2);
        assert_int_equal(e->ev[e->n_ev - 1].seq, 1004);
        assert_true(e->ev[e->n_ev - 1].flags & TG_EVF_LAST);
        /* the action decides: "delete" removes the level whatever amount it carries */
        /* empty change still chains */
        book_frame(f, sizeof(f), syms[i], "change", 1004, 1005, "", "");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->ev[e->n_ev - 1].kind, TG_EV_END);
        /* break: prev 1006 != 1005 */
        size_t s0 = e->n_sent;
        book_frame(f, sizeof(f), syms[i], "change", 1006, 1007, "[\"new\",30000.0,1.0]", "");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->v->gaps[id], 1);
        assert_int_equal(e->v->last_gap.seq, 1005);
        assert_int_equal(e->v->last_gap.u.aux, 1006);
        assert_int_equal(e->v->book[id].bid.n, 1); /* not applied */
        assert_int_equal(e->n_sent, s0 + 2);
        char ch[96];
        snprintf(ch, sizeof(ch), "\"channels\":[\"book.%s.raw\"]", syms[i]);
        assert_non_null(strstr(e->sent[s0], "public/unsubscribe"));
        assert_non_null(strstr(e->sent[s0], ch));
        assert_non_null(strstr(e->sent[s0 + 1], "public/subscribe"));
        assert_non_null(strstr(e->sent[s0 + 1], ch));
        /* a change chaining to the broken one is still dropped until the new snapshot */
        book_frame(f, sizeof(f), syms[i], "change", 1007, 1008, "[\"new\",30000.0,1.0]", "");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->v->gaps[id], 1);
        assert_int_equal(TG_STAT_GET(e->o->stats.stale_dropped), stale0 + 2);
        book_frame(f, sizeof(f), syms[i], "snapshot", -1, 2000, "[\"new\",100.0,1.0]", "");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->v->book[id].bid.n, 1);
        assert_int_equal(e->v->book[id].ask.n, 0);
        assert_int_equal(e->v->synced[id], 1);
        book_frame(f, sizeof(f), syms[i], "change", 2000, 2001, "", "[\"new\",101.0,1.0]");
        assert_int_equal(vh_env_frame(e, f), 0);
        assert_int_equal(e->v->book[id].ask.n, 1);
    }
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 4);
    assert_int_equal(vrun_errors(&e->o->stats), 0);
    assert_int_equal(vrun_accounted(&e->o->stats), TG_STAT_GET(e->o->stats.frames));
    /* connection lost: every book of the connection goes STALE */
    e->o->venue->on_close(&e->o->h, 5, 5);
    feed_flush(&e->o->h);
    for (uint32_t i = 0; i < e->o->h.n_instr; i++)
        assert_int_equal(e->v->stale[e->o->h.instr[i]], 1);
    vh_env_close(e);
}

/* The grouped channel (book.<instr>.none.10.100ms): no type, [price, amount] levels, each
 * message a full book. */
static void test_deribit_grouped_book_messages_are_full_snapshots(void **state)
{
    vh_env_t *e = env_open(DB_SYMS, NULL);
    uint32_t id = vh_env_id(e, "BTC-PERPETUAL");
    const char *f1 = DB_PRE "\"book.BTC-PERPETUAL.none.10.100ms\",\"data\":{\"timestamp\":"
                            "1626993724318,\"instrument_name\":\"BTC-PERPETUAL\",\"change_id\":5,"
                            "\"bids\":[[31000.5,10.0],[31000.0,2.0]],\"asks\":[[31001.0,3.0]]}}}";
    const char *f2 = DB_PRE "\"book.BTC-PERPETUAL.none.10.100ms\",\"data\":{\"timestamp\":"
                            "1626993724418,\"instrument_name\":\"BTC-PERPETUAL\",\"change_id\":9,"
                            "\"bids\":[[30999.5,1.0]],\"asks\":[[31002.0,3.0]]}}}";
    assert_int_equal(vh_env_frame(e, f1), 0);
    assert_int_equal(vh_env_frame(e, f2), 0);
    assert_int_equal(e->v->snapshots[id], 2);
    assert_int_equal(e->v->book[id].bid.n, 1);
    assert_int_equal(e->v->book[id].bid.px[0], 3099950000000);
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 0);
    vh_env_close(e);
}

static void test_deribit_trades_are_taker_side_with_text_and_numeric_ids(void **state)
{
    vh_env_t *e = env_open(DB_SYMS, NULL);
    const char *f =
        DB_PRE "\"trades.BTC-PERPETUAL.raw\",\"data\":["
               "{\"trade_seq\":30289432,\"trade_id\":\"48079254\",\"timestamp\":1590484156350,"
               "\"tick_direction\":0,\"price\":8950.0,\"mark_price\":8948.9,\"instrument_name\":"
               "\"BTC-PERPETUAL\",\"index_price\":8955.88,\"direction\":\"sell\",\"amount\":10.0},"
               "{\"trade_seq\":30289433,\"trade_id\":\"ETH-48079255\",\"timestamp\":1590484156351,"
               "\"tick_direction\":1,\"price\":8950.5,\"instrument_name\":\"BTC-PERPETUAL\","
               "\"direction\":\"buy\",\"amount\":1e1,\"liquidation\":\"M\"}]}}";
    assert_int_equal(vh_env_frame(e, f), 0);
    uint32_t id = vh_env_id(e, "BTC-PERPETUAL");
    assert_int_equal(e->n_ev, 2);
    assert_int_equal(e->ev[0].kind, TG_EV_TRADE);
    assert_int_equal(e->ev[0].instr, id);
    assert_int_equal(e->ev[0].side, TG_SIDE_SELL);
    assert_int_equal(e->ev[0].u.trade_id, 48079254);
    assert_int_equal(e->ev[0].seq, 30289432);
    assert_int_equal(e->ev[0].ts_exch, 1590484156350LL * 1000000);
    assert_false(e->ev[0].flags & TG_EVF_LAST);
    assert_int_equal(e->ev[1].side, TG_SIDE_BUY);
    assert_int_equal(e->ev[1].u.trade_id, feed_hash_id("ETH-48079255", 12));
    assert_int_equal(e->ev[1].size, 1000000000);
    assert_true(e->ev[1].flags & TG_EVF_LAST);
    assert_int_equal(e->v->trades[id], 2);
    assert_int_equal(TG_STAT_GET(e->o->stats.trades), 2);
    /* trades of two instruments in one notification: one message each */
    const char *g = DB_PRE "\"trades.future.BTC.raw\",\"data\":["
                           "{\"trade_id\":\"1\",\"timestamp\":1,\"price\":1.5,\"instrument_name\":"
                           "\"BTC-24SEP21\",\"direction\":\"buy\",\"amount\":1.0},"
                           "{\"trade_id\":\"2\",\"timestamp\":2,\"price\":2.5,\"instrument_name\":"
                           "\"BTC-PERPETUAL\",\"direction\":\"sell\",\"amount\":2.0}]}}";
    assert_int_equal(vh_env_frame(e, g), 0);
    assert_int_equal(e->n_ev, 4);
    assert_true(e->ev[2].flags & TG_EVF_LAST);
    assert_true(e->ev[3].flags & TG_EVF_LAST);
    assert_int_equal(e->ev[2].instr, vh_env_id(e, "BTC-24SEP21"));
    vh_env_close(e);
}

static void test_deribit_bad_input_is_counted_and_a_bad_book_message_resyncs(void **state)
{
    vh_env_t *e = env_open(DB_SYMS, NULL);
    const feed_stats_t *s = &e->o->stats;
    uint32_t id = vh_env_id(e, "BTC-24SEP21");
    char f[2048];
    book_frame(f, sizeof(f), "BTC-24SEP21", "snapshot", -1, 10, "[\"new\",31000.5,10.0]", "");
    assert_int_equal(vh_env_frame(e, f), 0);
    assert_int_equal(vh_env_frame(e, "{\"jsonrpc\":\"2.0\",\"method\":"), TG_EJSON);
    assert_int_equal(TG_STAT_GET(s->err_json), 1);
    assert_int_equal(vh_env_frame(e, "[1,2]"), TG_EJSON);
    assert_int_equal(TG_STAT_GET(s->err_json), 2);
    assert_int_equal(vh_env_frame(e, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":11050,"
                                     "\"message\":\"bad_request\"}}"),
                     TG_EPROTO);
    assert_int_equal(TG_STAT_GET(s->err_venue), 1);
    book_frame(f, sizeof(f), "BTC-25MAR22", "change", 10, 11, "", "");
    assert_int_equal(vh_env_frame(e, f), TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(s->err_symbol), 1);
    assert_int_equal(vh_env_frame(e, "{\"jsonrpc\":\"2.0\",\"testnet\":false}"), TG_EFIELD);
    assert_int_equal(TG_STAT_GET(s->err_field), 1);
    /* ticker and other channels: unhandled */
    assert_int_equal(vh_env_frame(e, DB_PRE "\"ticker.BTC-24SEP21.raw\",\"data\":{}}}"), 0);
    assert_int_equal(TG_STAT_GET(s->unhandled), 1);
    /* an unknown level action: nothing applied, GAP + resubscribe */
    size_t s0 = e->n_sent;
    book_frame(f, sizeof(f), "BTC-24SEP21", "change", 10, 11,
               "[\"new\",31000.0,1.0],[\"move\",31000.5,1.0]", "");
    assert_int_equal(vh_env_frame(e, f), TG_EFIELD);
    assert_int_equal(TG_STAT_GET(s->err_field), 2);
    assert_int_equal(e->v->gaps[id], 1);
    assert_int_equal(e->v->book[id].bid.n, 1);
    assert_int_equal(e->n_sent, s0 + 2);
    /* negative price, price as a string */
    book_frame(f, sizeof(f), "BTC-24SEP21", "snapshot", -1, 20, "[\"new\",-5.0,1.0]", "");
    assert_int_equal(vh_env_frame(e, f), TG_EDEC_NEGATIVE);
    assert_int_equal(TG_STAT_GET(s->err_decimal), 1);
    book_frame(f, sizeof(f), "BTC-24SEP21", "snapshot", -1, 20, "[\"new\",\"5.0\",1.0]", "");
    assert_int_equal(vh_env_frame(e, f), TG_EFIELD);
    /* missing change_id / prev_change_id */
    assert_int_equal(vh_env_frame(e,
                                  DB_PRE "\"book.BTC-24SEP21.raw\",\"data\":{\"type\":\"change\","
                                         "\"timestamp\":1,\"instrument_name\":\"BTC-24SEP21\","
                                         "\"change_id\":5,\"bids\":[],\"asks\":[]}}}"),
                     TG_EFIELD);
    /* a trade with a bad direction: nothing emitted */
    vh_env_refused_last_close(e,
                              DB_PRE "\"trades.BTC-24SEP21.raw\",\"data\":[{\"trade_id\":"
                                     "\"1\",\"timestamp\":1,\"price\":1.5,\"instrument_name\":"
                                     "\"BTC-24SEP21\",\"direction\":\"up\",\"amount\":1.0}]}}",
                              TG_EFIELD);
}

/* ---- fuzz ------------------------------------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static void test_deribit_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    /* the recording has no trade and no heartbeat: add some */
    static const char *const extra[] = {
        DB_PRE "\"trades.BTC-24SEP21-8000-P.raw\",\"data\":[{\"trade_seq\":1,\"trade_id\":"
               "\"ETH-1\",\"timestamp\":1626993724318,\"price\":0.0005,\"instrument_name\":"
               "\"BTC-24SEP21-8000-P\",\"direction\":\"sell\",\"amount\":0.1}]}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"type\":\"test_request\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":11050,\"message\":\"bad_request\"}}",
    };
    /* case 4 (digits only) breaks chains and prices but keeps the JSON */
    vh_fuzz_t f = VH_FUZZ_NUM(vh_rec(DB_REC), &rng, "9e-0.", extra, 3);
    vh_fuzz_run(&f, 25000);
    assert_true(TG_STAT_GET(f.o->stats.handled) > 0);
    vh_fuzz_close(&f);
}

/* ---- extreme scales --------------------------------------------------------------------- */

/* A snapshot of sym (change id chg, bids and asks as the venue writes them) taken, and the
 * level events it emitted exactly n with these prices and sizes. @return the index of the
 * first. */
static size_t snapshot_levels(vh_env_t *e, const char *sym, long chg, const char *bids,
                              const char *asks, const char *const *px, const char *const *sz, int n)
{
    size_t n0 = e->n_ev;
    char f[4096];
    book_frame(f, sizeof(f), sym, "snapshot", -1, chg, bids, asks);
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px, sz, n);
    return n0;
}

static void test_deribit_extreme_scales_come_out_exact(void **state)
{
    /* BIG-SIZE is configured with whole-number scales (as a config file may): 1e12 sizes fit
     * int64 only at <= 6 places */
    tg_instr_reg_t *reg = vh_reg_big("deribit", "BIG-SIZE");
    vh_env_t *e = env_open(DB_SYMS, reg);
    char f[4096];

    /* mixed decimals in one snapshot: 2 places first, 11 places later, exponents */
    const char *px1[] = {"32000.25", "0.00000000001", "1e-11", "32000.5", "4.5E+4"};
    const char *sz1[] = {"10.0", "0.00000001", "1.5e-8", "2.5E+3", "0.12345678"};
    size_t n0 = e->n_ev;
    uint64_t rs0 = TG_STAT_GET(e->o->stats.rescales);
    book_frame(f, sizeof(f), "BTC-PERPETUAL", "snapshot", -1, 1,
               "[\"new\",32000.25,10.0],[\"new\",0.00000000001,0.00000001],"
               "[\"new\",1e-11,1.5e-8]",
               "[\"new\",32000.5,2.5E+3],[\"new\",4.5E+4,0.12345678]");
    /* 1e-11 and 0.00000000001 are one price level: the second replaces the first */
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px1, sz1, 5);
    assert_true(TG_STAT_GET(e->o->stats.rescales) > rs0);
    assert_int_equal(e->ev[n0].px_scale, 11);
    assert_int_equal(e->v->book[vh_env_id(e, "BTC-PERPETUAL")].bid.n, 2);

    /* 1e-12 prices and 1e-8 sizes, plain and exponent forms, then a change at 4 places */
    const char *px2[] = {"0.000000000001", "1.23456789012e-3", "0.5"};
    const char *sz2[] = {"0.00000001", "1.0e-8", "99999999999.99999999"};
    n0 = e->n_ev;
    book_frame(f, sizeof(f), "XRP-TINY", "snapshot", -1, 1,
               "[\"new\",0.000000000001,0.00000001],[\"new\",1.23456789012e-3,1.0e-8]",
               "[\"new\",0.5,99999999999.99999999]");
    /* 99999999999.99999999 at 8 places is 1e19: more than int64 holds */
    assert_true(vh_env_frame(e, f) < 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.unrepresentable), 1);
    assert_int_equal(e->ev[e->n_ev - 1].kind, TG_EV_GAP);
    assert_true(e->ev[e->n_ev - 1].flags & TG_EVF_FAULT);
    sz2[2] = "9999999999.9999";
    n0 = snapshot_levels(e, "XRP-TINY", 2,
                         "[\"new\",0.000000000001,0.00000001],[\"new\",1.23456789012e-3,1.0e-8]",
                         "[\"new\",0.5,9999999999.9999]", px2, sz2, 3);
    assert_int_equal(e->ev[n0].px_scale, 14);

    /* 1e7 prices and 1e12 sizes on the whole-number instrument; its scale grows to 2 places */
    const char *px3[] = {"10000000", "9999999.99", "10000000.5"};
    const char *sz3[] = {"1000000000000", "999999999999.5", "1e12"};
    n0 = snapshot_levels(e, "BIG-SIZE", 1,
                         "[\"new\",10000000,1000000000000],[\"new\",9999999.99,999999999999.5]",
                         "[\"new\",10000000.5,1e12]", px3, sz3, 3);
    assert_int_equal(e->ev[n0].px_scale, 2);
    assert_int_equal(e->ev[n0].sz_scale, 1);

    /* trades at extreme scales */
    const char *px4[] = {"0.000000000001", "9000000.5"};
    const char *sz4[] = {"1e-8", "123456789.12345678"};
    n0 = e->n_ev;
    snprintf(f, sizeof(f),
             DB_PRE "\"trades.BTC-24SEP21.raw\",\"data\":[{\"trade_id\":\"1\",\"timestamp\":1,"
                    "\"price\":0.000000000001,\"instrument_name\":\"BTC-24SEP21\",\"direction\":"
                    "\"buy\",\"amount\":1e-8},{\"trade_id\":\"2\",\"timestamp\":2,\"price\":"
                    "9000000.5,\"instrument_name\":\"BTC-24SEP21\",\"direction\":\"sell\","
                    "\"amount\":123456789.12345678}]}}");
    assert_int_equal(vh_env_frame(e, f), 0);
    vh_env_check_levels(e, n0, px4, sz4, 2);

    /* a size that no scale holds at the default 8 places: FAULT, counted, resubscribed */
    size_t s0 = e->n_sent;
    uint64_t dec0 = TG_STAT_GET(e->o->stats.err_decimal);
    book_frame(f, sizeof(f), "BTC-24SEP21-8000-P", "snapshot", -1, 1, "[\"new\",0.5,1e12]", "");
    assert_int_equal(vh_env_frame(e, f), TG_EDEC_RANGE);
    assert_int_equal(TG_STAT_GET(e->o->stats.err_decimal), dec0 + 1);
    assert_int_equal(e->n_sent, s0 + 2);
    assert_int_equal(vrun_accounted(&e->o->stats), TG_STAT_GET(e->o->stats.frames));
    vh_env_close(e);
    tg_instr_reg_destroy(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deribit_is_found_and_has_a_handler),
        cmocka_unit_test(test_deribit_recording_every_frame_accounted_and_chain_unbroken),
        cmocka_unit_test(test_deribit_recording_books_equal_the_oracle_and_the_exact_reference),
        cmocka_unit_test(test_deribit_lost_change_is_a_gap_with_resubscribe),
        cmocka_unit_test(test_deribit_on_open_sets_heartbeat_and_subscribes_every_channel),
        cmocka_unit_test(test_deribit_subscriptions_are_paced_per_second),
        cmocka_unit_test(test_deribit_test_request_is_answered_with_public_test),
        cmocka_unit_test(test_deribit_change_chain_rules_for_every_instrument_kind),
        cmocka_unit_test(test_deribit_grouped_book_messages_are_full_snapshots),
        cmocka_unit_test(test_deribit_trades_are_taker_side_with_text_and_numeric_ids),
        cmocka_unit_test(test_deribit_bad_input_is_counted_and_a_bad_book_message_resyncs),
        cmocka_unit_test(test_deribit_extreme_scales_come_out_exact),
        cmocka_unit_test(test_deribit_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
