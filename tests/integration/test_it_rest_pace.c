/* SPDX-License-Identifier: MIT */
/*
 * Integration test of the REST pacing (feeds/net/feed_rest_pace.h) in the transport: a real
 * Binance recording (10 symbols) served by tickgate-replay (TG_REPLAY_BIN) whose REST side
 * answers the first K snapshot GETs with 429 and Retry-After: S (--rest-429 K:S), received by
 * feed_conn with the Binance handler, one request in flight.
 * The gateway must wait what the venue says after each 429 (so no book can sync before K * S
 * seconds), never hand a 429 to the handler (it sees only the 200s), send the refused requests
 * again, and end with every book synced (a BOOK_CLEAR from its snapshot) and no GAP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fixtures/replay_proc.h"
#include "book/tg_clock.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "feeds/net/feed_conn.h"
#include "feeds/rec/feed_offline.h"

#define REC  "binance/cryptofeed_1312c062_BINANCE-b38f7c.tgrec.zst"
#define REC1 "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"

static const char *g_bin, *g_recs;

static void test_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (getenv("TG_TEST_VERBOSE") || strstr(msg, "Retry-After"))
        fprintf(stderr, "[%d] %s\n", level, msg);
}

/* Per instrument: the book events (CLEAR, LEVEL) from its first CLEAR on, ids and values only,
 * to compare clones with the original. */
typedef struct trail {
    tg_event_t *v;
    size_t n, cap;
} trail_t;

static void trail_push(trail_t *t, const tg_event_t *ev)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4096;
        t->v = realloc(t->v, t->cap * sizeof(*t->v));
        assert_non_null(t->v);
    }
    tg_event_t e = *ev;
    e.instr = 0;
    e.ts_recv = e.ts_mono = 0;
    t->v[t->n++] = e;
}

/* The recording (served with --rest-429 k:s, and --clone clones when > 1) through feed_conn
 * and the Binance handler; every symbol (each clone's too) must sync. */
