/* SPDX-License-Identifier: MIT */
/*
 * tickgate-bench-redis: throughput of the Redis publisher (store_rds) against plain references
 * measured in the same run, on the same server:
 *   - publisher: a producer thread pushes book snapshots (5 levels a side, round-robin over
 *     many instruments) or trades into the ring as fast as it can; the publisher formats JSON,
 *     pipelines SET PX + PUBLISH (+ bbo SET) and waits for every reply (store_rds_stop);
 *   - raw hiredis: pipelined SET key EX 10 value + PUBLISH channel value pairs with
 *     redisAppendCommandArgv, batches of 256 pairs, replies drained per batch, the value being
 *     a book document of the same size;
 *   - redis-benchmark -P 100 (SET with the same payload size, and PUBLISH), when installed.
 * Each figure is the median of several runs; ratios are publisher / raw in commands per second.
 *
 * Usage: tickgate-bench-redis [-u URL] [-r RUNS] [-n RECORDS]   (URL default: TG_TEST_REDIS_URL)
 * Run via: tests/fixtures/services.sh run build/tools/tickgate-bench-redis
 * Thread: main (+ one producer thread and the publisher's writer:redis).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/book_out.h"
#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "storage/redis/store_rds.h"
#include "storage/redis/store_rds_conn.h"
#include "storage/redis/store_rds_fmt.h"
#include "tools/bench/bench_stat.h"

#define BENCH_INSTR    4096 /* = the largest coalescing window: books never coalesce */
#define BENCH_RUNS_MAX 15

typedef struct bench {
    const char *url;
    const char *cluster; /* set: the publisher on a Redis Cluster (these seeds), url unused */
    tg_instr_reg_t *reg;
    tg_ring_t *ring;
    uint64_t n;
    int kind;
    int64_t pace_ns; /* > 0: one record every pace_ns (latency run) */
} bench_t;

static book_out_t bench_rec(int kind, uint64_t i)
{
    book_out_t r;
    memset(&r, 0, sizeof(r));
    r.kind = (uint8_t)kind;
    r.instr = (uint32_t)(i % BENCH_INSTR);
    r.ts_exch = 1700000000000000000LL + (int64_t)i * 1000;
    r.ts_recv = r.ts_exch + 2500000;
    r.ts_mono = tg_clock_mono_ns();
    if (kind == BOOK_OUT_BOOK) {
        book_out_book_t *b = &r.u.book;
        b->seq = 40000000000ULL + i;
        b->generation = 1;
        b->state = BOOK_STATE_VALID;
        b->reason = BOOK_OUT_R_CHANGE;
        b->n_bids = b->n_asks = 5;
        b->depth_bids = b->depth_asks = 1000;
        for (int k = 0; k < 5; k++) {
            b->bids[k] = (tg_level_t){6183763000000LL - k * 1000000 - (int64_t)(i % 97),
                                      12345678 + k * 1000};
            b->asks[k] = (tg_level_t){6183764000000LL + k * 1000000 + (int64_t)(i % 89),
                                      98765432 + k * 1000};
        }
    } else {
        r.u.trade.price = 6183763000000LL + (int64_t)(i % 1000);
        r.u.trade.size = 1234567 + (int64_t)(i % 7);
        r.u.trade.trade_id = 3000000000ULL + i;
        r.u.trade.seq = i;
        r.u.trade.side = i & 1 ? TG_SIDE_BUY : TG_SIDE_SELL;
    }
    return r;
}

static void *producer(void *arg)
{
    bench_t *b = arg;
    int64_t next = tg_clock_mono_ns();
    for (uint64_t i = 0; i < b->n; i++) {
        if (b->pace_ns > 0) {
            next += b->pace_ns;
            while (tg_clock_mono_ns() < next)
                usleep(b->pace_ns >= 100000 ? 50 : 0);
        }
        book_out_t r = bench_rec(b->kind, i);
        while (!tg_ring_spsc_push(b->ring, &r))
            usleep(20); /* ring full: leave the cores to the publisher and redis-server */
    }
    return NULL;
}

typedef struct pub_result {
    double rec_s, cmd_s, mb_s, coalesced;
    double pub_p50_us, pub_p99_us, rtt_p50_us, rtt_p99_us;
} pub_result_t;

