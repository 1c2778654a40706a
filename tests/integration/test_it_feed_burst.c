/* SPDX-License-Identifier: MIT */
/*
 * Integration test of feeds/feed_conn: no received byte stays buffered in the TLS layer while
 * the socket is quiet. tickgate-replay (TG_REPLAY_BIN) serves a real recording (TG_RECORDINGS)
 * over wss as fast as we read (--max: many TLS records per TCP segment), then pauses
 * (--fault stall=T@N) or holds the connection open after the last frame (--hold). Every frame
 * sent before a pause must reach the handler during the pause, long before the next one, and
 * every frame of the recording must arrive while the connection sits idle at the end (pings
 * and the stale timer are off, so no later segment can flush a trapped record).
 * This is what OpenSSL read-ahead breaks with lws 4.1 (docs/feeds.md "TLS read-ahead").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/fixtures/it_feed_loop.h"
#include "tests/fixtures/it_replay_srv.h"
#include "book/tg_clock.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "feeds/net/feed_conn.h"
#include "feeds/rec/feed_tgrec.h"

#define KRAKEN   "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec"
#define STALL_MS 3000

static const char *g_bin, *g_recs, *g_root;
static it_cert_t g_tls;

/* Frames of the recording (not the generated REST lines) and its subscribes. */
typedef struct expect {
    feed_tgrec_t *r;
    size_t n;
} expect_t;

static void expect_load(expect_t *e)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, KRAKEN);
    memset(e, 0, sizeof(*e));
    assert_int_equal(feed_tgrec_open(&e->r, path), 0);
    int64_t ts;
    const char *f;
    size_t len;
    int rc;
    while ((rc = feed_tgrec_next(e->r, &ts, &f, &len)) == 1)
        if (!feed_tgrec_is_generated(f, len))
            e->n++;
    assert_int_equal(rc, 0);
    assert_true(e->n > 1000);
}

/* ---------- the replay server process ---------- */

static pid_t server_start(const char *const *extra, int *port)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, KRAKEN);
    const char *argv[32];
    size_t n = 0;
    const char *base[] = {g_bin,   "serve",  "--port",   "0",     "--quiet", "--max", "--hold",
                          "--tls", "--cert", g_tls.cert, "--key", g_tls.key, NULL};
    for (size_t i = 0; base[i]; i++)
        argv[n++] = base[i];
    for (size_t i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n++] = path;
    argv[n] = NULL;
    pid_t pid = replay_proc_start(argv, -1, port);
    assert_true(pid > 0);
    return pid;
}

static void server_stop(pid_t pid)
{
    replay_proc_stop(pid);
}

/* ---------- test venue handler: arrival time of every frame ---------- */

static struct {
    const char *const *sent;
    size_t n_sent;
    int64_t *mono; /* arrival (monotonic ns) of frame i */
    size_t cap, n;
    int opens, errors;
    _Atomic size_t n_pub;
} G;

static int tv_on_open(feed_handler_t *h)
{
    G.opens++;
    for (size_t i = 0; i < G.n_sent; i++)
        if (h->send(h->tctx, G.sent[i], strlen(G.sent[i])) != 0)
            G.errors++;
    return 0;
}

static int tv_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t tr, int64_t tm)
{
    (void)h, (void)buf, (void)len, (void)tr;
    if (G.n < G.cap)
        G.mono[G.n] = tm;
    G.n++;
    atomic_store(&G.n_pub, G.n);
    return 0;
}

static void tv_on_close(feed_handler_t *h, int64_t tr, int64_t tm)
{
    (void)h, (void)tr, (void)tm;
}

static const feed_venue_t tv_venue = {
    .name = "test", .on_open = tv_on_open, .on_frame = tv_on_frame, .on_close = tv_on_close};

static const char *const k_syms[] = {"XBT/TEST"};

static void test_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (getenv("TG_TEST_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", level, msg);
}

