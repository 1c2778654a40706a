/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: websocket receive throughput of feeds/feed_conn from tickgate-replay at --max
 * (ws and wss, loopback), with a handler that emits one event per frame into a ring drained by
 * a consumer thread. Reference in the same run: the replay's minimal lws client
 * (tools/replay/tool_replay_client.h) on the same server and data: lws alone, no handler,
 * no ring, no stamping. Prints frames/s and MB/s (payload) per run and the medians.
 *
 *   TG_REPLAY_BIN=build/tools/replay/tickgate-replay TG_RECORDINGS=../shared/recordings \
 *   TG_SOURCE_ROOT=$PWD build/tests/integration/bench_feed_conn [runs] [loops]
 */
#include <fcntl.h>
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

#include "tests/fixtures/replay_proc.h"
#include "tests/fixtures/it_cert.h"
#include "book/tg_clock.h"
#include "book/tg_ring.h"
#include "feeds/net/feed_conn.h"
#include "feeds/rec/feed_tgrec.h"
#include "tools/replay/tool_replay_client.h"
#include "tools/bench/bench_stat.h"

#define REC "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"

static const char *g_bin, *g_recs;
static it_cert_t g_tls;

static pid_t server_start(bool tls, int loops, int *port)
{
    char path[1024], lp[16];
    snprintf(path, sizeof(path), "%s/%s", g_recs, REC);
    snprintf(lp, sizeof(lp), "%d", loops);
    const char *argv[16] = {g_bin, "serve", "--port", "0", "--quiet", "--max", "--loop", lp};
    size_t n = 8;
    if (tls) {
        argv[n++] = "--tls";
        argv[n++] = "--cert";
        argv[n++] = g_tls.cert;
        argv[n++] = "--key";
        argv[n++] = g_tls.key;
    }
    argv[n++] = path;
    argv[n] = NULL;
    int nul = open("/dev/null", O_WRONLY);
    pid_t pid = replay_proc_start(argv, nul, port);
    close(nul);
    if (pid < 0) {
        fprintf(stderr, "server did not start\n");
        exit(1);
    }
    return pid;
}

static void server_stop(pid_t pid)
{
    replay_proc_stop(pid);
}

/* ---- feed_conn side ---- */

static const char *const *g_sent;
static char g_path[512] = "/ws"; /* the recorded url's path (the server compares it) */
static size_t g_nsent;
static uint64_t g_frames, g_bytes;
static int64_t g_t0, g_t1, g_c0, g_c1; /* wall and loop-thread CPU, first..last frame */
static uint64_t g_expect;
static _Atomic uint64_t g_frames_pub;

static int b_open(feed_handler_t *h)
{
    for (size_t i = 0; i < g_nsent; i++)
        h->send(h->tctx, g_sent[i], strlen(g_sent[i]));
    return 0;
}

static int b_frame(feed_handler_t *h, const char *buf, size_t len, int64_t tr, int64_t tm)
{
    /* thread CPU time is a system call: read it only at the first and the last frame */
    if (!g_frames || g_frames + 1 == g_expect) {
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        *(g_frames ? &g_c1 : &g_c0) = (int64_t)cpu.tv_sec * TG_NS_PER_SEC + cpu.tv_nsec;
    }
    if (!g_frames)
        g_t0 = tm;
    g_t1 = tm;
    g_frames++;
    g_bytes += len;
    tg_event_t ev = {
        .kind = TG_EV_TRADE, .seq = g_frames, .ts_recv = tr, .ts_mono = tm, .flags = TG_EVF_LAST};
    feed_emit(h, &ev);
    atomic_store_explicit(&g_frames_pub, g_frames, memory_order_release);
    return 0;
}

static void b_close(feed_handler_t *h, int64_t tr, int64_t tm)
{
}

static const feed_venue_t b_venue = {
    .name = "bench", .on_open = b_open, .on_frame = b_frame, .on_close = b_close};

static _Atomic bool g_drain_stop;

static void *drain_main(void *arg)
{
    tg_ring_t *r = arg;
    tg_event_t ev[256];
    while (!atomic_load_explicit(&g_drain_stop, memory_order_acquire))
        if (!tg_ring_spsc_pop_n(r, ev, 256))
            usleep(1000); /* the ring holds 65536 events: ample for 1 ms */
    return NULL;
}

