/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of feeds/feed_conn (websocket client transport) against the real
 * tickgate-replay server (TG_REPLAY_BIN) serving real recordings (TG_RECORDINGS) over ws and
 * wss on loopback. A test venue handler (defined here, independent of the venue parsers)
 * sends the recording's subscribes, keeps a copy of every frame and emits one event per frame
 * into the ring. Expected frames come from the recordings through feeds/feed_tgrec.h; TLS uses
 * a throwaway certificate made at test time (tools/replay/gen-test-cert.sh), verified with
 * ca_file (verification stays on).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/fixtures/it_feed_loop.h"
#include "tests/fixtures/it_replay_srv.h"
#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "feeds/rec/feed_capture.h"
#include "feeds/net/feed_conn.h"
#include "feeds/rec/feed_tgrec.h"

#define KRAKEN  "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec"
#define BINANCE "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"

static const char *g_bin, *g_recs, *g_root;
static it_cert_t g_tls;

/* ---------- expected frames (shared reader), the replay server process ---------- */

/* Serve rec as fast as we read (--max: the tests do not depend on the pace), after extra. */
static void server_start(it_srv_t *s, const char *rec, const char *const *extra)
{
    char at[512];
    snprintf(at, sizeof(at), "@%s", rec);
    const char *args[32] = {"--max"};
    size_t n = 1;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n++] = at;
    args[n] = NULL;
    it_srv_start(s, g_bin, g_recs, args);
}

/* ---------- test venue handler ---------- */

typedef struct tstate {
    const char *const *sent; /* recording's subscribes */
    size_t n_sent;
    const char *rest_path; /* requested in on_open when set */
    bool keep;             /* keep frame copies */
    char **f;
    size_t *len;
    size_t n, cap;
    size_t conn_start[64]; /* frame index where each connection began */
    int64_t open_mono[64], close_mono[64];
    int opens, closes, errors;
    _Atomic size_t n_pub;
    _Atomic int opens_pub, rest_pub, ticks;
    int rest_status;
    uint64_t rest_tag;
    char *rest_body;
    size_t rest_len;
} tstate_t;

static tstate_t G;

static void tstate_reset(void)
{
    for (size_t i = 0; G.f && i < G.n; i++)
        free(G.f[i]);
    free(G.f);
    free(G.len);
    free(G.rest_body);
    memset(&G, 0, sizeof(G));
}

static void tstate_take_sent(const feed_tgrec_t *r)
{
    G.sent = r->sent;
    G.n_sent = r->n_sent;
}

static int tv_on_open(feed_handler_t *h)
{
    if (G.opens < 64) {
        G.conn_start[G.opens] = G.n;
        G.open_mono[G.opens] = tg_clock_mono_ns();
    }
    G.opens++;
    /* no cmocka asserts here: this runs on the feed thread */
    for (size_t i = 0; i < G.n_sent; i++)
        if (h->send(h->tctx, G.sent[i], strlen(G.sent[i])) != 0)
            G.errors++;
    if (G.rest_path && h->rest_get(h->tctx, G.rest_path, 42) != 0)
        G.errors++;
    atomic_store(&G.opens_pub, G.opens);
    return 0;
}

static int tv_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t tr, int64_t tm)
{
    if (buf[len] != 0) /* the transport NUL-terminates */
        G.errors++;
    if (G.keep) {
        if (G.n == G.cap) {
            G.cap = G.cap ? G.cap * 2 : 8192;
            G.f = realloc(G.f, G.cap * sizeof(*G.f));
            G.len = realloc(G.len, G.cap * sizeof(*G.len));
            if (!G.f || !G.len)
                abort();
        }
        G.f[G.n] = malloc(len + 1);
        if (!G.f[G.n])
            abort();
        memcpy(G.f[G.n], buf, len + 1);
        G.len[G.n] = len;
    }
    G.n++;
    tg_event_t ev = {0};
    ev.kind = TG_EV_TRADE;
    ev.instr = h->n_instr ? h->instr[0] : 0;
    ev.seq = G.n;
    ev.ts_recv = tr;
    ev.ts_mono = tm;
    ev.flags = TG_EVF_LAST;
    feed_emit(h, &ev);
    atomic_store(&G.n_pub, G.n);
    return 0;
}

static int tv_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t tr, int64_t tm)
{
    G.rest_status = status;
    G.rest_tag = tag;
    free(G.rest_body);
    G.rest_body = malloc(len + 1);
    if (!G.rest_body)
        abort();
    memcpy(G.rest_body, body, len + 1);
    G.rest_len = len;
    atomic_fetch_add(&G.rest_pub, 1);
    return 0;
}

static void tv_on_close(feed_handler_t *h, int64_t tr, int64_t tm)
{
    if (G.closes < 64)
        G.close_mono[G.closes] = tm;
    G.closes++;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        tg_event_t ev = {0};
        ev.kind = TG_EV_STALE;
        ev.instr = h->instr[i];
        ev.ts_recv = tr;
        ev.ts_mono = tm;
        ev.flags = TG_EVF_LAST;
        feed_emit(h, &ev);
    }
}

static void tv_on_tick(feed_handler_t *h, int64_t now)
{
    atomic_fetch_add(&G.ticks, 1);
}

