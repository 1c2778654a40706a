/* SPDX-License-Identifier: MIT */
/*
 * Binance sync state machine on hand-written streams: both families' rules (spot U == prev
 * u + 1, futures pu), buffering and bridging a snapshot, gaps and resyncs, REST snapshots
 * matched to their request, levels beyond a depth-limited snapshot, an unreadable level
 * invalidating the book; Binance.US as spot on its own hosts, COIN-M with futures rules,
 * subscribes paced to the message limit.
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

/* ---- the sync state machine on hand-written streams ---- */

static const char spot_stream[] =
    "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
    "1 " BN_DIFF(90, 95, "[[\"1.0\",\"1\"]]", "[]")                 /* stale once L=100 is known */
    "2 " BN_DIFF(96, 102, "[[\"2.0\",\"1\"]]", "[[\"3.0\",\"1\"]]") /* bridges L=100 */
    "3 " BN_SNAP(50, "[[\"1.1\",\"9\"]]", "[[\"3.9\",\"9\"]]") /* older than the buffer: refused */
    "4 " BN_SNAP(100, "[[\"1.5\",\"5\"]]",
                 "[[\"3.5\",\"5\"]]")                 /* applied, then 1 dropped, 2 applied */
    "5 " BN_DIFF(103, 105, "[[\"2.0\",\"0\"]]", "[]") /* chains: deletes 2.0 */
    "6 " BN_DIFF(107, 110, "[[\"2.2\",\"1\"]]", "[]") /* 106 missing: GAP, buffered */
    "7 " BN_DIFF(111, 112, "[[\"1.6\",\"2\"]]", "[]") /* buffered */
    "8 " BN_SNAP(111, "[[\"1.7\",\"1\"]]", "[[\"3.3\",\"1\"]]") /* 6 stale, 7 bridges */
    "9 " BN_DIFF(113, 113, "[]", "[[\"3.2\",\"4\"]]")           /* chains */
    "10 " BN_SNAP(120, "[[\"9.9\",\"9\"]]", "[]");              /* LIVE: ignored */

static void test_binance_spot_sync_buffers_bridges_detects_gaps_and_resyncs(void **state)
{
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, spot_stream, sizeof(spot_stream) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->snapshots), 2);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    assert_int_equal(TG_STAT_GET(s->resyncs), 2);       /* refused snapshot + gap */
    assert_int_equal(TG_STAT_GET(s->buffered), 4);      /* diffs 1, 2, 6, 7 */
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 2); /* diffs 1 and 6 */
    assert_int_equal(TG_STAT_GET(s->unhandled), 1);     /* the snapshot while LIVE */
    assert_int_equal(fv_errors(s), 0);
    assert_true(fv_accounted(s));
    fv_assert_one_gap(&r, 105, 107); /* last good u 105, received U 107 */
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
    "1 " BN_DIFF_FUT(90, 95, 89, "[[\"1.0\",\"1\"]]", "[]") /* u < L: stale */
    "2 " BN_DIFF_FUT(96, 100, 95, "[[\"2.0\",\"1\"]]",
                     "[]") /* U <= L <= u: bridges (u == L kept) */
    "3 " BN_SNAP(100, "[[\"1.5\",\"5\"]]", "[[\"3.5\",\"5\"]]") "4 " BN_DIFF_FUT(
        101, 105, 100, "[[\"2.0\",\"0\"]]", "[]")               /* pu == prev u */
    "5 " BN_DIFF_FUT(106, 108, 104, "[[\"2.5\",\"1\"]]", "[]"); /* pu 104 != 105: GAP */

static void test_binance_futures_sync_uses_pu_and_keeps_u_equal_to_the_snapshot(void **state)
{
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, futures_stream, sizeof(futures_stream) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->snapshots), 1);
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 1);
    assert_int_equal(TG_STAT_GET(s->gaps), 1);
    fv_assert_one_gap(&r, 105, 104);
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_LEVEL && !(r.ev[i].flags & TG_EVF_SNAPSHOT))
            assert_int_equal(r.ev[i].ts_exch, 999000000); /* futures: T, not E */
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
        "1 " BN_SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " BN_DIFF(
            101, 105, "[[\"2.0\",\"1\"]]", "[]") "3 " BN_DIFF(104, 108, "[[\"2.1\",\"1\"]]", "[]");
    fv_run_t r;
    fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(r.off->stats.gaps), 1);
    assert_int_equal(r.ev[r.n_ev - 1].kind, TG_EV_GAP);
    assert_int_equal(r.ev[r.n_ev - 1].seq, 105);
    assert_int_equal(r.ev[r.n_ev - 1].u.aux, 104);
    fv_free(&r);
}

/* What the book is beyond a depth-limited snapshot (REST limit=1000; here a 2-level one):
 * exactly the snapshot's levels plus what later diffs touch. A level deeper than the
 * snapshot's last that no diff touches (at the venue 1.5 could exist) is not in the book, and
 * nothing marks the book for it: Binance documents this ("How to manage a local order book
 * correctly"), the oracle does the same; docs/scale.md, "Known problems". */
