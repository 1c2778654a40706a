/* SPDX-License-Identifier: MIT */
/*
 * Binance handlers (spot, USD-M, COIN-M, Binance.US) against the recordings and the tardis
 * oracle: final top-10 books, trades, zero gaps on clean data, gap detection on a stream with a
 * frame removed, fast scanner == generic parser on every frame and on mutated frames, and no
 * crash / full accounting on thousands of mutated frames. Synthetic streams: the sync rules of
 * both families, Binance.US as spot on its own hosts, and exact decimals at extreme scales
 * (11-place REST snapshots, 2- and 11-place levels in one diff, 1e-12 .. 1e7 prices, 1e-8 ..
 * 1e12 sizes, buffered diffs keeping their scale, re-parse after a scale change).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/venue_harness.h"

static char g_paths[8][512];
static int g_n;

static int setup(void **state)
{
    int a = fv_list("binance", g_paths, 8);
    a += fv_list("binance-futures", g_paths + a, 8 - a);
    g_n = a + fv_list("binance-delivery", g_paths + a, 8 - a);
    return g_n > 0 ? 0 : -1;
}

static void slow_only(feed_handler_t *h)
{
    feed_binance_set_path(h, FEED_BN_PATH_SLOW);
}

static void assert_top10_equals_oracle(const fv_run_t *r, const char *path)
{
    char op[1024];
    fv_oracle_path(path, op, sizeof(op));
    oracle_t o;
    assert_int_equal(oracle_load(op, &o), 0);
    const tg_instr_reg_t *reg = r->off->reg;
    int checked = 0;
    for (uint32_t i = 0; i < r->off->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(reg, r->off->h.instr[i]);
        const oracle_sym_t *y = oracle_find(&o, in->symbol);
        if (!y || y->n_bids + y->n_asks == 0)
            continue; /* tardis saw no book for it */
        const ref_book_t *b = &r->book[in->id];
        assert_true(b->have_snapshot);
        vh_assert_depth(b, y);
        for (int k = 0; k < y->n_bids; k++) {
            int64_t px, sz;
            int rd;
            assert_int_equal(oracle_dec(y->bids[k].px, in->px_scale, &px, &rd), 0);
            assert_int_equal(rd, 0);
            assert_int_equal(oracle_dec(y->bids[k].sz, in->sz_scale, &sz, &rd), 0);
            assert_int_equal(rd, 0);
            assert_int_equal(b->bid.px[k], px);
            assert_int_equal(b->bid.sz[k], sz);
        }
        for (int k = 0; k < y->n_asks; k++) {
            int64_t px, sz;
            int rd;
            assert_int_equal(oracle_dec(y->asks[k].px, in->px_scale, &px, &rd), 0);
            assert_int_equal(oracle_dec(y->asks[k].sz, in->sz_scale, &sz, &rd), 0);
            assert_int_equal(b->ask.px[k], px);
            assert_int_equal(b->ask.sz[k], sz);
        }
        checked++;
    }
    assert_true(checked > 0);
    oracle_free(&o);
}

/* trades per symbol counted straight from the raw lines: "e":"trade"/"aggTrade" frames,
 * minus futures trades whose X is not MARKET */
static long raw_trades(const char *path, const char *sym)
{
    size_t len;
    char *t = fv_load_text(path, &len);
    assert_non_null(t);
    char pat[96];
    snprintf(pat, sizeof(pat), "\"s\":\"%s\"", sym);
    long n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        if (!strstr(line, "\"e\":\"trade\"") && !strstr(line, "\"e\":\"aggTrade\""))
            continue;
        if (!strstr(line, pat))
            continue;
        if (strstr(line, "\"X\":") && !strstr(line, "\"X\":\"MARKET\""))
            continue;
        n++;
    }
    free(t);
    return n;
}

static void test_binance_books_match_the_oracle_top10_on_every_recording(void **state)
{
    for (int f = 0; f < g_n; f++) {
        fv_run_t r = {0};
        assert_int_equal(fv_run(&r, g_paths[f], NULL, 0, NULL), 0);
        assert_top10_equals_oracle(&r, g_paths[f]);
        fv_free(&r);
    }
}

static void test_binance_clean_recordings_have_no_gaps_and_no_errors(void **state)
{
    for (int f = 0; f < g_n; f++) {
        fv_run_t r = {0};
        assert_int_equal(fv_run(&r, g_paths[f], NULL, 0, NULL), 0);
        const feed_stats_t *s = &r.off->stats;
        assert_int_equal(TG_STAT_GET(s->gaps), 0);
        assert_int_equal(r.gap_events, 0);
        assert_int_equal(fv_errors(s), 0);
        assert_true(fv_accounted(s));
        assert_int_equal(TG_STAT_GET(s->frames), r.off->rec->data_lines);
        assert_int_equal(TG_STAT_GET(s->snapshots), r.off->h.n_instr);
        assert_int_equal(r.clears, r.off->h.n_instr);
        fv_free(&r);
    }
}

static void test_binance_trades_match_the_oracle_or_the_raw_lines(void **state)
{
    for (int f = 0; f < g_n; f++) {
        fv_run_t r = {0};
        assert_int_equal(fv_run(&r, g_paths[f], NULL, 0, NULL), 0);
        char op[1024];
        fv_oracle_path(g_paths[f], op, sizeof(op));
        oracle_t o;
        assert_int_equal(oracle_load(op, &o), 0);
        long total = 0;
        for (uint32_t i = 0; i < r.off->h.n_instr; i++) {
            const tg_instr_t *in = tg_instr_reg_get(r.off->reg, r.off->h.instr[i]);
            long raw = raw_trades(g_paths[f], in->symbol);
            assert_int_equal(r.trades[in->id], raw);
            total += r.trades[in->id];
            const oracle_sym_t *y = oracle_find(&o, in->symbol);
            if (!y || y->trades == 0)
                continue; /* tardis reads no aggTrade */
            assert_int_equal(r.trades[in->id], y->trades);
            assert_int_equal(r.buys[in->id], y->buy_trades);
            assert_int_equal(r.sells[in->id], y->sell_trades);
            int64_t amt;
            assert_int_equal(oracle_dec(y->trade_amount, in->sz_scale, &amt, NULL), 0);
            /* the oracle's sum is a float64 sum: rounded to the lot scale it must agree */
            assert_int_equal(r.amount[in->id], amt);
        }
        assert_true(total > 0);
        oracle_free(&o);
        fv_free(&r);
    }
}