static const feed_venue_t tv_venue = {
    .name = "test",
    .on_tick = tv_on_tick,
    .on_open = tv_on_open,
    .on_frame = tv_on_frame,
    .on_rest = tv_on_rest,
    .on_close = tv_on_close,
};

/* ---------- fixture: registry, ring, loop (it_feed_loop.h) ---------- */

typedef it_feed_t fx_t;

static const char *const k_syms[] = {"XBT/TEST"};

static void test_log(void *ctx, int level, const char *msg)
{
    if (getenv("TG_TEST_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", level, msg);
}

/* The test venue on "XBT/TEST", quick back-off. */
static void fx_init(fx_t *x, uint32_t ring_cap)
{
    it_feed_init(x, "test", k_syms, ring_cap);
    x->cc.venue_impl = &tv_venue;
    x->cc.backoff_min_ms = 50;
    x->cc.backoff_max_ms = 400;
    x->cc.log = test_log;
}

static bool wait_frames(size_t n, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        if (atomic_load(&G.n_pub) >= n)
            return true;
        usleep(5000);
    }
    return atomic_load(&G.n_pub) >= n;
}

/* Compare the frames of connection k (G.conn_start[k] ...) with the recording. */
static void assert_frames_equal(const it_expect_t *e, size_t from, size_t count)
{
    assert_true(G.n >= from + count);
    for (size_t i = 0; i < count; i++) {
        if (G.len[from + i] != e->len[i] || memcmp(G.f[from + i], e->f[i], e->len[i]) != 0)
            fail_msg("frame %zu differs (len %zu vs %zu)", i, G.len[from + i], e->len[i]);
    }
}

static size_t drain_ring(tg_ring_t *r, size_t *gaps, size_t *stales, uint64_t *last_seq)
{
    tg_event_t ev;
    size_t n = 0;
    while (tg_ring_spsc_pop(r, &ev)) {
        n++;
        if (ev.kind == TG_EV_GAP && gaps)
            (*gaps)++;
        if (ev.kind == TG_EV_STALE && stales)
            (*stales)++;
        if (ev.kind == TG_EV_TRADE && last_seq) {
            assert_true(ev.seq > *last_seq);
            *last_seq = ev.seq;
        }
    }
    return n;
}

/* One test's recording, replay server and fixture. */
typedef struct fcase {
    it_expect_t e;
    it_srv_t s;
    fx_t x;
} fcase_t;

/* Load rec, reset the handler state (it sends rec's subscribes), serve rec with extra (and the
 * test certificate with tls) and make the fixture for ws[s]://127.0.0.1:<port>/ws, wss
 * verified with the test CA. Not started. */
static void fcase_open(fcase_t *c, const char *rec, const char *const *extra, bool tls,
                       uint32_t ring_cap)
{
    it_expect_load(&c->e, g_recs, rec, 1000);
    tstate_reset();
    tstate_take_sent(c->e.r);
    const char *args[16];
    size_t n = 0;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    if (tls) {
        const char *tls_args[] = {"--tls", "--cert", g_tls.cert, "--key", g_tls.key};
        for (size_t i = 0; i < 5; i++)
            args[n++] = tls_args[i];
    }
    args[n] = NULL;
    server_start(&c->s, rec, args);
    fx_init(&c->x, ring_cap);
    snprintf(c->x.url, sizeof(c->x.url), "%s://127.0.0.1:%d/ws", tls ? "wss" : "ws", c->s.port);
    c->x.cc.url = c->x.url;
    if (tls)
        c->x.cc.ca_file = g_tls.cert;
}

static void fcase_close(fcase_t *c)
{
    it_feed_free(&c->x);
    it_srv_stop(&c->s);
    it_expect_free(&c->e);
}

/* ---------- tests ---------- */

/* The whole recording over one connection, then the transport's and the capture's account. */
typedef struct whole_case {
    bool tls, capture, deflate;
} whole_case_t;

static whole_case_t k_whole_ws = {false, false, false};
static whole_case_t k_whole_wss = {true, false, false};
static whole_case_t k_whole_capture = {false, true, false};
/* the server may decline permessage-deflate; the frames must not change either way */
static whole_case_t k_whole_deflate = {false, false, true};

/* The capture file of one connection: its header, then every frame of the recording in order. */
static void assert_capture(feed_capture_t **cap, const it_expect_t *e, const char *url)
{
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open(&r, feed_capture_path(*cap)), 0);
    assert_string_equal(r->venue, "test");
    assert_string_equal(r->url, url);
    assert_string_equal(r->symbols, k_syms[0]);
    assert_int_equal(r->n_sent, e->r->n_sent);
    for (size_t i = 0; i < r->n_sent; i++)
        assert_string_equal(r->sent[i], e->r->sent[i]);
    feed_tgrec_close(&r);
    int64_t ts_ns;
    const char *f;
    size_t len, i = 0;
    char name[1024];
    snprintf(name, sizeof(name), "%s", feed_capture_path(*cap));
    assert_int_equal(TG_STAT_GET(feed_capture_stats(*cap)->files), 1);
    assert_int_equal(TG_STAT_GET(feed_capture_stats(*cap)->frames), e->n);
    feed_capture_destroy(cap);
    assert_int_equal(feed_tgrec_open(&r, name), 0);
    while (feed_tgrec_next(r, &ts_ns, &f, &len) == 1) {
        assert_true(i < e->n);
        assert_int_equal(len, e->len[i]);
        assert_memory_equal(f, e->f[i], len);
        assert_true(ts_ns > 0);
        i++;
    }
    assert_int_equal(i, e->n);
    feed_tgrec_close(&r);
}

