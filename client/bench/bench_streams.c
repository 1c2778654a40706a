/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: the cost of Redis Streams (docs/redis.md "Streams", docs/clients.md "Recovery"),
 * each figure against a reference measured in the same run, rounds alternated, medians printed.
 *
 * 1. Publisher: N trade records pushed through the real publisher (store_rds) into a real
 *    redis-server, until store_rds_stop() has every reply: wall time and process CPU per trade,
 *    with stream_trades = 0 (reference) and with stream_trades = 100000 (PUBLISH + XADD).
 * 2. Client: a paced publisher thread (10 trades per ms, ts_recv = realtime at send) PUBLISHes
 *    and XADDs N trade documents; libtickgate-client follows them. Receive latency (ts_recv ->
 *    event, median and p99) and the client thread's CPU per trade: every message published
 *    (reference), and every 20th PUBLISH left out, so 5% of the trades reach the client by
 *    stream recovery (XRANGE after the next message shows the hole).
 *
 *   tests/fixtures/services.sh run build-rel/client/bench-streams [N] [ROUNDS]
 * Needs TG_TEST_REDIS_PORT (exit 77 without). Thread: main + the publisher's/pacer's thread.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tickgate/client.h>

#include "client/bench/bench_util.h"

#include "book/tg_clock.h"
#include "storage/redis/store_rds.h"

static int g_port, g_n;
static char g_url[64];

static double proc_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- 1. publisher ------------------------------------------------------------------------ */

static void pub_round(int round, bool streams, double *wall, double *cpu)
{
    tg_instr_reg_t *reg = NULL;
    tg_ring_t *ring = NULL;
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    ic.px_scale = 2;
    ic.sz_scale = 4;
    uint32_t ids[10];
    tg_instr_reg_create(&reg);
    for (int i = 0; i < 10; i++) {
        char sym[16];
        snprintf(sym, sizeof(sym), "S%d", i);
        tg_instr_reg_add(reg, "bv", sym, &ic, &ids[i]);
    }
    tg_ring_create(&ring, 8192, sizeof(book_out_t));
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "bp%d", round);
    store_rds_cfg_t rc;
    store_rds_cfg_defaults(&rc);
    rc.url = g_url;
    rc.prefix = prefix;
    rc.reg = reg;
    rc.ring = ring;
    rc.stream_trades = streams ? 100000 : 0;
    store_rds_t *p = NULL;
    if (store_rds_create(&p, &rc) || store_rds_start(p)) {
        fprintf(stderr, "publisher did not start\n");
        exit(1);
    }
    while (!TG_STAT_GET(store_rds_stats(p)->connected))
        usleep(1000);
    double c0 = proc_cpu_ns();
    int64_t t0 = tg_clock_mono_ns();
    for (int i = 1; i <= g_n; i++) {
        book_out_t r;
        memset(&r, 0, sizeof(r));
        r.kind = BOOK_OUT_TRADE;
        r.instr = ids[i % 10];
        r.ts_exch = 1700000000000000000LL + i;
        r.ts_recv = r.ts_exch + 1000;
        r.ts_mono = tg_clock_mono_ns();
        r.u.trade.price = 100000 + i;
        r.u.trade.size = i * 3 + 1;
        r.u.trade.trade_id = 5000 + (uint64_t)i;
        r.u.trade.side = i % 2 ? TG_SIDE_SELL : TG_SIDE_BUY;
        while (!tg_ring_spsc_push(ring, &r))
            ;
    }
    store_rds_stop(p);
    *wall = (double)(tg_clock_mono_ns() - t0) / g_n;
    *cpu = (proc_cpu_ns() - c0) / g_n;
    store_rds_destroy(&p);
    tg_ring_destroy(&ring);
    tg_instr_reg_destroy(&reg);
}

/* ---- 2. client ------------------------------------------------------------------------------ */

typedef struct pacer {
    char prefix[16];
    int skip; /* leave out every skip-th PUBLISH (0: none) */
} pacer_t;

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *pacer_main(void *arg)
{
    pacer_t *pc = arg;
    redisContext *c = redisConnect("127.0.0.1", g_port);
    char doc[512], ch[64], st[64];
    snprintf(ch, sizeof(ch), "%s.trades.bv.S0", pc->prefix);
    snprintf(st, sizeof(st), "%s:stream:trades:bv:S0", pc->prefix);
    const long long epoch = 1764000000000000000LL;
    int64_t next = tg_clock_mono_ns();
    int pending = 0;
    for (int i = 1; i <= g_n + 1; i++) { /* the last one ends the round */
        int n = snprintf(doc, sizeof(doc),
                         "{\"type\":\"trade\",\"venue\":\"bv\",\"symbol\":\"S0\",\"seq\":%d,"
                         "\"epoch\":%lld,\"price\":\"61837.%02d\",\"size\":\"0.%05d\","
                         "\"side\":\"buy\",\"trade_id\":%d,\"exch_seq\":%d,"
                         "\"ts_exch\":1764000000000000000,\"ts_recv\":%lld}",
                         i, epoch, i % 100, i % 99991 + 1, i, i, (long long)real_ns());
        redisAppendCommand(c, "XADD %s MAXLEN ~ 100000 %lld-%d seq %d doc %b", st, epoch / 1000000,
                           i, i, doc, (size_t)n);
        pending++;
        if (!pc->skip || i % pc->skip || i > g_n) {
            redisAppendCommand(c, "PUBLISH %s %b", ch, doc, (size_t)n);
            pending++;
        }
        if (i % 10 == 0 || i > g_n) { /* 10 per ms */
            for (; pending; pending--) {
                void *r = NULL;
                if (redisGetReply(c, &r) != REDIS_OK)
                    break;
                freeReplyObject(r);
            }
            next += 1000000;
            while (tg_clock_mono_ns() < next)
                ;
        }
    }
    redisFree(c);
    return NULL;
}