static int run_publisher(bench_t *b, pub_result_t *out)
{
    store_rds_cfg_t cfg;
    store_rds_cfg_defaults(&cfg);
    cfg.url = b->url;
    cfg.cluster = b->cluster;
    cfg.prefix = "bench";
    cfg.reg = b->reg;
    cfg.ring = b->ring;
    store_rds_t *p = NULL;
    int rc = store_rds_create(&p, &cfg);
    if (rc)
        return rc;
    if ((rc = store_rds_start(p)) != 0)
        return rc;
    const store_rds_stats_t *st = store_rds_stats(p);
    while (!TG_STAT_GET(st->connected)) /* measure publishing, not connecting */
        usleep(1000);
    int64_t t0 = tg_clock_mono_ns();
    pthread_t th;
    pthread_create(&th, NULL, producer, b);
    pthread_join(th, NULL);
    rc = store_rds_stop(p); /* drains the ring and waits for every reply */
    double dt = (double)(tg_clock_mono_ns() - t0) / 1e9;
    out->rec_s = (double)b->n / dt;
    out->cmd_s = (double)TG_STAT_GET(st->commands) / dt;
    out->mb_s = (double)TG_STAT_GET(st->bytes) / dt / 1e6;
    out->pub_p50_us = (double)tg_hist_quantile_ns(&st->pub_lat, 0.5) / 1e3;
    out->pub_p99_us = (double)tg_hist_quantile_ns(&st->pub_lat, 0.99) / 1e3;
    out->rtt_p50_us = (double)tg_hist_quantile_ns(&st->rtt_lat, 0.5) / 1e3;
    out->rtt_p99_us = (double)tg_hist_quantile_ns(&st->rtt_lat, 0.99) / 1e3;
    out->coalesced = (double)TG_STAT_GET(st->coalesced) / (double)b->n;
    if (TG_STAT_GET(st->errors))
        rc = TG_EREDIS;
    store_rds_destroy(&p);
    return rc;
}

/* Raw pipelined hiredis: SET key EX 10 val + PUBLISH ch val; returns commands/s. */
static double run_raw(const char *url, uint64_t pairs, const char *val, size_t vlen, double *mb_s)
{
    uint64_t bytes = 0;
    store_rds_cfg_t cfg;
    store_rds_cfg_defaults(&cfg);
    cfg.url = url;
    store_rds_conn_t cc;
    int err = 0;
    char e[256];
    if (store_rds_conn_init(&cc, &cfg))
        return 0;
    redisContext *c = store_rds_conn_open(&cc, &err, e, sizeof(e));
    store_rds_conn_deinit(&cc);
    if (!c) {
        fprintf(stderr, "%s\n", e);
        return 0;
    }
    char key[64], ch[64];
    const char *argv[5];
    size_t argl[5];
    int64_t t0 = tg_clock_mono_ns();
    uint64_t i = 0;
    while (i < pairs) {
        uint64_t n = pairs - i < 256 ? pairs - i : 256;
        for (uint64_t k = 0; k < n; k++, i++) {
            int kl = snprintf(key, sizeof(key), "raw:book:v:SYM%llu",
                              (unsigned long long)(i % BENCH_INSTR));
            int cl = snprintf(ch, sizeof(ch), "raw.book.v.SYM%llu",
                              (unsigned long long)(i % BENCH_INSTR));
            argv[0] = "SET", argl[0] = 3;
            argv[1] = key, argl[1] = (size_t)kl;
            argv[2] = val, argl[2] = vlen;
            argv[3] = "EX", argl[3] = 2;
            argv[4] = "10", argl[4] = 2;
            redisAppendCommandArgv(c, 5, argv, argl);
            bytes += 2 * vlen + (size_t)kl + (size_t)cl + 70; /* RESP framing of the pair */
            argv[0] = "PUBLISH", argl[0] = 7;
            argv[1] = ch, argl[1] = (size_t)cl;
            argv[2] = val, argl[2] = vlen;
            redisAppendCommandArgv(c, 3, argv, argl);
        }
        for (uint64_t k = 0; k < 2 * n; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                redisFree(c);
                return 0;
            }
            freeReplyObject(r);
        }
    }
    double dt = (double)(tg_clock_mono_ns() - t0) / 1e9;
    redisFree(c);
    *mb_s = (double)bytes / dt / 1e6;
    return (double)(2 * pairs) / dt;
}

/* redis-benchmark -P 100: requests/s of its last "requests per second" line, 0 if absent. */
static double run_redis_benchmark(int port, const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "redis-benchmark -p %d -P 100 -q %s 2>/dev/null", port, args);
    FILE *fp = popen(cmd, "r");
    if (!fp)
        return 0;
    char line[4096];
    double v = 0;
    while (fgets(line, sizeof(line), fp)) {
        /* output uses \r progress updates; the figure follows the last ": " */
        char *s = strstr(line, "requests per second");
        if (!s)
            continue;
        char *colon = NULL;
        for (char *q = line; q < s; q++)
            if (q[0] == ':' && q[1] == ' ')
                colon = q;
        if (colon)
            v = strtod(colon + 2, NULL);
    }
    pclose(fp);
    return v;
}