/* Serve the recording with `extra` faults; return when n frames arrived or after wait_ms. */
static void run(const expect_t *e, const char *const *extra, size_t n, int wait_ms)
{
    free(G.mono);
    memset(&G, 0, sizeof(G));
    G.sent = e->r->sent;
    G.n_sent = e->r->n_sent;
    G.cap = e->n;
    G.mono = calloc(G.cap, sizeof(*G.mono));
    assert_non_null(G.mono);
    int port;
    pid_t pid = server_start(extra, &port);
    it_feed_t x;
    it_feed_init(&x, "test", k_syms, 1u << 20);
    snprintf(x.url, sizeof(x.url), "wss://localhost:%d/ws", port);
    x.cc.url = x.url;
    x.cc.ca_file = g_tls.cert;
    x.cc.venue_impl = &tv_venue;
    x.cc.log = test_log;
    x.cc.ping_ms = 0; /* nothing may come from the server but the frames */
    x.cc.stale_ms = 0;
    it_feed_start(&x);
    for (int i = 0; i < wait_ms / 5 && atomic_load(&G.n_pub) < n; i++)
        usleep(5000);
    feed_loop_stop(x.loop);
    it_feed_free(&x);
    server_stop(pid);
    assert_int_equal(G.errors, 0);
    assert_int_equal(G.opens, 1);
}

/* ---------- tests ---------- */

static void test_every_frame_sent_before_a_pause_arrives_during_the_pause(void **st)
{
    (void)st;
    expect_t e;
    expect_load(&e);
    /* Several pauses, each after a burst of --max frames that queued up in the socket. */
    const size_t at[] = {500, 1500, 3000};
    char spec[3][64];
    const char *extra[8];
    size_t k = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_true(at[i] + 1 < e.n);
        snprintf(spec[i], sizeof(spec[i]), "stall=%d@%zu,times=1", STALL_MS, at[i]);
        extra[k++] = "--fault";
        extra[k++] = spec[i];
    }
    extra[k] = NULL;
    run(&e, extra, e.n, 30000);
    if (G.n != e.n)
        fail_msg("%zu of %zu frames arrived; the rest stayed buffered on an idle connection", G.n,
                 e.n);
    /* The replay server counts frames from 1: frame at[i] (index at[i] - 1) is the last one
     * before the pause. It must arrive well before the pause ends, i.e. before index at[i]
     * by most of the pause; and no other gap may come near a pause (nothing held back). */
    for (size_t i = 0; i < 3; i++) {
        int64_t gap_ms = (G.mono[at[i]] - G.mono[at[i] - 1]) / 1000000;
        if (gap_ms < STALL_MS / 2)
            fail_msg("pause after frame %zu: only %lld ms between frames %zu and %zu "
                     "(frames sent before the pause were held back)",
                     at[i], (long long)gap_ms, at[i], at[i] + 1);
    }
    for (size_t j = 1; j < G.n; j++) {
        bool pause = j == at[0] || j == at[1] || j == at[2];
        int64_t gap_ms = (G.mono[j] - G.mono[j - 1]) / 1000000;
        if (!pause && gap_ms >= STALL_MS / 2)
            fail_msg("frame %zu arrived %lld ms after the previous one", j + 1, (long long)gap_ms);
    }
    feed_tgrec_close(&e.r);
}

static void test_the_last_frames_arrive_while_the_connection_sits_idle(void **st)
{
    (void)st;
    expect_t e;
    expect_load(&e);
    run(&e, NULL, e.n, 15000);
    if (G.n != e.n)
        fail_msg("%zu of %zu frames arrived; the rest stayed buffered on an idle connection", G.n,
                 e.n);
    feed_tgrec_close(&e.r);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_frame_sent_before_a_pause_arrives_during_the_pause),
        cmocka_unit_test(test_the_last_frames_arrive_while_the_connection_sits_idle),
    };
    int rc = it_replay_main(&g_bin, &g_recs, &g_root, &g_tls, "burst", tests,
                            sizeof(tests) / sizeof(tests[0]));
    free(G.mono);
    return rc;
}