static void test_binance_fast_and_generic_paths_emit_identical_events(void **state)
{
    for (int f = 0; f < g_n; f++) {
        fv_run_t a = {0}, b = {0};
        a.keep_events = b.keep_events = 1;
        assert_int_equal(fv_run(&a, g_paths[f], NULL, 0, NULL), 0);
        assert_int_equal(fv_run(&b, g_paths[f], NULL, 0, slow_only), 0);
        assert_true(TG_STAT_GET(a.off->stats.fast_path) >
                    TG_STAT_GET(a.off->stats.frames) * 99 / 100);
        assert_int_equal(TG_STAT_GET(b.off->stats.fast_path), 0);
        assert_int_equal(a.n_ev, b.n_ev);
        assert_true(a.n_ev > 1000);
        assert_memory_equal(a.ev, b.ev, a.n_ev * sizeof(tg_event_t));
        fv_free(&a);
        fv_free(&b);
    }
}

static void assert_msgs_equal(const bn_msg_t *x, const int64_t *xl, const bn_msg_t *y,
                              const int64_t *yl)
{
    assert_int_equal(x->type, y->type);
    assert_int_equal(x->sym, y->sym);
    assert_int_equal(x->U, y->U);
    assert_int_equal(x->u, y->u);
    assert_int_equal(x->pu, y->pu);
    assert_int_equal(x->has_pu, y->has_pu);
    assert_int_equal(x->ts_ms, y->ts_ms);
    assert_int_equal(x->trade_id, y->trade_id);
    assert_int_equal(x->px, y->px);
    assert_int_equal(x->qty, y->qty);
    assert_int_equal(x->side, y->side);
    assert_int_equal(x->market, y->market);
    assert_int_equal(x->n_bid, y->n_bid);
    assert_int_equal(x->n_ask, y->n_ask);
    if (x->n_bid)
        assert_memory_equal(xl, yl, 16 * (size_t)x->n_bid);
    (void)xl;
}

/* Both parsers on one frame: if the scanner accepts, the generic parser must accept and agree.
 * Returns 1 if the scanner accepted. */
static int compare_paths(feed_bn_t *bn, const char *frame, size_t len, int64_t *copy)
{
    bn_msg_t fm, sm;
    if (feed_binance__scan(bn, frame, len, &fm) != 0)
        return 0;
    /* keep the scanner's levels: the generic parser reuses the scratch */
    size_t nl = (size_t)fm.n_bid + fm.n_ask;
    if (fm.n_bid)
        memcpy(copy, fm.bid, 16 * (size_t)fm.n_bid);
    if (fm.n_ask)
        memcpy(copy + 2 * (size_t)fm.n_bid, fm.ask, 16 * (size_t)fm.n_ask);
    int rc = feed_binance__parse(bn, frame, len, -1, &sm);
    assert_int_equal(rc, 0);
    assert_msgs_equal(&fm, copy, &sm, sm.bid);
    if (fm.n_ask)
        assert_memory_equal(copy + 2 * (size_t)fm.n_bid, sm.ask, 16 * (size_t)fm.n_ask);
    (void)nl;
    return 1;
}

static void test_binance_scanner_agrees_with_the_generic_parser_on_every_frame(void **state)
{
    int64_t *copy = malloc(16 * (size_t)(1u << 15));
    for (int f = 0; f < g_n; f++) {
        feed_offline_t *o;
        assert_int_equal(feed_offline_open(&o, g_paths[f], NULL, NULL, 0), 0);
        feed_bn_t *bn = o->h.vstate;
        int64_t ts;
        const char *frame;
        size_t len, n = 0, fast = 0;
        while (feed_tgrec_next(o->rec, &ts, &frame, &len) == 1) {
            int ok = compare_paths(bn, frame, len, copy);
            /* kline (COIN-M file) nests an object: generic parser, counted unhandled */
            if (!ok && memmem(frame, len, "\"e\":\"kline\"", 11))
                continue;
            fast += (size_t)ok;
            n++;
        }
        assert_true(n > 0);
        assert_int_equal(fast, n); /* every other recorded layout is a fast-path layout */
        feed_offline_close(&o);
    }
    free(copy);
}

static void test_binance_scanner_agrees_with_the_generic_parser_on_mutated_frames(void **state)
{
    int64_t *copy = malloc(16 * (size_t)(1u << 15));
    char *buf = malloc(1 << 20);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t accepted = 0, total = 0;
    for (int f = 0; f < g_n; f++) {
        feed_offline_t *o;
        assert_int_equal(feed_offline_open(&o, g_paths[f], NULL, NULL, 0), 0);
        feed_bn_t *bn = o->h.vstate;
        int64_t ts;
        const char *frame;
        size_t len, i = 0;
        while (feed_tgrec_next(o->rec, &ts, &frame, &len) == 1) {
            if (i++ % 7 != 0 || len + 32 > (1 << 20))
                continue;
            for (int k = 0; k < 3; k++) {
                size_t n = fv_mutate(frame, len, buf, &seed);
                accepted += (size_t)compare_paths(bn, buf, n, copy);
                total++;
            }
        }
        feed_offline_close(&o);
    }
    assert_true(total > 5000);
    assert_true(accepted > 0 && accepted < total);
    free(buf);
    free(copy);
}

/* remove the `which`-th depthUpdate line before the end (after the last snapshot) */
static char *drop_depth_line(const char *path, int which, size_t *len_out)
{
    size_t len = 0;
    char *t = fv_load_text(path, &len);
    assert_non_null(t);
    /* after the last snapshot, so every book is live and the hole cannot be stale */
    char *snap = strstr(t, "@depthSnapshot");
    assert_non_null(snap);
    for (char *q; (q = strstr(snap + 1, "@depthSnapshot"));)
        snap = q;
    /* counted from the end: near the start, a recorder's backlog can still hold diffs older
       than the snapshot of their symbol (COIN-M file), whose loss would not be a gap */
    int n = 0;
    for (char *q = snap; (q = strstr(q + 1, "\"e\":\"depthUpdate\"")); n++)
        ;
    assert_true(n > which);
    char *p = snap;
    for (int i = 0; i < n - which; i++) {
        p = strstr(p + 1, "\"e\":\"depthUpdate\"");
        assert_non_null(p);
    }
    char *ls = p;
    while (ls > t && ls[-1] != '\n')
        ls--;
    char *le = strchr(p, '\n');
    assert_non_null(le);
    memmove(ls, le + 1, len - (size_t)(le + 1 - t) + 1);
    *len_out = len - (size_t)(le + 1 - ls);
    return t;
}

