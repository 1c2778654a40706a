/* SPDX-License-Identifier: MIT */
/*
 * Bybit v5 handler against its recordings. The tardis oracle handles none of these topics, so
 * the expectation is derived here from the raw frames by a separate, naive text scan (no JSON
 * parser): every orderbook snapshot/delta applied in order to a second reference book, and
 * the update id u checked to chain. Also: no gaps on clean data, a removed delta detected as
 * one gap, mutated frames accounted for without a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "tests/unit/feed_venue_util.h"

static char g_paths[8][512];
static int g_n;

static int setup(void **state)
{
    g_n = fv_list("bybit", g_paths, 8);
    return g_n > 0 ? 0 : -1;
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
    for (int f = 0; f < g_n; f++) {
        fv_run_t r = {0};
        assert_int_equal(fv_run(&r, g_paths[f], NULL, 0, NULL), 0);
        const feed_stats_t *s = &r.off->stats;
        assert_int_equal(TG_STAT_GET(s->gaps), 0);
        assert_int_equal(r.gap_events, 0);
        assert_int_equal(fv_errors(s), 0);
        assert_int_equal(TG_STAT_GET(s->stale_dropped), 0);
        assert_true(fv_accounted(s));
        assert_int_equal(TG_STAT_GET(s->frames), r.off->rec->data_lines);
        fv_free(&r);
    }
}

static void test_bybit_a_removed_delta_is_detected_as_one_gap(void **state)
{
    for (int f = 0; f < g_n; f++) {
        size_t len = 0;
        char *t = fv_load_text(g_paths[f], &len);
        char *p = strstr(t, "\"type\":\"delta\"");
        if (!p) { /* orderbook.1 sends snapshots only */
            free(t);
            continue;
        }
        p = strstr(p + 1, "\"type\":\"delta\""); /* the second delta */
        assert_non_null(p);
        char *ls = p;
        while (ls > t && ls[-1] != '\n')
            ls--;
        char *le = strchr(p, '\n');
        assert_non_null(le);
        memmove(ls, le + 1, len - (size_t)(le + 1 - t) + 1);
        len -= (size_t)(le + 1 - ls);
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
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
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
    for (int f = 0; f < g_n; f++) {
        feed_stats_t st;
        size_t fed = fv_fuzz(g_paths[f], 6000, 99 + (uint64_t)f, &st);
        assert_int_equal(fed, 6000);
        assert_int_equal(TG_STAT_GET(st.frames), fed);
        assert_true(fv_accounted(&st));
        assert_true(fv_errors(&st) > 0);
    }
}

static void test_bybit_subscribes_at_most_ten_topics_per_request_and_pings(void **state)
{
    static const char rec[] = "# tgrec 1\n# venue: bybit\n# symbols: A1,A2,A3,A4,A5,A6\n";
    fv_run_t r = {0};
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    feed_handler_t *h = &r.off->h;
    fv_cap_t *c = calloc(1, sizeof(*c));
    fv_capture(h, c);
    assert_int_equal(h->venue->on_open(h), 0);
    assert_int_equal(c->n_sent, 2); /* 12 topics: 10 + 2 */
    assert_string_equal(
        c->sent[0],
        "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.A1\",\"publicTrade.A1\","
        "\"orderbook.50.A2\",\"publicTrade.A2\",\"orderbook.50.A3\",\"publicTrade.A3\","
        "\"orderbook.50.A4\",\"publicTrade.A4\",\"orderbook.50.A5\",\"publicTrade.A5\"]}");
    assert_string_equal(c->sent[1],
                        "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.A6\",\"publicTrade.A6\"]}");
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
    free(c);
    fv_free(&r);
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
    fv_run_t r = {0};
    r.keep_events = 1;
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    const feed_stats_t *s = &r.off->stats;
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
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
