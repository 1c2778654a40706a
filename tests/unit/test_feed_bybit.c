/* SPDX-License-Identifier: MIT */
/*
 * Bybit v5 handler (`bybit` linear and `bybit-spot`, one handler) against its recordings. The
 * tardis oracle handles none of these book topics, so the expectation is derived here from the
 * raw frames by a separate, naive text scan (no JSON parser): every orderbook snapshot/delta
 * applied in order to a second reference book, and the update id u checked to chain; the final
 * books and trade counts are also compared with the recordings' own checker (expected-ref,
 * exact strings). Also: no gaps on clean data, a removed delta detected as one gap, a snapshot
 * with u = 1 (service restart) resets the chain, mutated frames accounted for without a crash,
 * and exact decimals at extreme scales (2- and 11-place prices in one message, 1e-12 .. 1e7
 * prices, 1e-8 .. 1e12 sizes, a delta re-parsed after a scale change still chains).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "tests/fixtures/venue_checks.h"

static char g_paths[8][512];
static int g_n, g_n_linear;

static int setup(void **state)
{
    g_n_linear = fv_list("bybit", g_paths, 8);
    g_n = g_n_linear + fv_list("bybit-spot", g_paths + g_n_linear, 8 - g_n_linear);
    return g_n > g_n_linear && g_n_linear > 0 ? 0 : -1;
}

/* naive: levels of `"key":[[..],..]` after p, applied to one side of b */
static void naive_side(const char *p, const char *key, ref_side_t *side, int desc)
{
    const char *k = strstr(p, key);
    assert_non_null(k);
    k += strlen(key);
    assert_true(*k == '[');
    k++;
    while (*k == '[') {
        const char *a = k + 2, *ae = strchr(a, '"');
        const char *s = ae + 3, *se = strchr(s, '"');
        int64_t px, sz;
        assert_int_equal(tg_dec_parse(a, (size_t)(ae - a), 8, &px), 0);
        assert_int_equal(tg_dec_parse(s, (size_t)(se - s), 8, &sz), 0);
        ref_side_set(side, desc, px, sz);
        k = se + 2;
        if (*k == ',')
            k++;
    }
}

typedef struct naive {
    char sym[32];
    ref_book_t book;
    unsigned long long last_u;
    int depth;
    long msgs;
} naive_t;

/* apply every orderbook frame of the file by text scanning; u must chain on deltas */
static int naive_books(const char *path, naive_t *nb, int max)
{
    size_t len;
    char *t = fv_load_text(path, &len);
    assert_non_null(t);
    int n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        const char *tp = strstr(line, "{\"topic\":\"orderbook.");
        if (!tp)
            continue;
        int depth = atoi(tp + 20);
        const char *sym = strchr(tp + 20, '.') + 1;
        size_t sl = (size_t)(strchr(sym, '"') - sym);
        naive_t *x = NULL;
        for (int i = 0; i < n; i++)
            if (strlen(nb[i].sym) == sl && memcmp(nb[i].sym, sym, sl) == 0)
                x = &nb[i];
        if (!x) {
            assert_true(n < max);
            x = &nb[n++];
            memcpy(x->sym, sym, sl);
            x->depth = depth;
        }
        int snap = strstr(line, "\"type\":\"snapshot\"") != NULL;
        const char *u = strstr(line, ",\"u\":");
        assert_non_null(u);
        unsigned long long uv = strtoull(u + 5, NULL, 10);
        if (snap) {
            x->book.bid.n = x->book.ask.n = 0;
            x->book.have_snapshot = 1;
        } else {
            assert_true(x->book.have_snapshot);
            assert_int_equal(uv, x->last_u + 1); /* the recording's deltas chain */
        }
        x->last_u = uv;
        const char *data = strstr(line, "\"data\":");
        naive_side(data, "\"b\":", &x->book.bid, 1);
        naive_side(data, "\"a\":", &x->book.ask, 0);
        ref_book_truncate(&x->book, (size_t)depth);
        x->msgs++;
    }
    free(t);
    return n;
}