static void run_rec(const char *rel, unsigned k, unsigned s, unsigned clones)
{
    char path[1024], arg429[32], argclone[16];
    snprintf(path, sizeof(path), "%s/%s", g_recs, rel);
    snprintf(arg429, sizeof(arg429), "%u:%u", k, s);
    snprintf(argclone, sizeof(argclone), "%u", clones ? clones : 1);
    /* the recording's symbols, as the offline driver registers them */
    tg_instr_reg_t *reg = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    feed_offline_t *off = NULL;
    assert_int_equal(feed_offline_open(&off, path, NULL, reg, 0), 0);
    uint32_t n0 = off->h.n_instr, n = n0 * (clones ? clones : 1);
    assert_true(n0 >= 1 && n <= 64);
    static char names[64][TG_SYMBOL_MAX + 16];
    const char *syms[64];
    uint32_t ids[64];
    for (uint32_t i = 0; i < n; i++) {
        const tg_instr_t *in = tg_instr_reg_get(reg, off->h.instr[i % n0]);
        if (i < n0)
            snprintf(names[i], sizeof(names[i]), "%s", in->symbol);
        else
            snprintf(names[i], sizeof(names[i]), "%.*s_%u", TG_SYMBOL_MAX - 1, in->symbol,
                     (unsigned)(i / n0 % 1000));
        tg_instr_cfg_t ic;
        tg_instr_cfg_defaults(&ic);
        ic.px_scale = in->px_scale;
        ic.sz_scale = in->sz_scale;
        assert_int_equal(tg_instr_reg_add(reg, off->rec->venue, names[i], &ic, &ids[i]), 0);
        syms[i] = names[i];
    }

    const char *argv[] = {g_bin,     "serve",  "--port",     "0",    "--quiet", "--hold",
                          "--clone", argclone, "--rest-429", arg429, path,      NULL};
    int nul = getenv("TG_TEST_VERBOSE") ? -1 : open("/dev/null", O_WRONLY);
    int port = 0;
    pid_t pid = replay_proc_start(argv, nul, &port);
    if (nul >= 0)
        close(nul);
    assert_true(pid > 0);

    tg_ring_t *ring = NULL;
    assert_int_equal(tg_ring_create(&ring, 1u << 16, sizeof(tg_event_t)), 0);
    feed_loop_t *loop = NULL;
    assert_int_equal(feed_loop_create(&loop, NULL), 0);
    feed_conn_cfg_t c;
    feed_conn_cfg_defaults(&c);
    char url[700], rest[64];
    const char *p = strstr(off->rec->url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", port, p ? p : "/");
    snprintf(rest, sizeof(rest), "http://127.0.0.1:%d", port);
    c.venue = off->rec->venue;
    c.url = url;
    c.rest_url = rest;
    c.reg = reg;
    c.rest_max_inflight = 1; /* one GET at a time: each 429 holds the next one */
    c.symbols = syms;
    c.n_symbols = n;
    c.ring = ring;
    c.log = test_log;
    feed_conn_t *conn = NULL;
    assert_int_equal(feed_loop_add(loop, &c, &conn), 0);
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(feed_loop_start(loop), 0);

    int64_t *synced = calloc(TG_INSTR_MAX, sizeof(*synced)); /* mono ns of the first CLEAR */
    assert_non_null(synced);
    uint32_t n_synced = 0, gaps = 0;
    int64_t first = 0, deadline = t0 + (int64_t)(k * s + 60) * TG_NS_PER_SEC;
    tg_event_t ev;
    trail_t *tr = calloc(n, sizeof(*tr));
    assert_non_null(tr);
    int64_t quiet = 0; /* with clones: read on for 2 s after the last sync, to compare */
    while ((n_synced < n || (clones > 1 && tg_clock_mono_ns() < quiet)) &&
           tg_clock_mono_ns() < deadline) {
        while (tg_ring_spsc_pop(ring, &ev)) {
            if (ev.kind == TG_EV_GAP)
                gaps++;
            for (uint32_t i = 0; i < n; i++)
                if (ev.instr == ids[i] && synced[ev.instr] &&
                    (ev.kind == TG_EV_LEVEL || ev.kind == TG_EV_BOOK_CLEAR))
                    trail_push(&tr[i], &ev);
            if (ev.kind == TG_EV_BOOK_CLEAR && ev.instr < TG_INSTR_MAX && !synced[ev.instr]) {
                synced[ev.instr] = tg_clock_mono_ns();
                if (!first)
                    first = synced[ev.instr];
                if (++n_synced == n)
                    quiet = tg_clock_mono_ns() + 2 * TG_NS_PER_SEC;
                for (uint32_t i = 0; i < n; i++)
                    if (ev.instr == ids[i])
                        trail_push(&tr[i], &ev);
            }
        }
        usleep(2000);
    }
    const feed_conn_tstats_t *ts = feed_conn_tstats(conn);
    fprintf(stderr,
            "%s --clone %s --rest-429 %s: %u/%u books synced, first after %.2f s, last after %.2f "
            "s; rest "
            "sent %llu ok %llu fail %llu throttled %llu retry-after waits %llu queued now %llu\n",
            rel, argclone, arg429, n_synced, n, first ? (double)(first - t0) / 1e9 : -1.0,
            (double)(tg_clock_mono_ns() - t0) / 1e9, (unsigned long long)TG_STAT_GET(ts->rest_sent),
            (unsigned long long)TG_STAT_GET(ts->rest_ok),
            (unsigned long long)TG_STAT_GET(ts->rest_fail),
            (unsigned long long)TG_STAT_GET(ts->rest_throttled),
            (unsigned long long)TG_STAT_GET(ts->rest_retry_waits),
            (unsigned long long)TG_STAT_GET(ts->rest_queued));
    feed_loop_stop(loop);
    assert_int_equal(n_synced, n);
    assert_int_equal(gaps, 0);
    /* the venue's waits were honoured: K refusals in a row, S seconds each, before any book */
    assert_true(first - t0 >= (int64_t)k * s * TG_NS_PER_SEC);
    assert_int_equal(TG_STAT_GET(ts->rest_throttled), k);
    assert_int_equal(TG_STAT_GET(ts->rest_retry_waits), k);
    assert_int_equal(TG_STAT_GET(ts->rest_sent), n + k);
    assert_int_equal(TG_STAT_GET(ts->rest_ok), n); /* the handler never saw a 429 */
    assert_int_equal(TG_STAT_GET(ts->rest_fail), 0);
    assert_int_equal(TG_STAT_GET(ts->rest_queued), 0);
    /* every clone's book went through the same events as its original (its own chain) */
    for (uint32_t i = n0; i < n; i++) {
        const trail_t *a = &tr[i % n0], *b = &tr[i];
        size_t m = a->n < b->n ? a->n : b->n;
        assert_true(m > 0);
        for (size_t j = 0; j < m; j++)
            if (memcmp(&a->v[j], &b->v[j], sizeof(tg_event_t)) != 0)
                fail_msg("%s: event %zu differs from %s's", names[i], j, names[i % n0]);
    }
    for (uint32_t i = 0; i < n; i++)
        free(tr[i].v);
    free(tr);
    free(synced);
    feed_loop_destroy(&loop);
    tg_ring_destroy(&ring);
    replay_proc_stop(pid);
    feed_offline_close(&off);
    tg_instr_reg_destroy(&reg);
}

static void test_three_429s_are_waited_out_then_every_book_syncs(void **st)
{
    (void)st;
    run_rec(REC, 3, 1, 0);
}

static void test_without_429_every_book_syncs(void **st)
{
    (void)st;
    run_rec(REC, 0, 1, 0);
}

/* tickgate-replay --clone 12: BTCUSDT served as BTCUSDT, BTCUSDT_1 .. BTCUSDT_11, each with
 * the recorded update ids; every clone syncs from its (cloned) snapshot and its book events
 * equal the original's. */
static void test_twelve_clones_each_sync_with_the_original_chain(void **st)
{
    (void)st;
    run_rec(REC1, 0, 1, 12);
}

int main(void)
{
    g_bin = getenv("TG_REPLAY_BIN");
    g_recs = getenv("TG_RECORDINGS");
    if (!g_bin || !g_recs) {
        fprintf(stderr, "TG_REPLAY_BIN, TG_RECORDINGS must be set; skipping\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_429s_are_waited_out_then_every_book_syncs),
        cmocka_unit_test(test_without_429_every_book_syncs),
        cmocka_unit_test(test_twelve_clones_each_sync_with_the_original_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