static void test_binance_a_removed_depth_frame_is_detected_as_one_gap(void **state)
{
    for (int f = 0; f < g_n; f++) {
        size_t len = 0;
        char *t = drop_depth_line(g_paths[f], 40, &len);
        fv_run_t r = {0};
        r.keep_events = 1;
        assert_int_equal(fv_run(&r, NULL, t, len, NULL), 0);
        const feed_stats_t *s = &r.off->stats;
        assert_int_equal(TG_STAT_GET(s->gaps), 1);
        assert_int_equal(r.gap_events, 1);
        assert_int_equal(TG_STAT_GET(s->resyncs), 1);
        assert_true(r.off->rest_gets > r.off->h.n_instr); /* asked for a new snapshot */
        /* after the gap that instrument gets no more levels (no later in-band snapshot) */
        uint32_t gi = UINT32_MAX;
        for (size_t i = 0; i < r.n_ev; i++) {
            const tg_event_t *e = &r.ev[i];
            if (e->kind == TG_EV_GAP) {
                gi = e->instr;
                assert_true(e->u.aux > e->seq); /* got something past the last good id */
            } else if (gi != UINT32_MAX && e->instr == gi) {
                assert_int_not_equal(e->kind, TG_EV_LEVEL);
            }
        }
        assert_int_not_equal(gi, UINT32_MAX);
        assert_int_equal(fv_errors(s), 0);
        fv_free(&r);
        free(t);
    }
}

static void test_binance_mutated_frames_never_crash_and_are_all_accounted(void **state)
{
    uint64_t seed = 12345; /* one sequence across the files */
    for (int f = 0; f < g_n; f++) {
        feed_stats_t st;
        size_t fed = fv_fuzz_ex(g_paths[f], 6000, &seed, 0, 1 << 20, &st);
        assert_true(fed > 0);
        assert_int_equal(TG_STAT_GET(st.frames), fed);
        assert_true(fv_accounted(&st));
        assert_true(fv_errors(&st) > 0);
    }
}

/* ---- the sync state machine on hand-written streams ---- */

#define D(U, u, b, a)                                                                              \
    "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1000,\"s\":"        \
    "\"BTCUSDT\",\"U\":" #U ",\"u\":" #u ",\"b\":" b ",\"a\":" a "}}\n"
#define DF(U, u, pu, b, a)                                                                         \
    "{\"stream\":\"btcusdt@depth@0ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1000,\"T\":999,"      \
    "\"s\":\"BTCUSDT\",\"U\":" #U ",\"u\":" #u ",\"pu\":" #pu ",\"b\":" b ",\"a\":" a "}}\n"
#define SNAP(L, b, a)                                                                              \
    "{\"stream\":\"btcusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":" #L      \
    ",\"bids\":" b ",\"asks\":" a "}}\n"

static const char spot_stream[] =
    "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
    "1 " D(90, 95, "[[\"1.0\",\"1\"]]", "[]")                 /* stale once L=100 is known */
    "2 " D(96, 102, "[[\"2.0\",\"1\"]]", "[[\"3.0\",\"1\"]]") /* bridges L=100 */
    "3 " SNAP(50, "[[\"1.1\",\"9\"]]", "[[\"3.9\",\"9\"]]")   /* older than the buffer: refused */
    "4 " SNAP(100, "[[\"1.5\",\"5\"]]",
              "[[\"3.5\",\"5\"]]")              /* applied, then 1 dropped, 2 applied */
    "5 " D(103, 105, "[[\"2.0\",\"0\"]]", "[]") /* chains: deletes 2.0 */
    "6 " D(107, 110, "[[\"2.2\",\"1\"]]", "[]") /* 106 missing: GAP, buffered */
    "7 " D(111, 112, "[[\"1.6\",\"2\"]]", "[]") /* buffered */
    "8 " SNAP(111, "[[\"1.7\",\"1\"]]", "[[\"3.3\",\"1\"]]") /* 6 stale, 7 bridges */
    "9 " D(113, 113, "[]", "[[\"3.2\",\"4\"]]")              /* chains */
    "10 " SNAP(120, "[[\"9.9\",\"9\"]]", "[]");              /* LIVE: ignored */

static void test_binance_spot_sync_buffers_bridges_detects_gaps_and_resyncs(void **state)
{
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, spot_stream, sizeof(spot_stream) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->snapshots), 2);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    assert_int_equal(TG_STAT_GET(s->resyncs), 2);       /* refused snapshot + gap */
    assert_int_equal(TG_STAT_GET(s->buffered), 4);      /* diffs 1, 2, 6, 7 */
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 2); /* diffs 1 and 6 */
    assert_int_equal(TG_STAT_GET(s->unhandled), 1);     /* the snapshot while LIVE */
    assert_int_equal(fv_errors(s), 0);
    assert_true(fv_accounted(s));
    /* the gap event: last good u 105, received U 107 */
    int gaps = 0;
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_GAP) {
            assert_int_equal(r.ev[i].seq, 105);
            assert_int_equal(r.ev[i].u.aux, 107);
            assert_true(r.ev[i].flags & TG_EVF_LAST);
            gaps++;
        }
    assert_int_equal(gaps, 1);
    /* final book: snapshot 111 + diff 7 + diff 9 */
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2);
    assert_int_equal(b->bid.px[0], 170000000);
    assert_int_equal(b->bid.sz[0], 100000000);
    assert_int_equal(b->bid.px[1], 160000000);
    assert_int_equal(b->bid.sz[1], 200000000);
    assert_int_equal(b->ask.n, 2);
    assert_int_equal(b->ask.px[0], 320000000);
    assert_int_equal(b->ask.sz[0], 400000000);
    assert_int_equal(b->ask.px[1], 330000000);
    /* every message ends with TG_EVF_LAST; levels carry their diff's u */
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_LEVEL && r.ev[i].price == 320000000)
            assert_int_equal(r.ev[i].seq, 113);
    assert_true(r.ev[r.n_ev - 1].flags & TG_EVF_LAST);
    fv_free(&r);
}

static const char futures_stream[] =
    "# tgrec 1\n# venue: binance-futures\n# symbols: BTCUSDT\n"
    "1 " DF(90, 95, 89, "[[\"1.0\",\"1\"]]", "[]")  /* u < L: stale */
    "2 " DF(96, 100, 95, "[[\"2.0\",\"1\"]]", "[]") /* U <= L <= u: bridges (u == L kept) */
    "3 " SNAP(100, "[[\"1.5\",\"5\"]]", "[[\"3.5\",\"5\"]]") "4 " DF(
        101, 105, 100, "[[\"2.0\",\"0\"]]", "[]")      /* pu == prev u */
    "5 " DF(106, 108, 104, "[[\"2.5\",\"1\"]]", "[]"); /* pu 104 != 105: GAP */