static void test_whole_recording(void **state)
{
    const whole_case_t *wc = *state;
    fcase_t c;
    const char *hold[] = {"--hold", NULL};
    fcase_open(&c, KRAKEN, hold, wc->tls, 1u << 16);
    G.keep = true;
    it_expect_t *e = &c.e;
    fx_t *x = &c.x;
    /* "localhost" goes through the resolver thread; TLS verifies the test certificate. */
    snprintf(x->url, sizeof(x->url), "%s://localhost:%d/ws", wc->tls ? "wss" : "ws", c.s.port);
    x->cc.deflate = wc->deflate;
    feed_capture_t *cap = NULL;
    char capdir[64] = "/tmp/tg-capture-XXXXXX";
    if (wc->capture) {
        assert_non_null(mkdtemp(capdir));
        feed_capture_cfg_t kc;
        feed_capture_cfg_defaults(&kc);
        kc.dir = capdir;
        kc.prefix = "it";
        assert_int_equal(feed_capture_create(&cap, &kc), 0);
        x->cc.capture = cap;
    }
    it_feed_start(x);
    assert_true(wait_frames(e->n, 30000));
    feed_loop_stop(x->loop);
    assert_int_equal(G.errors, 0);
    assert_int_equal(G.opens, 1);
    assert_int_equal(G.n, e->n);
    assert_frames_equal(e, G.conn_start[0], e->n);
    const feed_stats_t *st = feed_conn_stats(x->conn);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x->conn);
    assert_int_equal(TG_STAT_GET(ts->rx_frames), e->n);
    assert_int_equal(TG_STAT_GET(st->frames), e->n); /* counted once, by the venue base */
    assert_int_equal(TG_STAT_GET(ts->tx_frames), (uint64_t)e->r->n_sent * G.opens);
    assert_int_equal(TG_STAT_GET(ts->ev_dropped), 0);
    size_t stales = 0;
    uint64_t last = 0;
    size_t nev = drain_ring(x->ring, NULL, &stales, &last);
    assert_int_equal(nev, G.n + stales);       /* one event per frame + STALE per close */
    assert_int_equal(stales, (size_t)G.opens); /* stop closes the open connection too */
    feed_conn_status_t cs;
    feed_conn_status(x->conn, &cs);
    assert_int_equal(cs.state, FEED_CONN_STOPPED);
    assert_true(cs.last_frame_ns > 0);
    if (wc->capture) {
        assert_capture(&cap, e, x->url);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", capdir);
        assert_int_equal(system(cmd), 0);
    }
    fcase_close(&c);
}

static void test_wss_with_an_untrusted_certificate_never_delivers_and_backs_off(void **st)
{
    fcase_t c;
    fcase_open(&c, KRAKEN, NULL, true, 1024);
    c.x.cc.ca_file = NULL; /* the OS store does not know the test CA */
    it_feed_start(&c.x);
    const feed_conn_tstats_t *ts = feed_conn_tstats(c.x.conn);
    for (int i = 0; i < 600 && TG_STAT_GET(ts->connect_errors) < 2; i++)
        usleep(5000);
    feed_loop_stop(c.x.loop);
    assert_true(TG_STAT_GET(ts->connect_errors) >= 2);
    assert_int_equal(G.opens, 0);
    assert_int_equal(G.n, 0);
    assert_int_equal(TG_STAT_GET(ts->connects), 0);
    fcase_close(&c);
}

static void test_dropped_connections_reconnect_with_backoff_and_resync(void **st)
{
    fcase_t c;
    const char *args[] = {"--fault", "drop-after=300,times=3", NULL};
    fcase_open(&c, KRAKEN, args, false, 1u << 16);
    G.keep = true;
    const it_expect_t *e = &c.e;
    c.x.cc.backoff_min_ms = 100;
    it_feed_start(&c.x);
    assert_true(wait_frames(3 * 300 + e->n, 30000));
    feed_loop_stop(c.x.loop);
    const feed_stats_t *fs = feed_conn_stats(c.x.conn);
    const feed_conn_tstats_t *ts = feed_conn_tstats(c.x.conn);
    assert_true(G.opens >= 4);
    assert_int_equal(TG_STAT_GET(fs->reconnects), (uint64_t)G.opens - 1);
    assert_int_equal(TG_STAT_GET(ts->connects), (uint64_t)G.opens);
    /* each dropped connection delivered exactly the first 300 frames, then a resync */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(G.conn_start[k + 1] - G.conn_start[k], 300);
        assert_frames_equal(e, G.conn_start[k], 300);
        /* backoff: at least half the (doubling) delay passed between close and reopen */
        int64_t gap_ms = (G.open_mono[k + 1] - G.close_mono[k]) / TG_NS_PER_MS;
        assert_true(gap_ms >= (100 << k) / 2 - 1);
    }
    assert_frames_equal(e, G.conn_start[3], e->n);
    size_t stales = 0;
    uint64_t last = 0;
    drain_ring(c.x.ring, NULL, &stales, &last);
    assert_int_equal(stales, (size_t)G.closes); /* on_close -> STALE for the book */
    fcase_close(&c);
}

