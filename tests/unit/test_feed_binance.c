/* SPDX-License-Identifier: MIT */
/*
 * Binance handlers (spot, USD-M, COIN-M) against the recordings and the tardis oracle: final
 * top-10 books, trades, zero gaps on clean data, gap detection on a stream with a frame
 * removed, fast scanner == generic parser on every frame and on mutated frames, no crash /
 * full accounting on thousands of mutated frames, what on_open sends, rate-limited error logs.
 * The sync rules and Binance.US / COIN-M are in test_feed_binance_sync.c, exact decimals at
 * extreme scales in test_feed_binance_scales.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/binance_frames.h"

static char g_paths[8][512];
static int g_n;

static int setup(void **state)
{
    g_n = bn_recordings(g_paths, 8);
    return g_n > 0 ? 0 : -1;
}

static void assert_top10_equals_oracle(const fv_run_t *r, const char *path)
{
    oracle_t o;
    fv_oracle_load(path, &o);
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
        fv_run_t r;
        fv_run_path(&r, g_paths[f]);
        assert_top10_equals_oracle(&r, g_paths[f]);
        fv_free(&r);
    }
}

static void test_binance_clean_recordings_have_no_gaps_and_no_errors(void **state)
{
    fv_assert_clean_all(g_paths, g_n, FV_CLEAN_SNAPSHOTS | FV_CLEAN_CLEARS);
}

/* Every symbol's trades of the run r of path equal its raw trade lines and, where tardis read
 * them (aggTrade is not read), the oracle's. */
static void trades_equal_raw_and_oracle(const fv_run_t *r, oracle_t *o, const char *path)
{
    long total = 0;
    for (uint32_t i = 0; i < r->off->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(r->off->reg, r->off->h.instr[i]);
        long raw = raw_trades(path, in->symbol);
        assert_int_equal(r->trades[in->id], raw);
        total += r->trades[in->id];
        const oracle_sym_t *y = oracle_find(o, in->symbol);
        if (!y || y->trades == 0)
            continue; /* tardis reads no aggTrade */
        fv_assert_trades_equal(r, in, y);
    }
    assert_true(total > 0);
}

static void test_binance_trades_match_the_oracle_or_the_raw_lines(void **state)
{
    fv_each_with_oracle(g_paths, g_n, trades_equal_raw_and_oracle);
}

static void test_binance_fast_and_generic_paths_emit_identical_events(void **state)
{
    for (int f = 0; f < g_n; f++) {
        fv_run_t a = {0}, b = {0};
        a.keep_events = b.keep_events = 1;
        assert_int_equal(fv_run(&a, g_paths[f], NULL, 0, NULL), 0);
        assert_int_equal(fv_run(&b, g_paths[f], NULL, 0, bn_slow_only), 0);
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
        const char **fr;
        size_t *fl, nf = vh_frames(o, &fr, &fl), n = 0, fast = 0;
        for (size_t i = 0; i < nf; i++) {
            int ok = compare_paths(o->h.vstate, fr[i], fl[i], copy);
            /* kline (COIN-M file) nests an object: generic parser, counted unhandled */
            if (!ok && memmem(fr[i], fl[i], "\"e\":\"kline\"", 11))
                continue;
            fast += (size_t)ok;
            n++;
        }
        assert_true(n > 0);
        assert_int_equal(fast, n); /* every other recorded layout is a fast-path layout */
        free(fr);
        free(fl);
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
        const char **fr;
        size_t *fl, nf = vh_frames(o, &fr, &fl);
        for (size_t i = 0; i < nf; i += 7) { /* every 7th frame, 3 changes of each */
            if (fl[i] + 32 > (1 << 20))
                continue;
            for (int k = 0; k < 3; k++) {
                size_t n = fv_mutate(fr[i], fl[i], buf, &seed);
                accepted += (size_t)compare_paths(o->h.vstate, buf, n, copy);
                total++;
            }
        }
        free(fr);
        free(fl);
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
    char *snap = fv_find(t, "@depthSnapshot");
    assert_non_null(snap);
    for (char *q; (q = fv_find(snap + 1, "@depthSnapshot"));)
        snap = q;
    /* counted from the end: near the start, a recorder's backlog can still hold diffs older
       than the snapshot of their symbol (COIN-M file), whose loss would not be a gap */
    int n = 0;
    for (char *q = snap; (q = fv_find(q + 1, "\"e\":\"depthUpdate\"")); n++)
        ;
    assert_true(n > which);
    fv_drop_line(t, &len, fv_nth(snap, "\"e\":\"depthUpdate\"", n - which));
    *len_out = len;
    return t;
}

static void test_binance_a_removed_depth_frame_is_detected_as_one_gap(void **state)
{
    for (int f = 0; f < g_n; f++) {
        size_t len = 0;
        char *t = drop_depth_line(g_paths[f], 40, &len);
        fv_run_t r;
        const feed_stats_t *s = fv_run_text(&r, t, len, NULL);
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
        fv_assert_fuzz_counted(&st, fed);
    }
}

static void test_binance_on_open_subscribes_and_requests_one_snapshot_per_symbol(void **state)
{
    for (int f = 0; f < g_n; f++) {
        feed_offline_t *o;
        assert_int_equal(feed_offline_open(&o, g_paths[f], NULL, NULL, 0), 0);
        fv_cap_t *c = fv_open_captured(&o->h);
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
        cmocka_unit_test(test_binance_on_open_subscribes_and_requests_one_snapshot_per_symbol),
        cmocka_unit_test(test_binance_error_logs_are_rate_limited),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