static void test_binance_futures_sync_uses_pu_and_keeps_u_equal_to_the_snapshot(void **state)
{
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, futures_stream, sizeof(futures_stream) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->snapshots), 1);
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 1);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    int found = 0;
    for (size_t i = 0; i < r.n_ev; i++) {
        if (r.ev[i].kind == TG_EV_GAP) {
            assert_int_equal(r.ev[i].seq, 105);
            assert_int_equal(r.ev[i].u.aux, 104);
            found++;
        }
        if (r.ev[i].kind == TG_EV_LEVEL && !(r.ev[i].flags & TG_EVF_SNAPSHOT))
            assert_int_equal(r.ev[i].ts_exch, 999000000); /* futures: T, not E */
    }
    assert_int_equal(found, 1);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 1); /* 2.0 added by diff 2, deleted by diff 4; 2.5 never */
    assert_int_equal(b->bid.px[0], 150000000);
    fv_free(&r);
}

static void test_binance_spot_overlapping_diff_breaks_the_chain(void **state)
{
    /* U must be exactly prev u + 1 once live: an overlap is as wrong as a hole */
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " D(
            101, 105, "[[\"2.0\",\"1\"]]", "[]") "3 " D(104, 108, "[[\"2.1\",\"1\"]]", "[]");
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    assert_int_equal(TG_STAT_GET(r.off->stats.gaps), 1);
    assert_int_equal(r.ev[r.n_ev - 1].kind, TG_EV_GAP);
    assert_int_equal(r.ev[r.n_ev - 1].seq, 105);
    assert_int_equal(r.ev[r.n_ev - 1].u.aux, 104);
    fv_free(&r);
}

static void test_binance_rest_snapshots_are_matched_to_their_request(void **state)
{
    static const char rec[] = "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
                              "1 " D(96, 102, "[[\"2.0\",\"1\"]]", "[]");
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    feed_handler_t *h = &r.off->h;
    assert_int_equal(r.off->rest_gets, 1); /* on_open asked for the snapshot */
    static const char body[] = "{\"lastUpdateId\":100,\"bids\":[[\"1.5\",\"5\"]],\"asks\":[]}";
    feed_bn_t *bn = h->vstate;
    uint64_t tag = (uint64_t)bn->gen << 32;
    /* an answer to a previous connection is ignored */
    assert_int_equal(feed_rest(h, tag - (1ull << 32), 200, body, sizeof(body) - 1, 5, 5), 0);
    assert_int_equal(TG_STAT_GET(r.off->stats.snapshots), 0);
    /* a refused request is a venue error, retried on the tick */
    assert_true(feed_rest(h, tag, 503, "busy", 4, 5, 5) < 0);
    assert_int_equal(TG_STAT_GET(r.off->stats.err_venue), 1);
    h->venue->on_tick(h, 10000000000LL);
    assert_int_equal(r.off->rest_gets, 2);
    assert_int_equal(feed_rest(h, tag, 200, body, sizeof(body) - 1, 5, 5), 0);
    feed_flush(h);
    assert_int_equal(TG_STAT_GET(r.off->stats.snapshots), 1);
    const ref_book_t *b = &r.book[h->instr[0]];
    assert_int_equal(b->bid.n, 2); /* snapshot 1.5 + buffered diff 2.0 */
    int rest = 0;
    for (size_t i = 0; i < r.n_ev; i++)
        rest += r.ev[i].kind == TG_EV_BOOK_CLEAR && (r.ev[i].flags & TG_EVF_REST);
    assert_int_equal(rest, 1);
    fv_free(&r);
}

static void test_binance_on_open_subscribes_and_requests_one_snapshot_per_symbol(void **state)
{
    for (int f = 0; f < g_n; f++) {
        feed_offline_t *o;
        assert_int_equal(feed_offline_open(&o, g_paths[f], NULL, NULL, 0), 0);
        fv_cap_t *c = calloc(1, sizeof(*c));
        fv_capture(&o->h, c);
        assert_int_equal(o->venue->on_open(&o->h), 0);
        bool fut = o->venue->variant == FEED_BN_USDM || o->venue->variant == FEED_BN_COINM;
        const char *route = o->venue->variant == FEED_BN_USDM    ? "/fapi/v1/depth"
                            : o->venue->variant == FEED_BN_COINM ? "/dapi/v1/depth"
                                                                 : "/api/v3/depth";
        assert_int_equal(c->n_sent, 1);
        assert_int_equal(strncmp(c->sent[0], "{\"method\":\"SUBSCRIBE\",\"params\":[\"", 32), 0);
        assert_non_null(strstr(c->sent[0], "],\"id\":1}"));
        assert_int_equal(c->n_rest, (int)o->h.n_instr);
        for (uint32_t i = 0; i < o->h.n_instr; i++) {
            const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
            char want[160], lower[64];
            size_t n = strlen(in->symbol);
            for (size_t k = 0; k <= n; k++)
                lower[k] =
                    (char)((in->symbol[k] >= 'A' && in->symbol[k] <= 'Z') ? in->symbol[k] + 32
                                                                          : in->symbol[k]);
            snprintf(want, sizeof(want), "\"%s@depth@100ms\"", lower);
            assert_non_null(strstr(c->sent[0], want));
            snprintf(want, sizeof(want), "\"%s@%s\"", lower, fut ? "aggTrade" : "trade");
            assert_non_null(strstr(c->sent[0], want));
            snprintf(want, sizeof(want), "%s?symbol=%s&limit=1000", route, in->symbol);
            assert_string_equal(c->rest[i], want);
        }
        free(c);
        feed_offline_close(&o);
    }
}

static void test_binance_error_logs_are_rate_limited(void **state)
{
    feed_offline_t *o;
    assert_int_equal(feed_offline_open(&o, g_paths[0], NULL, NULL, 0), 0);
    fv_cap_t *c = calloc(1, sizeof(*c));
    fv_capture(&o->h, c);
    for (int i = 0; i < 1000; i++) /* 1000 bad frames within one second */
        feed_frame(&o->h, "{\"stream\":", 10, 1000000000LL + i, 1000000000LL + i);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1000);
    assert_true(c->logs >= 1 && c->logs <= 25);
    int before = c->logs;
    feed_frame(&o->h, "{", 1, 30000000000LL, 30000000000LL); /* next window */
    assert_int_equal(c->logs, before + 2);                   /* "N suppressed" + the new line */
    free(c);
    feed_offline_close(&o);
}