static void test_oversized_message_resets_the_connection_and_truncated_frame_is_delivered(void **st)
{
    fcase_t c;
    const char *args[] = {"--fault", "oversize@100,times=1", "--fault", "truncate@50", NULL};
    fcase_open(&c, KRAKEN, args, false, 1u << 16);
    G.keep = true;
    const it_expect_t *e = &c.e;
    c.x.cc.max_msg = 1u << 20; /* the junk frame is larger */
    it_feed_start(&c.x);
    assert_true(wait_frames(99 + e->n, 30000));
    feed_loop_stop(c.x.loop);
    assert_int_equal(TG_STAT_GET(feed_conn_tstats(c.x.conn)->oversized), 1);
    assert_true(G.opens >= 2);
    assert_int_equal(G.conn_start[1], 99); /* frames 1..99, then the junk frame: reset */
    for (int k = 0; k < 2; k++) {
        size_t b = G.conn_start[k];
        /* frame 50 is cut to its first half, the others are intact */
        assert_true(G.len[b + 49] < e->len[49]);
        assert_memory_equal(G.f[b + 49], e->f[49], G.len[b + 49]);
        assert_int_equal(G.len[b + 50], e->len[50]);
        assert_memory_equal(G.f[b + 50], e->f[50], e->len[50]);
    }
    fcase_close(&c);
}

static void test_silent_feed_goes_stale_and_reconnects(void **st)
{
    fcase_t c;
    const char *args[] = {"--fault", "stall=5000@20,times=1", NULL};
    fcase_open(&c, KRAKEN, args, false, 1u << 16);
    c.x.cc.stale_ms = 2000; /* margin for a loaded machine; the stall is 5 s */
    it_feed_start(&c.x);
    assert_true(wait_frames(20 + c.e.n, 30000));
    feed_loop_stop(c.x.loop);
    const feed_conn_tstats_t *ts = feed_conn_tstats(c.x.conn);
    assert_int_equal(TG_STAT_GET(ts->stale), 1);
    assert_int_equal(G.conn_start[1], 20);
    assert_int_equal(TG_STAT_GET(feed_conn_stats(c.x.conn)->reconnects), (uint64_t)G.opens - 1);
    fcase_close(&c);
}

/* Start, wait up to 10 s for the first REST answer, stop. */
static void run_until_rest(fx_t *x)
{
    it_feed_start(x);
    for (int i = 0; i < 2000 && atomic_load(&G.rest_pub) == 0; i++)
        usleep(5000);
    feed_loop_stop(x->loop);
    assert_true(atomic_load(&G.rest_pub) >= 1);
}

static void rest_case(bool tls)
{
    fcase_t c;
    fcase_open(&c, BINANCE, NULL, tls, 1u << 16);
    const it_expect_t *e = &c.e;
    assert_non_null(e->rest_body);
    G.rest_path = "/api/v3/depth?symbol=BTCUSDT&limit=1000";
    snprintf(c.x.rest, sizeof(c.x.rest), "%s://localhost:%d", tls ? "https" : "http", c.s.port);
    c.x.cc.rest_url = c.x.rest;
    run_until_rest(&c.x);
    assert_int_equal(G.rest_status, 200);
    assert_int_equal(G.rest_tag, 42);
    assert_int_equal(G.rest_len, e->rest_len);
    assert_memory_equal(G.rest_body, e->rest_body, e->rest_len);
    assert_int_equal(TG_STAT_GET(feed_conn_tstats(c.x.conn)->rest_ok), 1);
    fcase_close(&c);
}

static void test_rest_snapshot_over_http_is_the_recorded_body(void **st)
{
    rest_case(false);
}

static void test_rest_snapshot_over_verified_https_is_the_recorded_body(void **st)
{
    rest_case(true);
}

static void test_rest_to_a_closed_port_reports_status_zero(void **st)
{
    fcase_t c;
    fcase_open(&c, KRAKEN, NULL, false, 1u << 16);
    G.rest_path = "/api/v3/depth?symbol=X";
    c.x.cc.rest_url = "http://127.0.0.1:1";
    run_until_rest(&c.x);
    assert_int_equal(G.rest_status, 0);
    assert_true(TG_STAT_GET(feed_conn_tstats(c.x.conn)->rest_fail) >= 1);
    fcase_close(&c);
}