static void test_bybit_books_equal_a_naive_replay_of_the_raw_frames(void **state)
{
    for (int f = 0; f < g_n; f++) {
        naive_t nb[16];
        memset(nb, 0, sizeof(nb));
        int n = naive_books(g_paths[f], nb, 16);
        assert_true(n > 0);
        fv_run_t r = {0};
        r.truncate = (uint32_t)nb[0].depth;
        assert_int_equal(fv_run(&r, g_paths[f], NULL, 0, NULL), 0);
        for (int i = 0; i < n; i++) {
            int64_t id =
                tg_instr_reg_find(r.off->reg, r.off->h.venue_id, nb[i].sym, strlen(nb[i].sym));
            assert_true(id >= 0);
            const ref_book_t *b = &r.book[id];
            assert_true(b->have_snapshot);
            assert_int_equal(b->bid.n, nb[i].book.bid.n);
            assert_int_equal(b->ask.n, nb[i].book.ask.n);
            assert_true(b->bid.n > 0 && b->ask.n > 0);
            assert_memory_equal(b->bid.px, nb[i].book.bid.px, b->bid.n * 8);
            assert_memory_equal(b->bid.sz, nb[i].book.bid.sz, b->bid.n * 8);
            assert_memory_equal(b->ask.px, nb[i].book.ask.px, b->ask.n * 8);
            assert_memory_equal(b->ask.sz, nb[i].book.ask.sz, b->ask.n * 8);
            /* the registry carries the depth the builder must truncate to */
            const tg_instr_t *in = tg_instr_reg_get(r.off->reg, (uint32_t)id);
            if (r.off->rec->n_sent)
                assert_int_equal(in->depth_limit, nb[i].depth);
            ref_book_free(&nb[i].book);
        }
        fv_free(&r);
    }
}

static void test_bybit_clean_recordings_have_no_gaps_and_no_errors(void **state)
{
    fv_assert_clean_all(g_paths, g_n, FV_CLEAN_NO_STALE);
}

static void test_bybit_a_removed_delta_is_detected_as_one_gap(void **state)
{
    for (int f = 0; f < g_n; f++) {
        size_t len = 0;
        char *t = fv_load_text(g_paths[f], &len);
        /* the second orderbook delta (tickers send "delta" too) */
        char *p = NULL;
        int seen = 0;
        for (char *q = t; seen < 2 && (q = strstr(q + 1, "\"type\":\"delta\""));) {
            char *b = q;
            while (b > t && b[-1] != '\n')
                b--;
            if (strncmp(strchr(b, ' ') + 1, "{\"topic\":\"orderbook.", 20) == 0 && ++seen == 2)
                p = q;
        }
        if (!p) { /* orderbook.1 sends snapshots only */
            free(t);
            continue;
        }
        fv_drop_line(t, &len, p);
        fv_run_t r = {0};
        assert_int_equal(fv_run(&r, NULL, t, len, NULL), 0);
        assert_int_equal(TG_STAT_GET(r.off->stats.gaps), 1);
        assert_int_equal(r.gap_events, 1);
        assert_int_equal(TG_STAT_GET(r.off->stats.resyncs), 1);
        assert_true(r.off->sent >= 2);                            /* unsubscribe + subscribe */
        assert_true(TG_STAT_GET(r.off->stats.stale_dropped) > 0); /* deltas until a snapshot */
        fv_free(&r);
        free(t);
    }
}