int main(int argc, char **argv)
{
    const char *url = getenv("TG_TEST_REDIS_URL"), *cluster = NULL;
    int runs = 5;
    uint64_t n = 200000;
    int opt;
    while ((opt = getopt(argc, argv, "u:r:n:c:")) != -1) {
        if (opt == 'u')
            url = optarg;
        else if (opt == 'c') /* "-": the fixture's TG_TEST_REDIS_CLUSTER */
            cluster = strcmp(optarg, "-") ? optarg : getenv("TG_TEST_REDIS_CLUSTER");
        else if (opt == 'r')
            runs = atoi(optarg);
        else if (opt == 'n')
            n = strtoull(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: tickgate-bench-redis [-u URL] [-r RUNS] [-n RECORDS] "
                            "[-c SEEDS|-]\n");
            return 2;
        }
    }
    if (!url) {
        fprintf(stderr, "tickgate-bench-redis: no -u URL and TG_TEST_REDIS_URL unset "
                        "(run via tests/fixtures/services.sh run ...)\n");
        return 77;
    }
    if (runs < 1 || runs > BENCH_RUNS_MAX)
        runs = 5;
    bench_t b = {.url = url, .n = n};
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    ic.px_scale = 8;
    ic.sz_scale = 8;
    if (tg_instr_reg_create(&b.reg) || tg_ring_create(&b.ring, 16384, sizeof(book_out_t)))
        return 1;
    for (int i = 0; i < BENCH_INSTR; i++) {
        char sym[32];
        uint32_t id;
        snprintf(sym, sizeof(sym), "SYM%d-USDT", i);
        if (tg_instr_reg_add(b.reg, "binance", sym, &ic, &id))
            return 1;
    }
    /* the raw reference sends a book document of the publisher's size */
    store_rds_names_t nm;
    store_rds_fmt_names(&nm, "bench", tg_instr_reg_get(b.reg, 1));
    book_out_t sample = bench_rec(BOOK_OUT_BOOK, 1);
    store_rds_meta_t m = {123456, 1700000000000000000ULL, sample.ts_exch, sample.ts_recv, false, 0,
                          0};
    char val[STORE_RDS_JSON_MAX];
    size_t vlen = store_rds_fmt_book(val, sizeof(val), &nm, &m, &sample.u.book);
    int port = 0;
    const char *colon = strrchr(url, ':');
    if (colon)
        port = atoi(colon + 1);

    double pb_rec[BENCH_RUNS_MAX], pb_cmd[BENCH_RUNS_MAX], pb_coal[BENCH_RUNS_MAX];
    double pt_rec[BENCH_RUNS_MAX], pt_cmd[BENCH_RUNS_MAX], raw[BENCH_RUNS_MAX];
    double pb_mb[BENCH_RUNS_MAX], raw_mb[BENCH_RUNS_MAX];
    double rb_set[BENCH_RUNS_MAX], rb_pub[BENCH_RUNS_MAX], pc_cmd[BENCH_RUNS_MAX];
    char rbset[128], rbpub[160];
    snprintf(rbset, sizeof(rbset), "-n 1000000 -r 2000 -d %zu -t set", vlen);
    snprintf(rbpub, sizeof(rbpub), "-n 1000000 PUBLISH bench.rb %.*s", 40,
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    printf("# tickgate-bench-redis: %llu records/run, %d runs, %d instruments, book doc %zu "
           "bytes, server %s\n",
           (unsigned long long)n, runs, BENCH_INSTR, vlen, url);
    for (int r = 0; r < runs; r++) {
        pub_result_t pr;
        b.kind = BOOK_OUT_BOOK;
        int rc = run_publisher(&b, &pr);
        if (rc) {
            fprintf(stderr, "publisher run failed: %s\n", tg_strerror(rc));
            return 1;
        }
        pb_rec[r] = pr.rec_s, pb_cmd[r] = pr.cmd_s, pb_coal[r] = pr.coalesced;
        pb_mb[r] = pr.mb_s;
        b.kind = BOOK_OUT_TRADE;
        if ((rc = run_publisher(&b, &pr)) != 0) {
            fprintf(stderr, "publisher run failed: %s\n", tg_strerror(rc));
            return 1;
        }
        pt_rec[r] = pr.rec_s, pt_cmd[r] = pr.cmd_s;
        pc_cmd[r] = 0;
        if (cluster) { /* the same books over the cluster's primaries, in the same run */
            b.kind = BOOK_OUT_BOOK;
            b.cluster = cluster;
            rc = run_publisher(&b, &pr);
            b.cluster = NULL;
            if (rc) {
                fprintf(stderr, "cluster publisher run failed: %s\n", tg_strerror(rc));
                return 1;
            }
            pc_cmd[r] = pr.cmd_s;
            printf("run %d: publisher books on the cluster %.0f rec/s %.0f cmd/s (%.1f%% "
                   "coalesced)\n",
                   r + 1, pr.rec_s, pr.cmd_s, 100 * pr.coalesced);
        }
        raw[r] = run_raw(url, n, val, vlen, &raw_mb[r]);
        rb_set[r] = port ? run_redis_benchmark(port, rbset) : 0;
        rb_pub[r] = port ? run_redis_benchmark(port, rbpub) : 0;
        printf("run %d: publisher books %.0f rec/s %.0f cmd/s %.1f MB/s (%.1f%% coalesced), "
               "trades %.0f rec/s %.0f cmd/s | raw SET EX+PUBLISH %.0f cmd/s %.1f MB/s | "
               "redis-benchmark -P 100 SET %.0f PUBLISH %.0f req/s\n",
               r + 1, pb_rec[r], pb_cmd[r], pb_mb[r], 100 * pb_coal[r], pt_rec[r], pt_cmd[r],
               raw[r], raw_mb[r], rb_set[r], rb_pub[r]);
        fflush(stdout);
    }
    /* latency at a modest rate: 5000 book records/s for 2 s (histogram bucket bounds) */
    b.kind = BOOK_OUT_BOOK;
    b.n = 10000;
    b.pace_ns = 200000;
    pub_result_t lat;
    if (run_publisher(&b, &lat) == 0)
        printf("latency at 5000 books/s: receive -> PUBLISH acknowledged p50 <= %.0f us, p99 <= "
               "%.0f us; pipeline round trip p50 <= %.0f us, p99 <= %.0f us\n",
               lat.pub_p50_us, lat.pub_p99_us, lat.rtt_p50_us, lat.rtt_p99_us);
    double mb = tb_median(pb_cmd, runs), mt = tb_median(pt_cmd, runs), mr = tb_median(raw, runs);
    double mbr = tb_median(pb_rec, runs), mtr = tb_median(pt_rec, runs),
           mc = tb_median(pb_coal, runs);
    double ms = tb_median(rb_set, runs), mp = tb_median(rb_pub, runs);
    double mbb = tb_median(pb_mb, runs), mrb = tb_median(raw_mb, runs);
    double pr_cmd[BENCH_RUNS_MAX], pr_mb[BENCH_RUNS_MAX]; /* paired: same run, same load */
    for (int r = 0; r < runs; r++) {
        pr_cmd[r] = raw[r] > 0 ? pb_cmd[r] / raw[r] : 0;
        pr_mb[r] = raw_mb[r] > 0 ? pb_mb[r] / raw_mb[r] : 0;
    }
    printf("median: publisher books %.0f rec/s = %.0f cmd/s, %.1f MB/s (%.1f%% coalesced); "
           "trades %.0f rec/s = %.0f cmd/s\n",
           mbr, mb, mbb, 100 * mc, mtr, mt);
    printf("median: raw pipelined hiredis SET EX + PUBLISH (%zu-byte value, 256 pairs/batch) "
           "%.0f cmd/s = %.0f pairs/s, %.1f MB/s\n",
           vlen, mr, mr / 2, mrb);
    printf("median: redis-benchmark -P 100 (50 clients): SET -d %zu %.0f req/s, PUBLISH %.0f "
           "req/s\n",
           vlen, ms, mp);
    printf("ratio: publisher books / raw = %.2f (cmd/s), %.2f (MB/s); trades / raw = %.2f "
           "(cmd/s); raw / redis-benchmark SET = %.2f\n",
           mr > 0 ? mb / mr : 0, mrb > 0 ? mbb / mrb : 0, mr > 0 ? mt / mr : 0,
           ms > 0 ? mr / ms : 0);
    printf("ratio (median of per-run ratios): publisher books / raw = %.2f (cmd/s), %.2f (MB/s)\n",
           tb_median(pr_cmd, runs), tb_median(pr_mb, runs));
    if (cluster)
        printf("median: publisher books on the cluster (%s) %.0f cmd/s vs one node %.0f cmd/s "
               "(ratio %.2f)\n",
               cluster, tb_median(pc_cmd, runs), mb, mb > 0 ? tb_median(pc_cmd, runs) / mb : 0);
    tg_ring_destroy(&b.ring);
    tg_instr_reg_destroy(&b.reg);
    return 0;
}