/* Ring (ring_cap) + overflow (ovf) < the 4321 frames; nobody drains the ring at first. */
static void full_ring_case(uint32_t ring_cap, uint32_t ovf)
{
    fcase_t c;
    const char *args[] = {"--hold", NULL}; /* the server never closes: reconnects are ours */
    fcase_open(&c, KRAKEN, args, false, ring_cap);
    const it_expect_t *e = &c.e;
    fx_t *x = &c.x;
    x->cc.ring_wait_us = 2000;
    x->cc.ring_overflow = ovf;
    it_feed_start(x);
    const feed_stats_t *fs = feed_conn_stats(x->conn);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x->conn);
    /* Still not draining: the overflow closes the connection; the next one's events are
     * dropped too while the GAP waits for room. */
    for (int i = 0; i < 2000 && atomic_load(&G.opens_pub) < 2; i++)
        usleep(5000);
    assert_true(TG_STAT_GET(fs->ring_full) >= 1);
    assert_int_equal(TG_STAT_GET(ts->gap_marks), 0);
    assert_true(atomic_load(&G.opens_pub) >= 2); /* publishes conn_start[1] */
    size_t second = G.conn_start[1];
    for (int i = 0; i < 2000 && atomic_load(&G.n_pub) < second + e->n; i++)
        usleep(5000);
    /* Now drain: the GAP for the book must come through, and since the second connection's
     * events (its snapshots, for a real venue) were lost too, a third connection resyncs. */
    size_t gaps = 0, stales = 0, got = 0;
    for (int i = 0; i < 16000 && (gaps == 0 || atomic_load(&G.opens_pub) < 3); i++) {
        got += drain_ring(x->ring, &gaps, &stales, NULL);
        usleep(500);
    }
    assert_true(gaps >= 1);
    assert_true(atomic_load(&G.opens_pub) >= 3); /* publishes conn_start[2] */
    /* the third connection is delivered in full while we keep draining */
    size_t third = G.conn_start[2];
    for (int i = 0; i < 16000 && atomic_load(&G.n_pub) < third + e->n; i++) {
        got += drain_ring(x->ring, &gaps, &stales, NULL);
        usleep(500);
    }
    feed_loop_stop(x->loop);
    got += drain_ring(x->ring, &gaps, &stales, NULL);
    assert_int_equal(G.n - third, e->n);
    assert_int_equal(TG_STAT_GET(ts->gap_marks), gaps);
    assert_true(TG_STAT_GET(ts->ev_dropped) > 0);
    /* nothing vanished silently: delivered + dropped == emitted */
    assert_int_equal(got - gaps + TG_STAT_GET(ts->ev_dropped), G.n + (size_t)G.closes);
    if (ovf) { /* the overflow filled up before the drop, then was emptied */
        assert_true(TG_STAT_GET(ts->ovf.episodes) >= 1);
        assert_int_equal(TG_STAT_GET(ts->ovf.events), 0);
    } else {
        assert_int_equal(TG_STAT_GET(ts->ovf.episodes), 0);
    }
    fcase_close(&c);
}

static void test_full_ring_drops_counts_marks_gap_and_resyncs(void **st)
{
    full_ring_case(4096, 0);
}

/* Ring and overflow full: the same drop, GAP and resync (4096 events in all, < 4321). */
static void test_full_ring_and_overflow_drop_count_mark_gap_and_resync(void **st)
{
    full_ring_case(1024, 3072);
}

/* The recording (4321 frames, one event each) into a ring of 1024 that nobody drains until
 * every frame is in: the overflow holds the rest, in order, and hands it over as the consumer
 * makes room, each refill within ms although the feed is idle by then (the loop's tick is
 * 1 s here); after it drained it is unmapped. Nothing is dropped, no GAP, no resync. */
static void test_a_burst_beyond_the_ring_goes_through_the_overflow_in_order(void **st)
{
    fcase_t c;
    const char *args[] = {"--hold", NULL};
    fcase_open(&c, KRAKEN, args, false, 1024);
    const it_expect_t *e = &c.e;
    fx_t *x = &c.x;
    feed_loop_destroy(&x->loop);
    feed_loop_cfg_t lc;
    feed_loop_cfg_defaults(&lc);
    lc.tick_ms = 1000;
    assert_int_equal(feed_loop_create(&x->loop, &lc), 0);
    x->cc.ring_overflow = 8192;
    x->cc.log = test_log;
    it_feed_start(x);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x->conn);
    assert_true(wait_frames(e->n, 30000));
    assert_int_equal(TG_STAT_GET(ts->ovf.episodes), 1);
    assert_int_equal(TG_STAT_GET(ts->ovf.events), e->n - 1024);
    assert_true(TG_STAT_GET(ts->ovf.bytes) >= (e->n - 1024) * sizeof(tg_event_t));
    uint64_t last = 0;
    size_t got = 0;
    int64_t worst = 0;
    while (got < e->n) {
        int64_t t0 = tg_clock_mono_ns();
        size_t k = 0;
        while ((k = drain_ring(x->ring, NULL, NULL, &last)) == 0 &&
               tg_clock_mono_ns() - t0 < 5 * TG_NS_PER_SEC)
            usleep(100);
        if (k == 0)
            fail_msg("no event for 5 s after %zu of %zu", got, e->n);
        if (got && tg_clock_mono_ns() - t0 > worst)
            worst = tg_clock_mono_ns() - t0;
        got += k;
    }
    assert_int_equal(got, e->n);
    assert_int_equal(last, e->n); /* in order (drain_ring checks), the last one last */
    print_message("overflow: slowest refill of the drained ring %.1f ms\n", (double)worst / 1e6);
    assert_true(worst < 300 * TG_NS_PER_MS); /* the 1 s tick alone would take up to 1 s */
    assert_int_equal(TG_STAT_GET(ts->ovf.events), 0);
    /* released: empty for OVF_LINGER_NS (1 s), seen by the 1 s tick */
    for (int i = 0; i < 1000 && TG_STAT_GET(ts->ovf.bytes); i++)
        usleep(5000);
    assert_int_equal(TG_STAT_GET(ts->ovf.bytes), 0);
    feed_loop_stop(x->loop);
    drain_ring(x->ring, NULL, NULL, NULL);
    assert_int_equal(TG_STAT_GET(ts->ev_dropped), 0);
    assert_int_equal(TG_STAT_GET(ts->gap_marks), 0);
    assert_int_equal(TG_STAT_GET(feed_conn_stats(x->conn)->ring_full), 0);
    assert_int_equal(G.opens, 1);
    fcase_close(&c);
}