static void test_binance_levels_beyond_the_snapshot_depth_come_only_from_diffs(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " BN_SNAP(100, "[[\"2.0\",\"1\"],[\"1.9\",\"1\"]]", "[[\"3.0\",\"1\"]]") "2 " BN_DIFF(
            101, 101, "[[\"1.0\",\"7\"]]", "[]") "3 " BN_DIFF(102, 102, "[[\"2.0\",\"0\"]]", "[]");
    fv_run_t r;
    fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(r.off->stats.gaps), 0);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2); /* 1.9 (snapshot), 1.0 (diff 2, beyond the snapshot) */
    assert_int_equal(b->bid.px[0], 190000000);
    assert_int_equal(b->bid.px[1], 100000000);
    assert_int_equal(b->bid.sz[1], 700000000);
    fv_free(&r);
}

static void test_binance_rest_snapshots_are_matched_to_their_request(void **state)
{
    static const char rec[] = "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
                              "1 " BN_DIFF(96, 102, "[[\"2.0\",\"1\"]]", "[]");
    fv_run_t r;
    fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
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

static void test_binance_unreadable_level_invalidates_the_book(void **state)
{
    /* a price tg_dec rejects (not a number) in a live diff: nothing of that diff is applied,
     * GAP + resync, and later diffs wait for a new snapshot */
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " BN_SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " BN_DIFF(
            101, 105, "[[\"2.0\",\"1\"]]",
            "[]") "3 " BN_DIFF(106, 107, "[[\"2.1\",\"1\"],[\"2.00000000x\",\"1\"]]",
                               "[]") "4 " BN_DIFF(108, 109, "[[\"2.2\",\"1\"]]",
                                                  "[]") "5 "
                                                        "{\"stream\":\"nosuch@trade\",\"data\":{"
                                                        "\"e\":"
                                                        "\"trade\",\"E\":1,"
                                                        "\"s\":\"NOSUCH\",\"t\":1,\"p\":\"1\","
                                                        "\"q\":\"1\","
                                                        "\"T\":1,\"m\":true}}\n"
                                                        "6 "
                                                        "{\"stream\":\"btcusdt@trade\",\"data\":{"
                                                        "\"e\":"
                                                        "\"trade\",\"E\":1,"
                                                        "\"s\":\"BTCUSDT\",\"t\":"
                                                        "99999999999999999999,\"p\":"
                                                        "\"1\",\"q\":\"1\","
                                                        "\"T\":1,\"m\":true}}\n";
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
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
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
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
    fv_assert_one_gap(&r, 103, 105); /* spot: the U received */
    /* its own hosts: subscribes @trade, snapshots from /api/v3/depth (on api.binance.us) */
    fv_cap_t *c = fv_open_captured(&r.off->h);
    assert_int_equal(c->n_sent, 1);
    assert_string_equal(c->sent[0], "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusd@depth@100ms\","
                                    "\"btcusd@trade\"],\"id\":1}");
    assert_int_equal(c->n_rest, 1);
    assert_string_equal(c->rest[0], "/api/v3/depth?symbol=BTCUSD&limit=1000");
    char key[64];
    assert_int_equal(v->rest_key(c->rest[0], key, sizeof(key)), 0);
    assert_string_equal(key, "btcusd");
    fv_free_captured(&r, c);
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
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->fast_path), 5);
    assert_int_equal(TG_STAT_GET(s->gaps), 1); /* pu 105 != 104 */
    assert_int_equal(TG_STAT_GET(s->trades), 1);
    assert_int_equal(fv_errors(s), 0);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 2);
    assert_int_equal(b->ask.n, 0);
    fv_assert_one_gap(&r, 104, 105); /* futures: the pu received */
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_TRADE) {
            assert_int_equal(r.ev[i].side, TG_SIDE_SELL);
            assert_int_equal(r.ev[i].u.trade_id, 77);
        }
    assert_true(r.off->rest_gets >= 2); /* on_open + the resync */
    fv_cap_t *c = fv_open_captured(&r.off->h);
    assert_string_equal(c->sent[0], "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusd_perp@depth@"
                                    "100ms\",\"btcusd_perp@aggTrade\"],\"id\":1}");
    assert_string_equal(c->rest[0], "/dapi/v1/depth?symbol=BTCUSD_PERP&limit=1000");
    fv_free_captured(&r, c);
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
    fv_free_captured(&r, c);
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binance_spot_sync_buffers_bridges_detects_gaps_and_resyncs),
        cmocka_unit_test(test_binance_futures_sync_uses_pu_and_keeps_u_equal_to_the_snapshot),
        cmocka_unit_test(test_binance_spot_overlapping_diff_breaks_the_chain),
        cmocka_unit_test(test_binance_levels_beyond_the_snapshot_depth_come_only_from_diffs),
        cmocka_unit_test(test_binance_rest_snapshots_are_matched_to_their_request),
        cmocka_unit_test(test_binance_unreadable_level_invalidates_the_book),
        cmocka_unit_test(test_binance_us_behaves_as_spot_on_its_own_hosts),
        cmocka_unit_test(test_binance_delivery_is_coin_m_with_futures_rules),
        cmocka_unit_test(test_binance_subscribes_are_paced_to_the_message_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