static void test_bybit_trades_and_acks_are_read(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: bybit\n# symbols: BTCUSDT\n"
        "1 "
        "{\"success\":true,\"ret_msg\":\"\",\"conn_id\":\"x\",\"req_id\":\"\",\"op\":\"subscribe\"}"
        "\n"
        "2 {\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1672304486868,\"data\":["
        "{\"T\":1672304486865,\"s\":\"BTCUSDT\",\"S\":\"Buy\",\"v\":\"0.001\",\"p\":\"16578.50\","
        "\"L\":\"PlusTick\",\"i\":\"20f43950-d8dd-5b31-9112-a178eb6023af\",\"BT\":false},"
        "{\"T\":1672304486866,\"s\":\"BTCUSDT\",\"S\":\"Sell\",\"v\":\"0.002\",\"p\":\"16578.00\","
        "\"L\":\"MinusTick\",\"i\":\"30f43950-d8dd-5b31-9112-a178eb6023af\",\"BT\":false}]}\n"
        "3 "
        "{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"x\",\"req_id\":\"\",\"op\":\"ping\"}"
        "\n"
        "4 {\"success\":false,\"ret_msg\":\"error:handler not "
        "found\",\"conn_id\":\"x\",\"op\":\"subscribe\"}\n";
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->trades), 2);
    assert_int_equal(TG_STAT_GET(s->unhandled), 2);
    assert_int_equal(TG_STAT_GET(s->err_venue), 1);
    assert_int_equal(r.n_ev, 2);
    assert_int_equal(r.ev[0].side, TG_SIDE_BUY);
    assert_int_equal(r.ev[0].price, 1657850000000LL);
    assert_int_equal(r.ev[0].size, 100000);
    assert_int_equal(r.ev[0].ts_exch, 1672304486865000000LL);
    assert_int_equal(r.ev[0].flags & TG_EVF_LAST, 0);
    assert_int_equal(r.ev[1].side, TG_SIDE_SELL);
    assert_true(r.ev[1].flags & TG_EVF_LAST);
    assert_int_not_equal(r.ev[0].u.trade_id, r.ev[1].u.trade_id);
    assert_true(fv_accounted(s));
    fv_free(&r);
}

static void test_bybit_mutated_frames_never_crash_and_are_all_accounted(void **state)
{
    fv_fuzz_each_counted(g_paths, g_n, 6000, 99); /* x4 files: 24000 */
}

static void test_bybit_subscribes_at_most_ten_topics_per_request_and_pings(void **state)
{
    static const char rec[] = "# tgrec 1\n# venue: bybit\n# symbols: A1,A2,A3,A4,A5,A6\n";
    fv_run_t r;
    fv_cap_t *c = fv_open_text_sends(&r, rec, sizeof(rec) - 1, 2); /* 12 topics: 10 + 2 */
    assert_string_equal(
        c->sent[0],
        "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.A1\",\"publicTrade.A1\","
        "\"orderbook.50.A2\",\"publicTrade.A2\",\"orderbook.50.A3\",\"publicTrade.A3\","
        "\"orderbook.50.A4\",\"publicTrade.A4\",\"orderbook.50.A5\",\"publicTrade.A5\"]}");
    assert_string_equal(c->sent[1],
                        "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.A6\",\"publicTrade.A6\"]}");
    feed_handler_t *h = &r.off->h;
    const int64_t s = 1000000000LL;
    h->venue->on_tick(h, 100 * s);
    h->venue->on_tick(h, 110 * s);
    assert_int_equal(c->n_sent, 2);
    h->venue->on_tick(h, 120 * s);
    assert_int_equal(c->n_sent, 3);
    assert_string_equal(c->sent[2], "{\"op\":\"ping\"}");
    h->venue->on_tick(h, 139 * s);
    assert_int_equal(c->n_sent, 3);
    h->venue->on_tick(h, 141 * s);
    assert_int_equal(c->n_sent, 4);
    fv_free_captured(&r, c);
}

static void test_bybit_unreadable_level_invalidates_the_book(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: bybit\n# symbols: XRPUSDT\n"
        "1 {\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"s\":"
        "\"XRPUSDT\",\"b\":[[\"1.5\",\"5\"]],\"a\":[[\"1.6\",\"5\"]],\"u\":10,\"seq\":1}}\n"
        "2 {\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"delta\",\"ts\":2,\"data\":{\"s\":"
        "\"XRPUSDT\",\"b\":[[\"1.4\",\"1\"],[\"1.3\",\"x\"]],\"a\":[],\"u\":11,\"seq\":2}}\n"
        "3 {\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"delta\",\"ts\":3,\"data\":{\"s\":"
        "\"XRPUSDT\",\"b\":[[\"1.45\",\"1\"]],\"a\":[],\"u\":12,\"seq\":3}}\n";
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->err_decimal), 1);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    assert_int_equal(TG_STAT_GET(s->resyncs), 1);
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 1); /* delta 3 waits for the snapshot */
    assert_int_equal(r.gap_events, 1);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 1); /* nothing of delta 2 */
    assert_int_equal(b->bid.px[0], 150000000);
    assert_true(fv_accounted(s));
    fv_free(&r);
}