/* A slow consumer (the builder while the feeds stop): pops 64 events every 2 ms until
 * told to stop and the ring is empty; counts trades and checks their order. */
typedef struct slowc {
    tg_ring_t *ring;
    atomic_bool stop;
    size_t trades;
    uint64_t last;
    bool ordered;
} slowc_t;

static void *slow_consumer(void *arg)
{
    slowc_t *k = arg;
    tg_event_t ev[64]; /* ~32 k events/s: the burst takes ~140 ms, more than one ring wait */
    for (;;) {
        uint32_t n = tg_ring_spsc_pop_n(k->ring, ev, 64);
        for (uint32_t i = 0; i < n; i++)
            if (ev[i].kind == TG_EV_TRADE) {
                k->ordered = k->ordered && ev[i].seq > k->last;
                k->last = ev[i].seq;
                k->trades++;
            }
        if (!n && atomic_load(&k->stop))
            return NULL;
        usleep(2000);
    }
}

/* Stop while the overflow holds most of a burst: the builder still runs while the feeds
 * stop, so the held events go on into the ring (in order, none dropped); with nobody
 * draining, what is still held after the stop's wait is dropped and counted. */
static void stop_with_a_held_overflow(bool consumer)
{
    fcase_t c;
    const char *args[] = {"--hold", NULL};
    fcase_open(&c, KRAKEN, args, false, 1024);
    const it_expect_t *e = &c.e;
    fx_t *x = &c.x;
    x->cc.ring_overflow = 8192;
    it_feed_start(x);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x->conn);
    assert_true(wait_frames(e->n, 30000));
    uint64_t held = TG_STAT_GET(ts->ovf.events);
    assert_int_equal(held, e->n - 1024);
    slowc_t k = {.ring = x->ring, .ordered = true};
    pthread_t th;
    if (consumer)
        assert_int_equal(pthread_create(&th, NULL, slow_consumer, &k), 0);
    int64_t t0 = tg_clock_mono_ns();
    feed_loop_stop(x->loop);
    int64_t stop_ns = tg_clock_mono_ns() - t0;
    if (consumer) {
        atomic_store(&k.stop, true);
        pthread_join(th, NULL);
        print_message("stop with %llu held events: %.1f ms, %zu trades delivered\n",
                      (unsigned long long)held, (double)stop_ns / 1e6, k.trades);
        assert_int_equal(k.trades, e->n);
        assert_true(k.ordered);
        assert_int_equal(TG_STAT_GET(ts->ev_dropped), 0);
    } else {
        print_message("stop with %llu held events, nobody draining: %.1f ms, %llu dropped\n",
                      (unsigned long long)held, (double)stop_ns / 1e6,
                      (unsigned long long)TG_STAT_GET(ts->ev_dropped));
        /* the held trades and the close's STALE (one instrument) queued behind them */
        assert_int_equal(TG_STAT_GET(ts->ev_dropped), held + 1);
        assert_true(stop_ns < 5 * TG_NS_PER_SEC); /* bounded: the 500 ms wait, not forever */
        drain_ring(x->ring, NULL, NULL, NULL);
    }
    assert_int_equal(TG_STAT_GET(ts->ovf.events), 0);
    assert_int_equal(TG_STAT_GET(ts->ovf.bytes), 0);
    fcase_close(&c);
}

static void test_stop_hands_a_held_overflow_to_a_running_consumer(void **st)
{
    stop_with_a_held_overflow(true);
}

static void test_stop_drops_and_counts_a_held_overflow_nobody_drains(void **st)
{
    stop_with_a_held_overflow(false);
}

static void test_stop_is_prompt_while_backing_off_from_a_closed_port(void **st)
{
    tstate_reset();
    fx_t x;
    fx_init(&x, 1024);
    x.cc.url = "ws://127.0.0.1:1/ws";
    x.cc.backoff_min_ms = 5000;
    x.cc.backoff_max_ms = 5000;
    it_feed_start(&x);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x.conn);
    for (int i = 0; i < 400 && TG_STAT_GET(ts->connect_errors) == 0; i++)
        usleep(5000);
    assert_int_equal(TG_STAT_GET(ts->connect_errors), 1);
    feed_conn_status_t cs;
    feed_conn_status(x.conn, &cs);
    assert_int_equal(cs.state, FEED_CONN_BACKOFF);
    int64_t t0 = tg_clock_mono_ns();
    feed_loop_stop(x.loop);
    assert_true(tg_clock_mono_ns() - t0 < 1000 * TG_NS_PER_MS);
    feed_conn_status(x.conn, &cs);
    assert_int_equal(cs.state, FEED_CONN_STOPPED);
    it_feed_free(&x);
}