static void test_binance_unreadable_level_invalidates_the_book(void **state)
{
    /* a price tg_dec rejects (not a number) in a live diff: nothing of that diff is applied,
     * GAP + resync, and later diffs wait for a new snapshot */
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " D(
            101, 105, "[[\"2.0\",\"1\"]]",
            "[]") "3 " D(106, 107, "[[\"2.1\",\"1\"],[\"2.00000000x\",\"1\"]]",
                         "[]") "4 " D(108, 109, "[[\"2.2\",\"1\"]]",
                                      "[]") "5 "
                                            "{\"stream\":\"nosuch@trade\",\"data\":{\"e\":"
                                            "\"trade\",\"E\":1,"
                                            "\"s\":\"NOSUCH\",\"t\":1,\"p\":\"1\",\"q\":\"1\","
                                            "\"T\":1,\"m\":true}}\n"
                                            "6 "
                                            "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":"
                                            "\"trade\",\"E\":1,"
                                            "\"s\":\"BTCUSDT\",\"t\":99999999999999999999,\"p\":"
                                            "\"1\",\"q\":\"1\","
                                            "\"T\":1,\"m\":true}}\n";
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->err_decimal), 1);
    assert_int_equal(TG_STAT_GET(s->err_symbol), 1);
    assert_int_equal(TG_STAT_GET(s->err_field), 1); /* 20-digit trade id */
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    assert_int_equal(TG_STAT_GET(s->resyncs), 1);
    assert_int_equal(TG_STAT_GET(s->buffered), 1); /* diff 4 waits for a snapshot */
    assert_int_equal(TG_STAT_GET(s->trades), 0);
    assert_true(fv_accounted(s));
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2); /* 1.5 and 2.0: nothing of diff 3 or 4 */
    assert_int_equal(b->bid.px[0], 200000000);
    assert_int_equal(r.gap_events, 1);
    fv_free(&r);
}

/* ---- Binance.US, COIN-M, subscribe pacing ---- */

static void test_binance_us_behaves_as_spot_on_its_own_hosts(void **state)
{
    const feed_venue_t *v = feed_venue_find("binance-us");
    assert_non_null(v);
    assert_int_equal(v->variant, FEED_BN_US);
    assert_string_equal(v->default_url, "wss://stream.binance.us:9443/stream");
    assert_string_equal(v->rest_host, "api.binance.us");
    assert_int_equal(v->max_sends_per_s, 5);
    /* spot rules: u <= L stale, U <= L+1 <= u bridges, then U == prev u + 1; pu is ignored */
    static const char rec[] =
        "# tgrec 1\n# venue: binance-us\n# symbols: BTCUSD\n"
        "1 {\"stream\":\"btcusd@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":100,"
        "\"bids\":[[\"1.5\",\"5\"]],\"asks\":[[\"3.5\",\"5\"]]}}\n"
        "2 {\"stream\":\"btcusd@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"s\":"
        "\"BTCUSD\",\"U\":95,\"u\":100,\"b\":[[\"1.0\",\"1\"]],\"a\":[]}}\n" /* u == L: stale */
        "3 {\"stream\":\"btcusd@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":2,\"s\":"
        "\"BTCUSD\",\"U\":101,\"u\":103,\"pu\":7,\"b\":[[\"2.0\",\"1\"]],\"a\":[]}}\n"
        "4 {\"stream\":\"btcusd@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":3,\"s\":"
        "\"BTCUSD\",\"U\":105,\"u\":106,\"b\":[[\"2.1\",\"1\"]],\"a\":[]}}\n" /* 104 missing */
        "5 {\"stream\":\"btcusd@trade\",\"data\":{\"e\":\"trade\",\"E\":4,\"s\":\"BTCUSD\",\"t\":9,"
        "\"p\":\"2.05\",\"q\":\"0.5\",\"T\":4,\"m\":false,\"M\":true}}\n";
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_ptr_equal(r.off->venue, v);
    assert_int_equal(TG_STAT_GET(s->snapshots), 1);
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 1);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    assert_int_equal(TG_STAT_GET(s->trades), 1);
    assert_int_equal(fv_errors(s), 0);
    assert_true(fv_accounted(s));
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2); /* 1.5 + 2.0; neither 1.0 (stale) nor 2.1 (gap) */
    assert_int_equal(b->bid.px[0], 200000000);
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_GAP) {
            assert_int_equal(r.ev[i].seq, 103);
            assert_int_equal(r.ev[i].u.aux, 105); /* spot: the U received */
        }
    /* its own hosts: subscribes @trade, snapshots from /api/v3/depth (on api.binance.us) */
    fv_cap_t *c = calloc(1, sizeof(*c));
    fv_capture(&r.off->h, c);
    assert_int_equal(v->on_open(&r.off->h), 0);
    assert_int_equal(c->n_sent, 1);
    assert_string_equal(c->sent[0], "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusd@depth@100ms\","
                                    "\"btcusd@trade\"],\"id\":1}");
    assert_int_equal(c->n_rest, 1);
    assert_string_equal(c->rest[0], "/api/v3/depth?symbol=BTCUSD&limit=1000");
    char key[64];
    assert_int_equal(v->rest_key(c->rest[0], key, sizeof(key)), 0);
    assert_string_equal(key, "btcusd");
    free(c);
    fv_free(&r);
}