static void test_bybit_books_and_trades_equal_the_recordings_checker(void **state)
{
    /* expected-ref: final top 10 as exact strings, level counts, trades per symbol */
    int compared = 0;
    for (int f = 0; f < g_n; f++) {
        const char *base = strrchr(g_paths[f], '/') + 1;
        const char *root = getenv("TG_PEER_EXPECTED");
        char op[1024];
        snprintf(op, sizeof(op), "%s/../expected-ref/%s.result.json", root ? root : ".", base);
        oracle_t o;
        if (oracle_load(op, &o) != 0)
            continue;
        /* the nautilus archive file has no subscribe: its depth is in its name (ob500) */
        const char *ob = strstr(base, "_ob");
        uint32_t depth = ob ? (uint32_t)atoi(ob + 3) : 0;
        fv_run_t r = {0};
        assert_int_equal(feed_offline_open(&r.off, g_paths[f], NULL, NULL, depth), 0);
        assert_int_equal(feed_offline_run(r.off, fv_sink, &r), 0);
        const feed_handler_t *h = &r.off->h;
        for (int k = 0; k < o.n_syms; k++) {
            const oracle_sym_t *y = &o.syms[k];
            int64_t id = tg_instr_reg_find(r.off->reg, h->venue_id, y->name, strlen(y->name));
            assert_true(id >= 0);
            const tg_instr_t *in = tg_instr_reg_get(r.off->reg, (uint32_t)id);
            assert_int_equal(r.trades[id], y->trades);
            if (y->n_bids + y->n_asks == 0)
                continue;
            /* the builder's truncation to the subscribed depth, as the checker does */
            ref_book_t *b = &r.book[id];
            ref_book_truncate(b, in->depth_limit);
            vh_assert_depth(b, y);
            int ps = feed_px_scale(h, (uint32_t)id), ss = feed_sz_scale(h, (uint32_t)id);
            assert_int_equal(ps, 8); /* no value of these files needs more */
            for (int i = 0; i < y->n_bids; i++) {
                int64_t px, sz;
                assert_int_equal(tg_dec_parse(y->bids[i].px, strlen(y->bids[i].px), ps, &px), 0);
                assert_int_equal(tg_dec_parse(y->bids[i].sz, strlen(y->bids[i].sz), ss, &sz), 0);
                assert_int_equal(b->bid.px[i], px);
                assert_int_equal(b->bid.sz[i], sz);
            }
            for (int i = 0; i < y->n_asks; i++) {
                int64_t px, sz;
                assert_int_equal(tg_dec_parse(y->asks[i].px, strlen(y->asks[i].px), ps, &px), 0);
                assert_int_equal(tg_dec_parse(y->asks[i].sz, strlen(y->asks[i].sz), ss, &sz), 0);
                assert_int_equal(b->ask.px[i], px);
                assert_int_equal(b->ask.sz[i], sz);
            }
            compared++;
        }
        oracle_free(&o);
        fv_free(&r);
    }
    assert_true(compared >= 4 + 2); /* at least the 2026 linear and spot books */
}

