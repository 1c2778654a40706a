/* SPDX-License-Identifier: MIT */
/*
 * End to end: real venue handlers over the real transport. A recording is served by
 * tickgate-replay (TG_REPLAY_BIN) and received by feeds/feed_conn with the venue's own handler;
 * the events that come out of the ring must equal those of an offline run of the same handler
 * on the same file (feeds/feed_offline.h), except for receive timestamps.
 *
 * Binance syncs a websocket diff stream with a REST snapshot: offline, the snapshot is in-band
 * at its recorded position; live, the handler fetches it from the server's REST endpoint when
 * it connects, so the two runs buffer different deltas before the snapshot. What must be equal
 * is what the builder sees: per instrument, the trades in order, and the book events from the
 * snapshot (BOOK_CLEAR) on, in order. Kraken (websocket snapshots, no REST) must match event
 * for event. END markers (empty end-of-message) and the STALE of the final close are not
 * compared; a GAP in either run fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "feeds/feed_conn.h"
#include "feeds/feed_offline.h"

static const char *g_bin, *g_recs;

typedef struct evs {
    tg_event_t *v;
    size_t n, cap;
} evs_t;

static void evs_push(evs_t *e, const tg_event_t *ev)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 65536;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
        assert_non_null(e->v);
    }
    e->v[e->n++] = *ev;
}

static int offline_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        evs_push(ctx, &ev[i]);
    return 0;
}

static pid_t server_start(const char *rec, const char *const *extra, int *port)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, rec);
    const char *argv[24] = {g_bin, "serve", "--port", "0", "--quiet", "--hold"};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n++] = path;
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        if (!getenv("TG_TEST_VERBOSE")) {
            int nul = open("/dev/null", O_WRONLY);
            dup2(nul, 2);
        }
        close(out[0]);
        execv(g_bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    char line[128] = {0};
    size_t got = 0;
    struct pollfd p = {out[0], POLLIN, 0};
    while (got < sizeof(line) - 1 && !memchr(line, '\n', got) && poll(&p, 1, 15000) > 0) {
        ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(out[0]);
    assert_int_equal(sscanf(line, "listening port=%d", port), 1);
    return pid;
}

static void server_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void test_log(void *ctx, int level, const char *msg)
{
    if (getenv("TG_TEST_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", level, msg);
}

/* Events one instrument's builder cares about, in order: trades (tr) and book events from
 * the first BOOK_CLEAR on (bk). */
static void split(const evs_t *all, uint32_t instr, evs_t *tr, evs_t *bk)
{
    bool synced = false;
    for (size_t i = 0; i < all->n; i++) {
        const tg_event_t *e = &all->v[i];
        if (e->instr != instr)
            continue;
        assert_true(e->kind != TG_EV_GAP);
        if (e->kind == TG_EV_TRADE)
            evs_push(tr, e);
        if (e->kind == TG_EV_BOOK_CLEAR)
            synced = true;
        if (synced &&
            (e->kind == TG_EV_BOOK_CLEAR || e->kind == TG_EV_LEVEL || e->kind == TG_EV_CHECKSUM))
            evs_push(bk, e);
    }
}

static void assert_same_events(const evs_t *a, const evs_t *b, const char *what, uint32_t instr)
{
    if (a->n != b->n)
        fail_msg("instr %u %s: %zu offline events vs %zu live", instr, what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        tg_event_t x = a->v[i], y = b->v[i];
        x.ts_recv = y.ts_recv = 0;
        x.ts_mono = y.ts_mono = 0;
        if (memcmp(&x, &y, sizeof(x)) != 0)
            fail_msg("instr %u %s: event %zu differs (kind %u/%u seq %llu/%llu price %lld/%lld)",
                     instr, what, i, x.kind, y.kind, (unsigned long long)x.seq,
                     (unsigned long long)y.seq, (long long)x.price, (long long)y.price);
    }
}