static void test_binance_delivery_is_coin_m_with_futures_rules(void **state)
{
    const feed_venue_t *v = feed_venue_find("binance-delivery");
    assert_non_null(v);
    assert_ptr_equal(feed_venue_find("binance-coin-m"), v);
    assert_int_equal(v->variant, FEED_BN_COINM);
    assert_string_equal(v->default_url, "wss://dstream.binance.com/stream");
    assert_string_equal(v->rest_host, "dapi.binance.com");
    assert_int_equal(v->max_symbols_per_conn, 100); /* 200 streams, 2 per symbol */
    assert_int_equal(v->max_sends_per_s, 10);
    /* COIN-M frames carry "ps" (pair) and REST bodies "symbol"/"pair": still the fast path */
    static const char rec[] =
        "# tgrec 1\n# venue: binance-delivery\n# symbols: BTCUSD_PERP\n"
        "1 {\"stream\":\"btcusd_perp@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":5,\"T\":4,"
        "\"s\":\"BTCUSD_PERP\",\"ps\":\"BTCUSD\",\"U\":95,\"u\":100,\"pu\":94,\"b\":[[\"30000.1\","
        "\"10\"]],\"a\":[]}}\n" /* U <= L <= u: bridges the snapshot */
        "2 {\"stream\":\"btcusd_perp@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":"
        "100,\"E\":6,\"T\":5,\"symbol\":\"BTCUSD_PERP\",\"pair\":\"BTCUSD\",\"bids\":[[\"30000.0\","
        "\"5\"]],\"asks\":[[\"30001.0\",\"7\"]]}}\n"
        "3 {\"stream\":\"btcusd_perp@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":7,\"T\":6,"
        "\"s\":\"BTCUSD_PERP\",\"ps\":\"BTCUSD\",\"U\":101,\"u\":104,\"pu\":100,\"b\":[],\"a\":[[\""
        "30001.0\",\"0\"]]}}\n"
        "4 {\"stream\":\"btcusd_perp@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":8,\"T\":7,"
        "\"s\":\"BTCUSD_PERP\",\"ps\":\"BTCUSD\",\"U\":106,\"u\":107,\"pu\":105,\"b\":[],\"a\":[]}}"
        "\n"
        "5 "
        "{\"stream\":\"btcusd_perp@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":9,\"a\":77,\"s\":"
        "\"BTCUSD_PERP\",\"p\":\"30000.5\",\"q\":\"3\",\"f\":1,\"l\":2,\"T\":9,\"m\":true}}\n";
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->fast_path), 5);
    assert_int_equal(TG_STAT_GET(s->gaps), 1); /* pu 105 != 104 */
    assert_int_equal(TG_STAT_GET(s->trades), 1);
    assert_int_equal(fv_errors(s), 0);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2);
    assert_int_equal(b->ask.n, 0);
    int gaps = 0;
    for (size_t i = 0; i < r.n_ev; i++) {
        if (r.ev[i].kind == TG_EV_GAP) {
            assert_int_equal(r.ev[i].seq, 104);
            assert_int_equal(r.ev[i].u.aux, 105); /* futures: the pu received */
            gaps++;
        }
        if (r.ev[i].kind == TG_EV_TRADE) {
            assert_int_equal(r.ev[i].side, TG_SIDE_SELL);
            assert_int_equal(r.ev[i].u.trade_id, 77);
        }
    }
    assert_int_equal(gaps, 1);
    assert_true(r.off->rest_gets >= 2); /* on_open + the resync */
    fv_cap_t *c = calloc(1, sizeof(*c));
    fv_capture(&r.off->h, c);
    assert_int_equal(v->on_open(&r.off->h), 0);
    assert_string_equal(c->sent[0], "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusd_perp@depth@"
                                    "100ms\",\"btcusd_perp@aggTrade\"],\"id\":1}");
    assert_string_equal(c->rest[0], "/dapi/v1/depth?symbol=BTCUSD_PERP&limit=1000");
    free(c);
    fv_free(&r);
}

typedef struct big_cap {
    char text[1 << 16];
    size_t len;
    int n, rests;
} big_cap_t;

static int big_send(void *tctx, const char *text, size_t len)
{
    big_cap_t *c = tctx;
    if (c->len + len + 1 < sizeof(c->text)) {
        memcpy(c->text + c->len, text, len);
        c->len += len;
        c->text[c->len] = 0;
    }
    c->n++;
    return 0;
}

static int big_rest(void *tctx, const char *path, uint64_t tag)
{
    ((big_cap_t *)tctx)->rests++;
    return 0;
}

static void test_binance_subscribes_are_paced_to_the_message_limit(void **state)
{
    /* 450 spot symbols: 900 streams in 4 KiB messages, at most 4 a second (5 minus a pong) */
    size_t cap = 64 + 450 * 16;
    char *rec = malloc(cap);
    size_t n = (size_t)snprintf(rec, cap, "# tgrec 1\n# venue: binance\n# symbols: ");
    for (int i = 0; i < 450; i++)
        n += (size_t)snprintf(rec + n, cap - n, "%sS%03dUSDT", i ? "," : "", i);
    n += (size_t)snprintf(rec + n, cap - n, "\n");
    fv_run_t r = {0};
    assert_int_equal(fv_run(&r, NULL, rec, n, NULL), 0);
    feed_handler_t *h = &r.off->h;
    fv_cap_t *c = calloc(1, sizeof(*c));
    fv_capture(h, c);
    big_cap_t *big = calloc(1, sizeof(*big));
    h->send = big_send; /* messages of up to 4 KiB */
    h->tctx = big;
    h->rest_get = big_rest;
    assert_int_equal(h->venue->on_open(h), 0);
    assert_int_equal(r.off->h.n_instr, 450);
    assert_int_equal(big->n, 4);
    assert_int_equal(big->rests, 450);
    int total = 4;
    for (int t = 1; t < 10; t++) {
        int before = big->n;
        h->venue->on_tick(h, (int64_t)t * 1000000000LL);
        assert_true(big->n - before <= 4);
        total = big->n;
    }
    assert_true(total >= 5 && total <= 16);
    /* ids consecutive, each message <= 4 KiB, every stream asked for exactly once */
    char *all = big->text;
    int msgs = 0;
    for (char *m = all; (m = strstr(m, "{\"method\":\"SUBSCRIBE\"")); m++) {
        char id[32];
        snprintf(id, sizeof(id), "],\"id\":%d}", ++msgs);
        char *e = strstr(m, id);
        assert_non_null(e);
        assert_true(e - m < 4096);
    }
    assert_int_equal(msgs, total);
    for (int i = 0; i < 450; i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"s%03dusdt@depth@100ms\",\"s%03dusdt@trade\"", i, i);
        char *p = strstr(all, want);
        assert_non_null(p);
        assert_null(strstr(p + 1, want));
    }
    h->venue->on_tick(h, 20000000000LL);
    assert_int_equal(big->n, total); /* nothing left */
    free(big);
    free(c);
    fv_free(&r);
    free(rec);
}

/* ---- exact decimals at every scale ---- */

static void feed_text(feed_handler_t *h, const char *frame)
{
    feed_frame(h, frame, strlen(frame), 7, 7);
    feed_flush(h);
}

#define L_ TG_EV_LEVEL
#define T_ TG_EV_TRADE
#define B_ TG_SIDE_BID
#define A_ TG_SIDE_ASK

