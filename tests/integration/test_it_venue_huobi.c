/* SPDX-License-Identifier: MIT */
/*
 * HTX (huobi) over the real transport: tickgate-replay (TG_REPLAY_BIN) serves the recording the
 * way HTX does, every frame a BINARY websocket frame holding the gzip of the recorded text;
 * feeds/feed_conn inflates them (FEED_WIRE_GZIP) and runs the huobi handler. The events that
 * come out of the ring must equal, event for event, those of an offline run of the same file
 * (receive times and the STALE of the final close aside), and every server ping must have
 * been answered with the pong HTX expects. Served at 10x the recorded pace (the 30 s recording
 * in ~3 s: frames still arrive spread out, pings 0.5 s apart).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "feeds/net/feed_conn.h"
#include "feeds/rec/feed_offline.h"
#include "tests/fixtures/it_live_run.h"
#include "tests/fixtures/live_feed.h"

#define HB_REC "huobi/cryptofeed_ce58c2a0_HUOBI.ws.44.tgrec.zst"

static const char *g_bin, *g_recs;

/* The recording as tgrec text without the websocket frames numbered (from 1) in skip[]. */
static char *rec_without(const char *path, const int *skip, size_t *len)
{
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open(&r, path), 0);
    size_t cap = 1 << 16, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t, cap, "# tgrec 1\n# venue: %s\n# symbols: %s\n", r->venue, r->symbols);
    int64_t ts;
    const char *f;
    size_t fl;
    int k = 0;
    while (feed_tgrec_next(r, &ts, &f, &fl) == 1) {
        k++;
        bool drop = false;
        for (const int *s = skip; *s; s++)
            drop |= *s == k;
        if (drop)
            continue;
        while (n + fl + 64 > cap)
            t = realloc(t, cap *= 2);
        n += (size_t)snprintf(t + n, cap - n, "%lld ", (long long)ts);
        memcpy(t + n, f, fl);
        n += fl;
        t[n++] = '\n';
    }
    feed_tgrec_close(&r);
    *len = n;
    return t;
}

/* A server ping of the recording (each must get its pong). */
static int is_ping(const char *f, size_t len)
{
    return len > 8 && memcmp(f, "{\"ping\":", 8) == 0;
}

/* Offline run of the recording minus the frames in skip[] (0-terminated), then the recording
 * served with server_args through feed_conn: the same events, event for event. bad_frames:
 * frames the faults make undecodable (counted err_json by the transport). */
static void run_huobi(const char *const *server_args, const int *skip, uint64_t bad_frames)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, HB_REC);
    if (access(path, R_OK) != 0)
        skip();
    tg_instr_reg_t *reg = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    size_t tl = 0;
    char *text = rec_without(path, skip, &tl);
    feed_offline_t *off = NULL;
    assert_int_equal(feed_offline_open_mem(&off, text, tl, NULL, reg, 0), 0);
    free(text);
    evs_t want = {0};
    assert_int_equal(feed_offline_run(off, evs_sink, &want), 0);
    assert_true(want.n > 10000);
    uint64_t frames = off->rec->data_lines + bad_frames, pings = lf_count_frames(path, is_ping);
    assert_int_equal(pings, 6);

    int port = 0;
    pid_t pid = lf_serve(g_bin, path, server_args, &port);
    feed_conn_cfg_t c;
    feed_conn_cfg_defaults(&c);
    char url[128];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws", port);
    c.venue = "huobi";
    c.url = url;
    c.rest_url = NULL;
    lf_t l;
    lf_add(&l, &c, off, reg);
    size_t ns = l.ns;
    assert_int_equal(feed_loop_start(l.loop), 0);
    evs_t got = {0};
    const feed_stats_t *st = feed_conn_stats(l.conn);
    const feed_conn_tstats_t *ts = feed_conn_tstats(l.conn);
    lf_collect(&l, &got, frames, ns * 2 + pings, 60); /* and the last ping's pong written */
    fprintf(stderr,
            "huobi live: frames %llu (ws %llu), sent %llu, handled %llu, unhandled %llu, "
            "err_json %llu, handler errors %llu, events live %zu offline %zu\n",
            (unsigned long long)TG_STAT_GET(st->frames),
            (unsigned long long)TG_STAT_GET(ts->rx_frames),
            (unsigned long long)TG_STAT_GET(ts->tx_frames),
            (unsigned long long)TG_STAT_GET(st->handled),
            (unsigned long long)TG_STAT_GET(st->unhandled),
            (unsigned long long)TG_STAT_GET(st->err_json),
            (unsigned long long)TG_STAT_GET(ts->handler_errors), got.n, want.n);
    assert_int_equal(TG_STAT_GET(ts->rx_frames), frames);
    assert_int_equal(TG_STAT_GET(st->frames), frames);
    /* 10 book + 10 trade subscribes, then one pong per ping */
    assert_int_equal(TG_STAT_GET(ts->tx_frames), ns * 2 + pings);
    assert_int_equal(TG_STAT_GET(st->reconnects), 0);
    assert_int_equal(TG_STAT_GET(ts->ev_dropped), 0);
    assert_int_equal(TG_STAT_GET(st->handled), TG_STAT_GET(off->stats.handled));
    assert_int_equal(TG_STAT_GET(st->unhandled), TG_STAT_GET(off->stats.unhandled));
    /* every binary frame inflated but the ones the faults broke */
    assert_int_equal(TG_STAT_GET(st->err_json), bad_frames);

    it_live_assert_exact(&want, &got);
    it_live_free(&want, &got, &l, pid, &off, &reg);
}

static void test_huobi_gzip_frames_over_the_socket_give_the_offline_events(void **state)
{
    (void)state;
    static const int none[] = {0};
    static const char *const pace[] = {"--speed", "10", NULL};
    run_huobi(pace, none, 0);
}

/* A corrupted and a truncated gzip frame: counted as rejected frames (err_json), dropped,
 * and everything else exactly as offline without those two frames. */
static void test_huobi_broken_gzip_frames_are_counted_and_dropped(void **state)
{
    (void)state;
    static const char *const faults[] = {"--speed", "10",          "--fault", "corrupt@50",
                                         "--fault", "truncate@60", NULL};
    static const int skip[] = {50, 60, 0};
    run_huobi(faults, skip, 2);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huobi_gzip_frames_over_the_socket_give_the_offline_events),
        cmocka_unit_test(test_huobi_broken_gzip_frames_are_counted_and_dropped),
    };
    return it_live_main(&g_bin, &g_recs, "venue_huobi", tests, sizeof(tests) / sizeof(tests[0]));
}
