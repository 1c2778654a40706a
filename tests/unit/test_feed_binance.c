/* SPDX-License-Identifier: MIT */
/*
 * Binance spot + USD-M futures handlers against the recordings and the tardis oracle: final
 * top-10 books, trades, zero gaps on clean data, gap detection on a stream with a frame
 * removed, fast scanner == generic parser on every frame and on mutated frames, and no crash /
 * full accounting on thousands of mutated frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/oracle.h"
#include "tests/unit/feed_venue_util.h"

static char g_paths[8][512];
static int g_n;

static int setup(void **state)
{
    int a = fv_list("binance", g_paths, 8);
    g_n = a + fv_list("binance-futures", g_paths + a, 8 - a);
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
        assert_int_equal((long)b->bid.n, y->levels_bids);
        assert_int_equal((long)b->ask.n, y->levels_asks);
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
            fast += (size_t)compare_paths(bn, frame, len, copy);
            n++;
        }
        assert_int_equal(fast, n); /* every recorded layout is a fast-path layout */
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

/* remove the `which`-th depthUpdate line after the last snapshot */
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
    char *p = snap;
    for (int i = 0; i <= which; i++) {
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
    char *buf = malloc(1 << 20);
    uint64_t seed = 12345;
    for (int f = 0; f < g_n; f++) {
        feed_offline_t *o;
        assert_int_equal(feed_offline_open(&o, g_paths[f], NULL, NULL, 0), 0);
        fv_run_t r = {0};
        o->h.out.flush = fv_sink;
        o->h.out.ctx = &r;
        int64_t ts;
        const char *frame;
        size_t len, fed = 0;
        while (feed_tgrec_next(o->rec, &ts, &frame, &len) == 1) {
            if (len + 32 > (1 << 20))
                continue;
            size_t n = len;
            memcpy(buf, frame, len);
            if (fv_rand(&seed) % 4 == 0)
                n = fv_mutate(frame, len, buf, &seed);
            feed_frame(&o->h, buf, n, ts, ts);
            feed_flush(&o->h);
            fed++;
            if (fed >= 6000)
                break;
        }
        assert_int_equal(TG_STAT_GET(o->stats.frames), fed);
        assert_true(fv_accounted(&o->stats));
        assert_true(fv_errors(&o->stats) > 0);
        r.off = NULL;
        fv_free(&r);
        feed_offline_close(&o);
    }
    free(buf);
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
    assert_int_equal(feed_rest(h, tag - (1ull << 32), 200, body, sizeof(body) - 1, 5, 5),
                     0);
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
        bool fut = strcmp(o->venue->name, "binance-futures") == 0;
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
            snprintf(want, sizeof(want), "%s?symbol=%s&limit=1000",
                     fut ? "/fapi/v1/depth" : "/api/v3/depth", in->symbol);
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
    assert_int_equal(c->logs, before + 2); /* "N suppressed" + the new line */
    free(c);
    feed_offline_close(&o);
}

static void test_binance_unreadable_level_invalidates_the_book(void **state)
{
    /* a price tg_dec rejects (too many digits for the scale) in a live diff: nothing of that
     * diff is applied, GAP + resync, and later diffs wait for a new snapshot */
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " D(
            101, 105, "[[\"2.0\",\"1\"]]",
            "[]") "3 " D(106, 107, "[[\"2.1\",\"1\"],[\"2.000000001\",\"1\"]]",
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
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