static void test_binance_rest_snapshot_of_11_places_and_a_diff_mixing_2_and_11(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: SHIBUSDT,PEPEUSDT\n"
        "1 {\"stream\":\"pepeusdt@depthSnapshot\",\"generated\":true,\"data\":{"
        "\"lastUpdateId\":10,\"bids\":[[\"12.34\",\"1.5\"]],\"asks\":[[\""
        "12.35\",\"2\"]]}}\n";
    for (int path = 0; path < 2; path++) {
        fv_run_t r = {0};
        r.keep_events = 1;
        assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, path ? slow_only : NULL), 0);
        feed_handler_t *h = &r.off->h;
        uint32_t shib = h->instr[0], pepe = h->instr[1];
        assert_int_equal(feed_px_scale(h, pepe), 8); /* "12.34" needs no more */
        /* the REST answer for SHIBUSDT (symbol 0 of this connection): 11-place prices */
        static const char body[] =
            "{\"lastUpdateId\":100,\"bids\":[[\"0.00000074408\",\"1000000000.5\"],[\"0."
            "00000074407\","
            "\"0.00000001\"]],\"asks\":[[\"0.00000074409\",\"12345678.12345678\"]]}";
        feed_bn_t *bn = h->vstate;
        size_t from = r.n_ev;
        assert_int_equal(feed_rest(h, (uint64_t)bn->gen << 32, 200, body, sizeof(body) - 1, 5, 5),
                         0);
        feed_flush(h);
        assert_int_equal(feed_px_scale(h, shib), 11);
        assert_int_equal(feed_sz_scale(h, shib), 8);
        static const vh_want_t w1[] = {{L_, B_, "0.00000074408", "1000000000.5"},
                                       {L_, B_, "0.00000074407", "0.00000001"},
                                       {L_, A_, "0.00000074409", "12345678.12345678"}};
        vh_assert_levels(&r, from, w1, 3);
        /* PEPEUSDT (live at scale 8): one diff, first level 2 places, a later one 11 */
        from = r.n_ev;
        feed_text(h,
                  "{\"stream\":\"pepeusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,"
                  "\"s\":\"PEPEUSDT\",\"U\":11,\"u\":12,\"b\":[[\"12.33\",\"3\"],[\"0.00000074411\""
                  ",\"7.25\"]],\"a\":[[\"12.36\",\"0.00000001\"],[\"99999.99\",\"1e3\"]]}}");
        assert_int_equal(feed_px_scale(h, pepe), 11);
        static const vh_want_t w2[] = {{L_, B_, "12.33", "3"},
                                       {L_, B_, "0.00000074411", "7.25"},
                                       {L_, A_, "12.36", "0.00000001"},
                                       {L_, A_, "99999.99", "1000"}};
        vh_assert_levels(&r, from, w2, 4);
        for (size_t i = from; i < r.n_ev; i++)
            assert_int_equal(r.ev[i].seq, 12); /* applied once, after the re-parse */
        /* SHIBUSDT diff at its new scale, trade at 11 places */
        from = r.n_ev;
        feed_text(h, "{\"stream\":\"shibusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,"
                     "\"s\":\"SHIBUSDT\",\"U\":101,\"u\":101,\"b\":[[\"0.00000074408\",\"0\"]],"
                     "\"a\":[]}}");
        feed_text(h, "{\"stream\":\"shibusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":"
                     "\"SHIBUSDT\",\"t\":5,\"p\":\"0.00000074409\",\"q\":\"250000000.00000001\","
                     "\"T\":2,\"m\":true,\"M\":true}}");
        static const vh_want_t w3[] = {{L_, B_, "0.00000074408", "0"},
                                       {T_, A_, "0.00000074409", "250000000.00000001"}};
        vh_assert_levels(&r, from, w3, 2);
        const feed_stats_t *s = &r.off->stats;
        assert_int_equal(TG_STAT_GET(s->rescales), 2); /* SHIB price, PEPE price */
        assert_int_equal(TG_STAT_GET(s->gaps), 0);
        assert_int_equal(TG_STAT_GET(s->stale_dropped), 0);
        assert_int_equal(fv_errors(s), 0);
        assert_int_equal(TG_STAT_GET(s->frames), 5); /* 4 frames + the REST answer */
        assert_int_equal(TG_STAT_GET(s->handled), 5);
        assert_true(fv_accounted(s));
        /* each counted once in fast or slow, not again for the abandoned first parse */
        assert_int_equal(TG_STAT_GET(s->fast_path) + TG_STAT_GET(s->slow_path), 5);
        fv_free(&r);
    }
}

/* TINYUSDT from 1e-12; HUGEUSDT to 1e7 with sizes to 1e12 (scales 0/0 to start) */
static void test_binance_prices_from_1e_minus_12_to_1e7_and_sizes_to_1e12_are_exact(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance-futures\n# symbols: TINYUSDT,HUGEUSDT\n"
        "1 {\"stream\":\"tinyusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"0.01\",\"1\"],[\"0.000000000001\",\"0.00000001\"]],\"asks\":"
        "[[\"0.1000000000009\",\"90000000000\"]]}}\n"
        "2 {\"stream\":\"hugeusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"9999999\",\"1000000000000\"],[\"9999998.5\",\"0.5\"]],"
        "\"asks\":[[\"10000000\",\"999999999999.99\"],[\"10000000.01\",\"1\"]]}}\n"
        "3 {\"stream\":\"hugeusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":2,\"a\":1,\"s\":"
        "\"HUGEUSDT\",\"p\":\"10000000.00\",\"q\":\"1000000000000\",\"f\":1,\"l\":1,\"T\":2,\"m\":"
        "false}}\n"
        "4 {\"stream\":\"tinyusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":2,\"a\":2,\"s\":"
        "\"TINYUSDT\",\"p\":\"0.000000000002\",\"q\":\"0.00000001\",\"f\":1,\"l\":1,\"T\":2,\"m\":"
        "true}}\n";
    static const vh_want_t w[] = {
        {L_, B_, "0.01", "1"},
        {L_, B_, "0.000000000001", "0.00000001"},
        {L_, A_, "0.1000000000009", "90000000000"},
        {L_, B_, "9999999", "1000000000000"},
        {L_, B_, "9999998.5", "0.5"},
        {L_, A_, "10000000", "999999999999.99"},
        {L_, A_, "10000000.01", "1"},
        {T_, B_, "10000000", "1000000000000"},
        {T_, A_, "0.000000000002", "0.00000001"},
    };
    fv_run_t a = {0};
    a.keep_events = 1;
    assert_int_equal(fv_run(&a, NULL, rec, sizeof(rec) - 1, vh_huge_lots), 0);
    vh_assert_levels(&a, 0, w, sizeof(w) / sizeof(w[0]));
    feed_handler_t *h = &a.off->h;
    assert_int_equal(feed_px_scale(h, h->instr[0]), 13);
    assert_int_equal(feed_px_scale(h, h->instr[1]), 2);
    assert_int_equal(feed_sz_scale(h, h->instr[1]), 2);
    assert_int_equal(fv_errors(&a.off->stats), 0);
    assert_int_equal(TG_STAT_GET(a.off->stats.unrepresentable), 0);
    assert_true(fv_accounted(&a.off->stats));
    fv_free(&a);
}

static void slow_huge_lots(feed_handler_t *h)
{
    vh_huge_lots(h);
    slow_only(h);
}