static void test_a_server_that_never_answers_hits_the_connect_timeout(void **st)
{
    /* a listening socket that is never accepted: TCP connects, the upgrade never answers */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    tstate_reset();
    fx_t x;
    fx_init(&x, 1024);
    snprintf(x.url, sizeof(x.url), "ws://127.0.0.1:%d/ws", ntohs(a.sin_port));
    x.cc.url = x.url;
    x.cc.connect_timeout_ms = 300;
    x.cc.backoff_min_ms = 20;
    x.cc.backoff_max_ms = 40;
    it_feed_start(&x);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x.conn);
    int64_t t0 = tg_clock_mono_ns();
    for (int i = 0; i < 800 && TG_STAT_GET(ts->connect_errors) < 2; i++)
        usleep(5000);
    int64_t el = tg_clock_mono_ns() - t0;
    feed_loop_stop(x.loop);
    close(fd);
    assert_true(TG_STAT_GET(ts->connect_errors) >= 2);
    assert_true(el >= 2 * 300 * TG_NS_PER_MS - 50 * TG_NS_PER_MS); /* two full timeouts */
    assert_int_equal(G.opens, 0);
    it_feed_free(&x);
}

static void test_an_idle_connection_is_pinged_ticked_and_kept(void **st)
{
    fcase_t c;
    const char *args[] = {"--hold", NULL};
    fcase_open(&c, KRAKEN, args, false, 1u << 16);
    c.x.cc.ping_ms = 600; /* also the pong timeout: margin for a loaded machine */
    c.x.cc.stale_ms = 0;  /* silence alone must not close it */
    it_feed_start(&c.x);
    assert_true(wait_frames(c.e.n, 30000));
    const feed_conn_tstats_t *ts = feed_conn_tstats(c.x.conn);
    for (int i = 0; i < 1000 && (TG_STAT_GET(ts->pongs) < 2 || atomic_load(&G.ticks) < 2); i++)
        usleep(5000);
    feed_loop_stop(c.x.loop);
    assert_true(TG_STAT_GET(ts->pings) >= 2);
    assert_true(TG_STAT_GET(ts->pongs) >= 2); /* the server answers; lws handles it */
    assert_true(atomic_load(&G.ticks) >= 2);
    assert_int_equal(G.opens, 1);
    assert_int_equal(TG_STAT_GET(ts->closes), 1); /* only the stop */
    fcase_close(&c);
}

/* Several connections on one loop: a handler keyed by the connection's instrument keeps a
 * count and an FNV-1a chain of its frames. */
typedef struct mc {
    _Atomic uint64_t n;
    uint64_t hash;
    feed_tgrec_t *rec; /* its subscribes are sent on open */
} mc_t;
static mc_t g_mc[4];

static int mc_on_open(feed_handler_t *h)
{
    const feed_tgrec_t *r = g_mc[h->instr[0] & 3].rec;
    for (size_t i = 0; r && i < r->n_sent; i++)
        h->send(h->tctx, r->sent[i], strlen(r->sent[i]));
    return 0;
}

static int mc_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t tr, int64_t tm)
{
    mc_t *m = &g_mc[h->instr[0] & 3];
    m->hash = feed_hash_id(buf, len) ^ (m->hash * 0x100000001b3ull);
    atomic_fetch_add(&m->n, 1);
    return 0;
}

static void mc_on_close(feed_handler_t *h, int64_t tr, int64_t tm)
{
}

static const feed_venue_t mc_venue = {
    .name = "test", .on_open = mc_on_open, .on_frame = mc_on_frame, .on_close = mc_on_close};