static void test_bybit_spot_is_served_by_the_same_handler_on_its_own_url(void **state)
{
    const feed_venue_t *lin = feed_venue_find("bybit"), *spot = feed_venue_find("bybit-spot");
    assert_non_null(lin);
    assert_non_null(spot);
    assert_ptr_equal(spot->on_frame, lin->on_frame);
    assert_int_not_equal(spot->variant, lin->variant);
    assert_string_equal(spot->default_url, "wss://stream.bybit.com/v5/public/spot");
    assert_string_equal(lin->default_url, "wss://stream.bybit.com/v5/public/linear");
    /* the spot recording is read as bybit-spot with no error */
    int spot_files = 0;
    for (int f = g_n_linear; f < g_n; f++) {
        fv_run_t r;
        fv_run_path(&r, g_paths[f]);
        assert_ptr_equal(r.off->venue, spot);
        assert_int_equal(fv_errors(&r.off->stats), 0);
        assert_true(TG_STAT_GET(r.off->stats.trades) > 0);
        assert_true(TG_STAT_GET(r.off->stats.snapshots) > 0);
        spot_files++;
        fv_free(&r);
    }
    assert_true(spot_files > 0);
    /* spot: at most 10 args per subscribe request */
    static const char rec[] = "# tgrec 1\n# venue: bybit-spot\n# symbols: A1,A2,A3,A4,A5,A6\n";
    fv_run_t r;
    fv_cap_t *c = fv_open_text_sends(&r, rec, sizeof(rec) - 1, 2);
    assert_string_equal(c->sent[1],
                        "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.A6\",\"publicTrade.A6\"]}");
    fv_free_captured(&r, c);
}

#define OB(kind, u, b, a)                                                                          \
    "{\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"" kind "\",\"ts\":1,\"data\":{\"s\":"          \
    "\"XRPUSDT\",\"b\":" b ",\"a\":" a ",\"u\":" #u ",\"seq\":1}}\n"

static void test_bybit_snapshot_with_u_1_after_a_restart_resets_the_chain(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: bybit\n# symbols: XRPUSDT\n"
        "1 " OB("snapshot", 100, "[[\"1.5\",\"5\"]]", "[[\"1.6\",\"5\"]]") "2 " OB(
            "delta", 101, "[[\"1.4\",\"1\"]]",
            "[]") "3 " OB("snapshot", 1, "[[\"1.2\",\"3\"]]",
                          "[[\"1.3\",\"3\"]]") "4 " OB("delta", 2, "[[\"1.1\",\"1\"]]",
                                                       "[]") "5 " OB("delta", 2,
                                                                     "[[\"1.0\",\"1\"]]",
                                                                     "[]") /* replay */
        "6 " OB("delta", 4, "[[\"0.9\",\"1\"]]", "[]");                    /* 3 missing */
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->snapshots), 2);
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 1);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    assert_int_equal(r.gap_events, 1);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2); /* 1.2 and 1.1 only: the restart cleared the book */
    assert_int_equal(b->bid.px[0], 120000000);
    assert_int_equal(b->bid.px[1], 110000000);
    fv_assert_one_gap(&r, 2, 4);
    assert_true(r.off->sent >= 2); /* unsubscribe + subscribe */
    fv_free(&r);
}