static void test_binance_extreme_scales_same_events_on_both_parsers(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance-futures\n# symbols: TINYUSDT,HUGEUSDT\n"
        "1 {\"stream\":\"tinyusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"0.01\",\"1\"],[\"0.000000000001\",\"0.00000001\"]],\"asks\":"
        "[]}}\n"
        "2 {\"stream\":\"hugeusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"9999999\",\"1000000000000\"]],\"asks\":[]}}\n"
        "3 "
        "{\"stream\":\"tinyusdt@depth@0ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":2,\"T\":2,\"s\":"
        "\"TINYUSDT\",\"U\":5,\"u\":6,\"pu\":4,\"b\":[[\"0.02\",\"2\"],[\"0.0000000000015\",\"3\"]]"
        ","
        "\"a\":[]}}\n";
    fv_run_t a = {0}, b = {0};
    a.keep_events = b.keep_events = 1;
    assert_int_equal(fv_run(&a, NULL, rec, sizeof(rec) - 1, vh_huge_lots), 0);
    assert_int_equal(fv_run(&b, NULL, rec, sizeof(rec) - 1, slow_huge_lots), 0);
    assert_int_equal(TG_STAT_GET(b.off->stats.fast_path), 0);
    assert_true(TG_STAT_GET(a.off->stats.fast_path) > 0);
    assert_int_equal(a.n_ev, b.n_ev);
    assert_memory_equal(a.ev, b.ev, a.n_ev * sizeof(tg_event_t));
    static const vh_want_t w[] = {
        {L_, B_, "0.01", "1"},
        {L_, B_, "0.000000000001", "0.00000001"},
        {L_, B_, "9999999", "1000000000000"},
        {L_, B_, "0.02", "2"},
        {L_, B_, "0.0000000000015", "3"},
    };
    vh_assert_levels(&a, 0, w, sizeof(w) / sizeof(w[0]));
    fv_free(&a);
    fv_free(&b);
}

static void test_binance_buffered_diffs_keep_the_scale_they_were_read_at(void **state)
{
    /* WAIT: diff 1 buffered at scale 8, diff 2 raises the scale to 11 while 1 is still
     * buffered; the snapshot replays both, each at its own scale, exactly */
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " D(99, 101, "[[\"2.5\",\"1.25\"]]", "[]") "2 " D(
            102, 103, "[[\"2.50000000001\",\"2\"]]",
            "[[\"3.00000000007\",\"0.00000001\"]]") "3 " SNAP(100, "[[\"1.5\",\"5\"]]",
                                                              "[[\"3.5\",\"5\"]]");
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->buffered), 2); /* not 3: the re-parse buffers once */
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 0);
    assert_int_equal(TG_STAT_GET(s->gaps), 0);
    assert_int_equal(TG_STAT_GET(s->rescales), 1);
    assert_int_equal(TG_STAT_GET(s->handled), 3);
    assert_true(fv_accounted(s));
    static const vh_want_t w[] = {
        {L_, B_, "1.5", "5"},
        {L_, A_, "3.5", "5"},
        {L_, B_, "2.5", "1.25"},
        {L_, B_, "2.50000000001", "2"},
        {L_, A_, "3.00000000007", "0.00000001"},
    };
    vh_assert_levels(&r, 0, w, sizeof(w) / sizeof(w[0]));
    int at8 = 0, at11 = 0;
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_LEVEL) {
            at8 += r.ev[i].px_scale == 8;
            at11 += r.ev[i].px_scale == 11;
            if (r.ev[i].seq == 101)
                assert_int_equal(r.ev[i].px_scale, 8); /* buffered before the raise */
        }
    assert_int_equal(at8, 1);
    assert_int_equal(at11, 4); /* the snapshot came after the raise */
    fv_free(&r);
}

static void test_binance_a_value_no_scale_holds_faults_the_book_and_applies_nothing(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " D(
            101, 101, "[[\"1.6\",\"1\"],[\"1.0000000000000000001\",\"1\"]]", "[]") /* 19 */
        "3 " D(102, 102, "[[\"1.7\",\"1\"],[\"1.8\",\"100000000000000000000\"]]", "[]") /* 1e20 */;
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
    assert_int_equal(TG_STAT_GET(s->err_decimal), 2);
    assert_true(TG_STAT_GET(s->unrepresentable) >= 1);
    assert_true(fv_accounted(s));
    int fault = 0;
    for (size_t i = 0; i < r.n_ev; i++) {
        fault += r.ev[i].kind == TG_EV_GAP && (r.ev[i].flags & TG_EVF_FAULT);
        if (r.ev[i].kind == TG_EV_LEVEL)
            assert_true(r.ev[i].flags & TG_EVF_SNAPSHOT); /* nothing of either diff */
    }
    assert_true(fault >= 1);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 1);
    fv_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binance_books_match_the_oracle_top10_on_every_recording),
        cmocka_unit_test(test_binance_clean_recordings_have_no_gaps_and_no_errors),
        cmocka_unit_test(test_binance_trades_match_the_oracle_or_the_raw_lines),
        cmocka_unit_test(test_binance_fast_and_generic_paths_emit_identical_events),
        cmocka_unit_test(test_binance_scanner_agrees_with_the_generic_parser_on_every_frame),
        cmocka_unit_test(test_binance_scanner_agrees_with_the_generic_parser_on_mutated_frames),
        cmocka_unit_test(test_binance_a_removed_depth_frame_is_detected_as_one_gap),
        cmocka_unit_test(test_binance_mutated_frames_never_crash_and_are_all_accounted),
        cmocka_unit_test(test_binance_spot_sync_buffers_bridges_detects_gaps_and_resyncs),
        cmocka_unit_test(test_binance_futures_sync_uses_pu_and_keeps_u_equal_to_the_snapshot),
        cmocka_unit_test(test_binance_spot_overlapping_diff_breaks_the_chain),
        cmocka_unit_test(test_binance_rest_snapshots_are_matched_to_their_request),
        cmocka_unit_test(test_binance_on_open_subscribes_and_requests_one_snapshot_per_symbol),
        cmocka_unit_test(test_binance_error_logs_are_rate_limited),
        cmocka_unit_test(test_binance_unreadable_level_invalidates_the_book),
        cmocka_unit_test(test_binance_us_behaves_as_spot_on_its_own_hosts),
        cmocka_unit_test(test_binance_delivery_is_coin_m_with_futures_rules),
        cmocka_unit_test(test_binance_subscribes_are_paced_to_the_message_limit),
        cmocka_unit_test(test_binance_rest_snapshot_of_11_places_and_a_diff_mixing_2_and_11),
        cmocka_unit_test(test_binance_prices_from_1e_minus_12_to_1e7_and_sizes_to_1e12_are_exact),
        cmocka_unit_test(test_binance_extreme_scales_same_events_on_both_parsers),
        cmocka_unit_test(test_binance_buffered_diffs_keep_the_scale_they_were_read_at),
        cmocka_unit_test(test_binance_a_value_no_scale_holds_faults_the_book_and_applies_nothing),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