static void test_three_connections_share_one_loop_each_gets_its_own_stream(void **st)
{
    const char *recs[3] = {KRAKEN, "okex/cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec",
                           "bybit/nautilus_bybit_ob500_XRPUSDT_20241201.tgrec"};
    const char *syms[3][1] = {{"A"}, {"B"}, {"C"}};
    uint64_t want_n[3] = {0}, want_h[3] = {0};
    it_srv_t s[3];
    it_expect_t e[3];
    fx_t x;
    fx_init(&x, 1024);
    memset(g_mc, 0, sizeof(g_mc));
    const char *args[] = {"--hold", NULL};
    char urls[3][128];
    for (int k = 0; k < 3; k++) {
        it_expect_load(&e[k], g_recs, recs[k], 0);
        for (size_t i = 0; i < e[k].n; i++)
            want_h[k] = feed_hash_id(e[k].f[i], e[k].len[i]) ^ (want_h[k] * 0x100000001b3ull);
        want_n[k] = e[k].n;
        g_mc[(k + 1) & 3].rec = e[k].r;
        server_start(&s[k], recs[k], args);
        uint32_t id;
        assert_int_equal(tg_instr_reg_add(x.reg, "test", syms[k][0], NULL, &id), 0);
        feed_conn_cfg_t c = x.cc;
        c.venue_impl = &mc_venue;
        c.symbols = syms[k];
        c.n_symbols = 1;
        c.name = syms[k][0];
        snprintf(urls[k], sizeof(urls[k]), "ws://127.0.0.1:%d/ws", s[k].port);
        c.url = urls[k];
        assert_int_equal(feed_loop_add(x.loop, &c, NULL), 0);
    }
    assert_int_equal(feed_loop_count(x.loop), 3);
    assert_int_equal(feed_loop_start(x.loop), 0);
    for (int i = 0; i < 3000; i++) {
        bool done = true;
        for (int k = 0; k < 3; k++)
            done &= atomic_load(&g_mc[(k + 1) & 3].n) >= want_n[k];
        if (done)
            break;
        usleep(5000);
    }
    feed_loop_stop(x.loop);
    for (int k = 0; k < 3; k++) {
        /* ids: "XBT/TEST" is 0, then A, B, C */
        assert_int_equal(atomic_load(&g_mc[(k + 1) & 3].n), want_n[k]);
        assert_true(g_mc[(k + 1) & 3].hash == want_h[k]);
        feed_conn_status_t cs;
        feed_conn_status(feed_loop_conn(x.loop, (size_t)k), &cs);
        assert_int_equal(cs.state, FEED_CONN_STOPPED);
        assert_string_equal(feed_conn_name(feed_loop_conn(x.loop, (size_t)k)), syms[k][0]);
        it_srv_stop(&s[k]);
        g_mc[(k + 1) & 3].rec = NULL;
        it_expect_free(&e[k]);
    }
    it_feed_free(&x);
}

static void test_bad_configs_are_refused(void **st)
{
    fx_t x;
    fx_init(&x, 1024);
    feed_conn_cfg_t c = x.cc;
    c.url = "http://127.0.0.1:1/";
    assert_int_equal(feed_loop_add(x.loop, &c, NULL), TG_ECONFIG);
    c = x.cc;
    c.url = "ws://:80/";
    assert_int_equal(feed_loop_add(x.loop, &c, NULL), TG_ECONFIG);
    c = x.cc;
    c.url = "ws://127.0.0.1:1/";
    c.ring = NULL;
    assert_int_equal(feed_loop_add(x.loop, &c, NULL), TG_ECONFIG);
    static const char *const unknown[] = {"NOPE"};
    c = x.cc;
    c.url = "ws://127.0.0.1:1/";
    c.symbols = unknown;
    assert_int_equal(feed_loop_add(x.loop, &c, NULL), TG_ESYMBOL);
    c = x.cc;
    c.venue_impl = NULL;
    c.venue = "no-such-venue";
    assert_int_equal(feed_loop_add(x.loop, &c, NULL), TG_ECONFIG);
    assert_int_equal(feed_loop_count(x.loop), 0);
    it_feed_free(&x);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configs_are_refused),
        {"test_every_kraken_frame_arrives_byte_identical_over_ws_via_dns", test_whole_recording,
         NULL, NULL, &k_whole_ws},
        {"test_every_kraken_frame_arrives_byte_identical_over_verified_wss", test_whole_recording,
         NULL, NULL, &k_whole_wss},
        {"test_capture_writes_a_tgrec_file_that_reads_back_identical", test_whole_recording, NULL,
         NULL, &k_whole_capture},
        cmocka_unit_test(test_wss_with_an_untrusted_certificate_never_delivers_and_backs_off),
        cmocka_unit_test(test_dropped_connections_reconnect_with_backoff_and_resync),
        cmocka_unit_test(
            test_oversized_message_resets_the_connection_and_truncated_frame_is_delivered),
        cmocka_unit_test(test_silent_feed_goes_stale_and_reconnects),
        cmocka_unit_test(test_rest_snapshot_over_http_is_the_recorded_body),
        cmocka_unit_test(test_rest_snapshot_over_verified_https_is_the_recorded_body),
        cmocka_unit_test(test_rest_to_a_closed_port_reports_status_zero),
        cmocka_unit_test(test_full_ring_drops_counts_marks_gap_and_resyncs),
        cmocka_unit_test(test_full_ring_and_overflow_drop_count_mark_gap_and_resync),
        cmocka_unit_test(test_a_burst_beyond_the_ring_goes_through_the_overflow_in_order),
        cmocka_unit_test(test_stop_hands_a_held_overflow_to_a_running_consumer),
        cmocka_unit_test(test_stop_drops_and_counts_a_held_overflow_nobody_drains),
        cmocka_unit_test(test_stop_is_prompt_while_backing_off_from_a_closed_port),
        cmocka_unit_test(test_a_server_that_never_answers_hits_the_connect_timeout),
        cmocka_unit_test(test_an_idle_connection_is_pinged_ticked_and_kept),
        cmocka_unit_test(test_three_connections_share_one_loop_each_gets_its_own_stream),
        {"test_frames_arrive_identical_with_permessage_deflate_offered", test_whole_recording, NULL,
         NULL, &k_whole_deflate},
    };
    return it_replay_main(&g_bin, &g_recs, &g_root, &g_tls, "feedconn", tests,
                          sizeof(tests) / sizeof(tests[0]));
}