/* Offline run, then the same file through replay -> feed_conn -> ring; compare. */
static void run_venue(const char *rel, const char *const *server_args, bool with_rest, bool exact)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, rel);
    tg_instr_reg_t *reg = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    feed_offline_t *off = NULL;
    int rc = feed_offline_open(&off, path, NULL, reg, 0);
    if (rc == TG_ECONFIG) { /* the venue's handler is not in this build yet */
        tg_instr_reg_destroy(&reg);
        skip();
    }
    assert_int_equal(rc, 0);
    evs_t want = {0};
    assert_int_equal(feed_offline_run(off, offline_sink, &want), 0);
    assert_true(want.n > 1000);
    uint64_t frames = 0;
    {
        feed_tgrec_t *r = NULL;
        assert_int_equal(feed_tgrec_open(&r, path), 0);
        int64_t ts;
        const char *f;
        size_t len;
        while (feed_tgrec_next(r, &ts, &f, &len) == 1)
            frames += !feed_tgrec_is_generated(f, len); /* websocket frames */
        feed_tgrec_close(&r);
    }

    int port;
    pid_t pid = server_start(rel, server_args, &port);
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
    c.rest_url = with_rest ? rest : NULL;
    c.reg = reg;
    c.depth = off->h.depth;
    const char *syms[64];
    size_t ns = 0;
    for (uint32_t i = 0; i < off->h.n_instr && ns < 64; i++)
        syms[ns++] = tg_instr_reg_get(reg, off->h.instr[i])->symbol;
    c.symbols = syms;
    c.n_symbols = ns;
    c.ring = ring;
    c.log = test_log;
    feed_conn_t *conn = NULL;
    assert_int_equal(feed_loop_add(loop, &c, &conn), 0);
    assert_int_equal(feed_loop_start(loop), 0);
    evs_t got = {0};
    tg_event_t ev;
    const feed_stats_t *st = feed_conn_stats(conn);
    int64_t deadline = tg_clock_mono_ns() + 60 * TG_NS_PER_SEC;
    const feed_conn_tstats_t *ts = feed_conn_tstats(conn);
    while (TG_STAT_GET(ts->rx_frames) < frames && tg_clock_mono_ns() < deadline) {
        while (tg_ring_spsc_pop(ring, &ev))
            evs_push(&got, &ev);
        usleep(2000);
    }
    feed_loop_stop(loop);
    while (tg_ring_spsc_pop(ring, &ev))
        evs_push(&got, &ev);
    fprintf(stderr,
            "%s: frames %llu (ws %llu), rest ok %llu fail %llu, gaps %llu, resyncs %llu, "
            "handled %llu, unhandled %llu, events live %zu offline %zu\n",
            rel, (unsigned long long)TG_STAT_GET(st->frames),
            (unsigned long long)TG_STAT_GET(ts->rx_frames),
            (unsigned long long)TG_STAT_GET(ts->rest_ok),
            (unsigned long long)TG_STAT_GET(ts->rest_fail),
            (unsigned long long)TG_STAT_GET(st->gaps), (unsigned long long)TG_STAT_GET(st->resyncs),
            (unsigned long long)TG_STAT_GET(st->handled),
            (unsigned long long)TG_STAT_GET(st->unhandled), got.n, want.n);
    assert_int_equal(TG_STAT_GET(ts->rx_frames), frames);
    /* the handler accounted for every frame and REST answer it was given */
    assert_int_equal(TG_STAT_GET(st->frames), frames + TG_STAT_GET(ts->rx_rest));
    assert_int_equal(TG_STAT_GET(st->reconnects), 0);
    assert_int_equal(TG_STAT_GET(feed_conn_tstats(conn)->ev_dropped), 0);
    if (with_rest)
        assert_true(TG_STAT_GET(feed_conn_tstats(conn)->rest_ok) >= 1);

    for (uint32_t i = 0; i < off->h.n_instr; i++) {
        evs_t a_tr = {0}, a_bk = {0}, b_tr = {0}, b_bk = {0};
        split(&want, off->h.instr[i], &a_tr, &a_bk);
        split(&got, off->h.instr[i], &b_tr, &b_bk);
        assert_true(a_bk.n > 0);
        assert_same_events(&a_tr, &b_tr, "trades", off->h.instr[i]);
        assert_same_events(&a_bk, &b_bk, "book", off->h.instr[i]);
        free(a_tr.v), free(a_bk.v), free(b_tr.v), free(b_bk.v);
    }
    if (exact) {
        /* event for event, minus the final close's STALE and the receive times */
        evs_t g2 = {0};
        for (size_t i = 0; i < got.n; i++)
            if (got.v[i].kind != TG_EV_STALE)
                evs_push(&g2, &got.v[i]);
        assert_same_events(&want, &g2, "all events", 0);
        free(g2.v);
    }
    free(want.v);
    free(got.v);
    feed_loop_destroy(&loop);
    tg_ring_destroy(&ring);
    server_stop(pid);
    feed_offline_close(&off);
    tg_instr_reg_destroy(&reg);
}

static void test_binance_spot_live_events_equal_the_offline_run(void **st)
{
    /* paced (x40, ~9 s) so the REST snapshot is fetched while the diffs stream */
    const char *args[] = {"--speed", "40", NULL};
    run_venue("binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst", args, true, false);
}

static void test_kraken_live_events_equal_the_offline_run_event_for_event(void **st)
{
    const char *args[] = {"--max", NULL};
    run_venue("kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec", args, false, true);
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
        cmocka_unit_test(test_binance_spot_live_events_equal_the_offline_run),
        cmocka_unit_test(test_kraken_live_events_equal_the_offline_run_event_for_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