static void run_feed_conn(bool tls, int loops, uint64_t expect, double *fps, double *mbps,
                          double *cpu_us)
{
    int port;
    pid_t pid = server_start(tls, loops, &port);
    tg_ring_t *ring;
    tg_ring_create(&ring, 1u << 16, sizeof(tg_event_t));
    feed_loop_t *loop;
    feed_loop_create(&loop, NULL);
    feed_conn_cfg_t c;
    feed_conn_cfg_defaults(&c);
    char url[700];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", tls ? "wss" : "ws", port, g_path);
    c.url = url;
    c.venue_impl = &b_venue;
    c.ring = ring;
    c.ca_file = tls ? g_tls.cert : NULL;
    g_frames = g_bytes = 0;
    g_expect = expect;
    atomic_store(&g_frames_pub, 0);
    atomic_store(&g_drain_stop, false);
    pthread_t th;
    pthread_create(&th, NULL, drain_main, ring);
    if (feed_loop_add(loop, &c, NULL) || feed_loop_start(loop)) {
        fprintf(stderr, "feed_conn start failed\n");
        exit(1);
    }
    int64_t deadline = tg_clock_mono_ns() + 120 * TG_NS_PER_SEC;
    while (atomic_load_explicit(&g_frames_pub, memory_order_acquire) < expect &&
           tg_clock_mono_ns() < deadline)
        usleep(2000);
    feed_loop_stop(loop);
    atomic_store(&g_drain_stop, true);
    pthread_join(th, NULL);
    double s = (double)(g_t1 - g_t0) / 1e9;
    *fps = (double)g_frames / s;
    *mbps = (double)g_bytes / s / 1e6;
    *cpu_us = (double)(g_c1 - g_c0) / 1e3 / (double)(g_expect - 1);
    feed_loop_destroy(&loop);
    tg_ring_destroy(&ring);
    server_stop(pid);
}

static int64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * TG_NS_PER_SEC + t.tv_nsec;
}

static void run_reference(bool tls, int loops, double *fps, double *mbps, double *cpu_us)
{
    int port;
    pid_t pid = server_start(tls, loops, &port);
    tool_replay_client_cfg_t c = {0};
    c.port = port;
    c.path = g_path;
    c.tls = tls;
    c.send = g_sent;
    c.n_send = g_nsent;
    c.timeout_ms = 120000;
    tool_replay_client_res_t r;
    int64_t c0 = thread_cpu_ns();
    tool_replay_client_run(&c, &r, 1);
    /* includes connect and teardown: a slight overestimate for the reference */
    *cpu_us = (double)(thread_cpu_ns() - c0) / 1e3 / (double)r.frames;
    double s = (double)(r.t_last_us - r.t_first_us) / 1e6;
    *fps = (double)r.frames / s;
    *mbps = (double)r.bytes / s / 1e6;
    tool_replay_client_res_free(&r);
    server_stop(pid);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    int loops = argc > 2 ? atoi(argv[2]) : 3;
    if (runs < 1 || runs > 50 || loops < 1)
        return 2;
    const char *root;
    int erc = it_replay_env(&g_bin, &g_recs, &root, &g_tls, "bench");
    if (erc != 0)
        return erc;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, REC);
    feed_tgrec_t *rec;
    if (feed_tgrec_open(&rec, path))
        return 1;
    g_sent = rec->sent;
    const char *p = strstr(rec->url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    if (p)
        snprintf(g_path, sizeof(g_path), "%s", p);
    g_nsent = rec->n_sent;
    uint64_t per_pass = 0;
    int64_t ts;
    const char *f;
    size_t len;
    while (feed_tgrec_next(rec, &ts, &f, &len) == 1)
        per_pass += !feed_tgrec_is_generated(f, len);
    uint64_t expect = per_pass * (uint64_t)loops;
    printf("bench_feed_conn: %s, %llu frames per run (%d passes), %d runs, medians\n", REC,
           (unsigned long long)expect, loops, runs);
    for (int tls = 0; tls < 2; tls++) {
        double a[50], b[50], cu[50], ra[50], rb[50], rc[50];
        for (int i = 0; i < runs; i++) {
            run_feed_conn(tls, loops, expect, &a[i], &b[i], &cu[i]);
            run_reference(tls, loops, &ra[i], &rb[i], &rc[i]);
            printf("  %s run %d: feed_conn %.0f frames/s %.1f MB/s %.2f us CPU/frame | reference "
                   "lws client %.0f frames/s %.1f MB/s %.2f us CPU/frame\n",
                   tls ? "wss" : "ws ", i + 1, a[i], b[i], cu[i], ra[i], rb[i], rc[i]);
        }
        printf("%s: feed_conn median %.0f frames/s, %.1f MB/s, %.2f us CPU/frame; reference lws "
               "client median %.0f frames/s, %.1f MB/s, %.2f us CPU/frame\n",
               tls ? "wss" : "ws ", tb_median(a, runs), tb_median(b, runs), tb_median(cu, runs),
               tb_median(ra, runs), tb_median(rb, runs), tb_median(rc, runs));
    }
    feed_tgrec_close(&rec);
    return it_cert_remove(&g_tls) ? 1 : 0;
}