static void client_round(int round, int skip, double *lat_med, double *lat_p99, double *cpu)
{
    pacer_t pc = {.skip = skip};
    snprintf(pc.prefix, sizeof(pc.prefix), "bc%d", round);
    char why[256];
    tg_client_t *cl =
        bench_client_open(g_url, pc.prefix, "bv", "S0", TG_CLIENT_SUB_TRADES, why, sizeof(why));
    if (!cl) {
        fprintf(stderr, "client did not connect\n");
        exit(1);
    }
    double *lat = calloc((size_t)g_n + 1, sizeof(double));
    int n = 0;
    uint64_t filled = 0;
    tg_client_event_t ev;
    while (tg_client_next(cl, &ev, 0) > 0) /* the join (no key yet) */
        ;
    pthread_t th;
    pthread_create(&th, NULL, pacer_main, &pc);
    double c0 = thread_cpu_ns();
    while (n < g_n) {
        int rc = tg_client_next(cl, &ev, 2000);
        if (rc <= 0)
            break;
        if (ev.kind == TG_CLIENT_EV_HOLE)
            filled += ev.u.hole.filled;
        if (ev.kind != TG_CLIENT_EV_TRADE)
            continue;
        lat[n++] = (double)(real_ns() - ev.u.trade.ts_recv);
    }
    *cpu = (thread_cpu_ns() - c0) / (n ? n : 1);
    pthread_join(th, NULL);
    if (n != g_n || (skip && filled != (uint64_t)(g_n / skip))) {
        fprintf(stderr, "client round: %d trades, %llu filled\n", n, (unsigned long long)filled);
        exit(1);
    }
    qsort(lat, (size_t)n, sizeof(double), cmp_d);
    *lat_med = lat[n / 2];
    *lat_p99 = lat[(size_t)n * 99 / 100];
    free(lat);
    tg_client_destroy(&cl);
}

int main(int argc, char **argv)
{
    if (!(g_port = bench_redis_port()))
        return 77;
    snprintf(g_url, sizeof(g_url), "redis://127.0.0.1:%d", g_port);
    g_n = argc > 1 ? atoi(argv[1]) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    double w[2][64], c[2][64], lm[2][64], lp[2][64], cc[2][64];
    if (rounds > 64)
        rounds = 64;
    for (int r = 0; r < rounds; r++)
        for (int s = 0; s < 2; s++) {
            bool on = (r + s) % 2; /* alternate which goes first */
            pub_round(r * 2 + s, on, &w[on][r], &c[on][r]);
        }
    printf("publisher, %d trades per round, %d rounds (medians):\n", g_n, rounds);
    double w0 = median(w[0], rounds), w1 = median(w[1], rounds);
    double c0 = median(c[0], rounds), c1 = median(c[1], rounds);
    printf("  no stream (reference): %.0f ns/trade wall, %.0f ns/trade CPU\n", w0, c0);
    printf("  stream_trades:         %.0f ns/trade wall, %.0f ns/trade CPU\n", w1, c1);
    printf("  ratio streams/reference: wall %.2f, CPU %.2f\n", w1 / w0, c1 / c0);
    for (int r = 0; r < rounds; r++)
        for (int s = 0; s < 2; s++) {
            bool rec = (r + s) % 2;
            client_round(r * 2 + s, rec ? 20 : 0, &lm[rec][r], &lp[rec][r], &cc[rec][r]);
        }
    double l0 = median(lm[0], rounds), l1 = median(lm[1], rounds);
    double p0 = median(lp[0], rounds), p1 = median(lp[1], rounds);
    double k0 = median(cc[0], rounds), k1 = median(cc[1], rounds);
    printf("client, %d trades per round at 10/ms, %d rounds (medians of the rounds):\n", g_n,
           rounds);
    printf("  pub/sub only (reference):     latency median %.1f us, p99 %.1f us, CPU %.0f "
           "ns/trade\n",
           l0 / 1e3, p0 / 1e3, k0);
    printf("  5%% by stream recovery:        latency median %.1f us, p99 %.1f us, CPU %.0f "
           "ns/trade\n",
           l1 / 1e3, p1 / 1e3, k1);
    printf("  ratio recovery/reference: latency median %.2f, p99 %.2f, CPU %.2f\n", l1 / l0,
           p1 / p0, k1 / k0);
    return 0;
}