static void test_bybit_extreme_scales_are_exact_and_a_reparsed_delta_still_chains(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: bybit-spot\n# symbols: TINYUSDT,HUGEUSDT\n"
        /* first level 2 places, a later one 11: the snapshot is read again at 11 */
        "1 {\"topic\":\"orderbook.50.TINYUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"s\":"
        "\"TINYUSDT\",\"b\":[[\"0.01\",\"1\"],[\"0.00000074408\",\"0.00000001\"]],\"a\":[[\"0.02\","
        "\"90000000000\"]],\"u\":7,\"seq\":1}}\n"
        /* a delta raising it to 12 places: applied once, u chains (no replay drop) */
        "2 {\"topic\":\"orderbook.50.TINYUSDT\",\"type\":\"delta\",\"ts\":2,\"data\":{\"s\":"
        "\"TINYUSDT\",\"b\":[[\"0.011\",\"2\"],[\"0.000000000001\",\"5\"]],\"a\":[],\"u\":8,"
        "\"seq\":2}}\n"
        "3 {\"topic\":\"orderbook.50.TINYUSDT\",\"type\":\"delta\",\"ts\":3,\"data\":{\"s\":"
        "\"TINYUSDT\",\"b\":[[\"0.01\",\"0\"]],\"a\":[],\"u\":9,\"seq\":3}}\n"
        "4 {\"topic\":\"orderbook.50.HUGEUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"s\":"
        "\"HUGEUSDT\",\"b\":[[\"9999999\",\"1000000000000\"],[\"9999998.5\",\"0.5\"]],\"a\":[[\""
        "10000000.01\",\"999999999999.99\"]],\"u\":1,\"seq\":1}}\n"
        /* trades of both, in one frame: sizes 1e-8 and 1e12, prices 1e-12 and 1e7 */
        "5 {\"topic\":\"publicTrade.TINYUSDT\",\"type\":\"snapshot\",\"ts\":5,\"data\":[{\"T\":5,"
        "\"s\":\"TINYUSDT\",\"S\":\"Sell\",\"v\":\"0.00000001\",\"p\":\"0.000000000002\",\"i\":"
        "\"a\""
        "},{\"T\":5,\"s\":\"HUGEUSDT\",\"S\":\"Buy\",\"v\":\"1000000000000\",\"p\":\"10000000\","
        "\"i\":\"b\"}]}\n";
    static const vh_want_t w[] = {
        {L_, B_, "0.01", "1"},
        {L_, B_, "0.00000074408", "0.00000001"},
        {L_, A_, "0.02", "90000000000"},
        {L_, B_, "0.011", "2"},
        {L_, B_, "0.000000000001", "5"},
        {L_, B_, "0.01", "0"},
        {L_, B_, "9999999", "1000000000000"},
        {L_, B_, "9999998.5", "0.5"},
        {L_, A_, "10000000.01", "999999999999.99"},
        {T_, A_, "0.000000000002", "0.00000001"},
        {T_, B_, "10000000", "1000000000000"},
    };
    fv_run_t r;
    const feed_stats_t *s = vh_run_exact(&r, rec, sizeof(rec) - 1, w, sizeof(w) / sizeof(w[0]), 12);
    assert_true(TG_STAT_GET(s->rescales) >= 3);
    assert_int_equal(TG_STAT_GET(s->handled), 5);
    assert_int_equal(TG_STAT_GET(s->slow_path), 5); /* the abandoned parses are not counted */
    /* the delta's levels carry its u once each */
    int u8 = 0;
    for (size_t i = 0; i < r.n_ev; i++)
        u8 += r.ev[i].kind == TG_EV_LEVEL && r.ev[i].seq == 8;
    assert_int_equal(u8, 2);
    /* one TG_EVF_LAST per symbol run of the trade frame */
    assert_int_equal(r.ev[r.n_ev - 1].kind, TG_EV_TRADE);
    assert_true(r.ev[r.n_ev - 1].flags & TG_EVF_LAST);
    assert_true(r.ev[r.n_ev - 2].flags & TG_EVF_LAST);
    fv_free(&r);
}

static void test_bybit_a_value_no_scale_holds_faults_and_applies_nothing(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: bybit\n# symbols: XRPUSDT\n"
        "1 " OB("snapshot", 10, "[[\"1.5\",\"5\"]]", "[[\"1.6\",\"5\"]]") "2 " OB(
            "delta", 11, "[[\"1.4\",\"1\"],[\"1.0000000000000000001\",\"1\"]]",
            "[]") "3 "
                  "{\"topic\":\"publicTrade.XRPUSDT\",\"type\":\"snapshot\",\"ts\":5,\"data\":[{"
                  "\"T\":5,"
                  "\"s\":\"XRPUSDT\",\"S\":\"Sell\",\"v\":\"1\",\"p\":\"1.5\",\"i\":\"a\"},{\"T\":"
                  "5,\"s\":"
                  "\"XRPUSDT\",\"S\":\"Buy\",\"v\":\"100000000000000000000\",\"p\":\"1.5\",\"i\":"
                  "\"b\"}]}\n";
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->err_decimal), 2);
    assert_int_equal(TG_STAT_GET(s->unrepresentable), 2);
    assert_int_equal(TG_STAT_GET(s->trades), 0); /* all or nothing per frame */
    assert_true(fv_accounted(s));
    int fault = 0;
    for (size_t i = 0; i < r.n_ev; i++) {
        fault += r.ev[i].kind == TG_EV_GAP && (r.ev[i].flags & TG_EVF_FAULT);
        if (r.ev[i].kind == TG_EV_LEVEL)
            assert_true(r.ev[i].flags & TG_EVF_SNAPSHOT);
    }
    assert_int_equal(fault, 2);
    assert_int_equal(r.book[r.off->h.instr[0]].bid.n, 1);
    fv_free(&r);
}

static void test_bybit_instrument_metadata_raises_scales_before_the_data(void **state)
{
    /* the captures' in-band instruments-info: our symbols' tick/lot sizes set the scales */
    static const char rec[] =
        "# tgrec 1\n# venue: bybit-spot\n# symbols: MEMEUSDT,BTCUSDT\n"
        "1 {\"rest\":\"https://api.bybit.com/v5/market/instruments-info?&category=spot\","
        "\"generated\":true,\"data\":{\"retCode\":0,\"result\":{\"category\":\"spot\",\"list\":["
        "{\"symbolId\":1,\"symbol\":\"MEMEUSDT\",\"lotSizeFilter\":{\"basePrecision\":\"0.1\"},"
        "\"priceFilter\":{\"tickSize\":\"0.0000000000001\"}},"
        "{\"symbolId\":2,\"symbol\":\"BTCUSDT\",\"lotSizeFilter\":{\"basePrecision\":"
        "\"0.000001\"},\"priceFilter\":{\"tickSize\":\"0.1\"}},"
        "{\"symbolId\":3,\"symbol\":\"OTHERUSDT\",\"lotSizeFilter\":{\"basePrecision\":"
        "\"0.0000000000000001\"},\"priceFilter\":{\"tickSize\":\"0.1\"}}]}}}\n"
        "2 {\"rest\":\"https://api.bybit.com/v5/market/instruments-info?&category=spot\","
        "\"generated\":true,\"data\":{\"retCode\":0,\"result\":{\"list\":[]}}}\n";
    fv_run_t r = {0};
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_handler_t *h = &r.off->h;
    assert_int_equal(feed_px_scale(h, h->instr[0]), 13);
    assert_int_equal(feed_sz_scale(h, h->instr[0]), 8);
    assert_int_equal(feed_px_scale(h, h->instr[1]), 8);
    assert_int_equal(feed_sz_scale(h, h->instr[1]), 8);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->rescales), 1);
    assert_int_equal(TG_STAT_GET(s->handled), 1);   /* lists ours */
    assert_int_equal(TG_STAT_GET(s->unhandled), 1); /* lists none of ours */
    assert_int_equal(fv_errors(s), 0);
    assert_int_equal(TG_STAT_GET(s->frames), 2);
    fv_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bybit_books_equal_a_naive_replay_of_the_raw_frames),
        cmocka_unit_test(test_bybit_clean_recordings_have_no_gaps_and_no_errors),
        cmocka_unit_test(test_bybit_a_removed_delta_is_detected_as_one_gap),
        cmocka_unit_test(test_bybit_trades_and_acks_are_read),
        cmocka_unit_test(test_bybit_mutated_frames_never_crash_and_are_all_accounted),
        cmocka_unit_test(test_bybit_subscribes_at_most_ten_topics_per_request_and_pings),
        cmocka_unit_test(test_bybit_unreadable_level_invalidates_the_book),
        cmocka_unit_test(test_bybit_books_and_trades_equal_the_recordings_checker),
        cmocka_unit_test(test_bybit_spot_is_served_by_the_same_handler_on_its_own_url),
        cmocka_unit_test(test_bybit_snapshot_with_u_1_after_a_restart_resets_the_chain),
        cmocka_unit_test(test_bybit_extreme_scales_are_exact_and_a_reparsed_delta_still_chains),
        cmocka_unit_test(test_bybit_a_value_no_scale_holds_faults_and_applies_nothing),
        cmocka_unit_test(test_bybit_instrument_metadata_raises_scales_before_the_data),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
