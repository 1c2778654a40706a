/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: cost of feeds/feed_capture on the feed thread. Every frame of a real recording is
 * written through the capture (zstd level 3, 256 KiB chunks, into a temporary directory);
 * per-frame mean CPU, throughput and the worst single call (a compression step) are printed.
 * Reference in the same run: the same "<ts> <frame>\n" lines copied into a 256 KiB buffer and
 * written uncompressed with write(2). Medians of N runs.
 *
 *   TG_RECORDINGS=../shared/recordings build/tools/bench/bench_feed_capture [runs]
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/tg_clock.h"
#include "feeds/rec/feed_capture.h"
#include "feeds/rec/feed_tgrec.h"
#include "tools/bench/bench_stat.h"

#define REC "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"

typedef struct line {
    int64_t ts;
    const char *f;
    size_t len;
} line_t;

static int64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * TG_NS_PER_SEC + t.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *recs = getenv("TG_RECORDINGS");
    if (!recs)
        return 77;
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 50)
        return 2;
    char path[1024], dir[64] = "/tmp/tg-bench-cap-XXXXXX";
    snprintf(path, sizeof(path), "%s/%s", recs, REC);
    if (!mkdtemp(dir))
        return 1;
    feed_tgrec_t *r = NULL;
    if (feed_tgrec_open(&r, path))
        return 1;
    line_t *v = calloc(r->data_lines, sizeof(*v));
    size_t n = 0;
    uint64_t bytes = 0;
    while (n < r->data_lines && feed_tgrec_next(r, &v[n].ts, &v[n].f, &v[n].len) == 1)
        bytes += v[n++].len + 21;
    double c_ns[50], c_mbs[50], c_worst[50], c_ratio[50], r_ns[50], r_mbs[50];
    for (int k = 0; k < runs; k++) {
        feed_capture_cfg_t cc;
        feed_capture_cfg_defaults(&cc);
        cc.dir = dir;
        feed_capture_t *cap = NULL;
        if (feed_capture_create(&cap, &cc))
            return 1;
        feed_capture_begin(cap, r->venue, r->url, r->symbols);
        int64_t worst = 0, t0 = cpu_ns(), w0 = tg_clock_mono_ns();
        for (size_t i = 0; i < n; i++) {
            int64_t a = tg_clock_mono_ns();
            feed_capture_frame(cap, v[i].ts, v[i].f, v[i].len);
            int64_t d = tg_clock_mono_ns() - a;
            if (d > worst)
                worst = d;
        }
        feed_capture_finish(cap);
        int64_t t1 = cpu_ns(), w1 = tg_clock_mono_ns();
        const feed_capture_stats_t *st = feed_capture_stats(cap);
        c_ns[k] = (double)(t1 - t0) / (double)n;
        c_mbs[k] = (double)TG_STAT_GET(st->bytes_in) / ((double)(w1 - w0) / 1e9) / 1e6;
        c_worst[k] = (double)worst / 1e3;
        c_ratio[k] = (double)TG_STAT_GET(st->bytes_in) / (double)TG_STAT_GET(st->bytes_out);
        feed_capture_destroy(&cap);

        /* reference: same lines, uncompressed, 256 KiB writes */
        char fp[128];
        snprintf(fp, sizeof(fp), "%s/plain.tgrec", dir);
        int fd = open(fp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        static char buf[256 << 10];
        size_t bl = 0;
        t0 = cpu_ns();
        w0 = tg_clock_mono_ns();
        for (size_t i = 0; i < n; i++) {
            if (bl + v[i].len + 24 > sizeof(buf)) {
                if (write(fd, buf, bl) != (ssize_t)bl)
                    return 1;
                bl = 0;
            }
            bl += (size_t)sprintf(buf + bl, "%" PRId64 " ", v[i].ts);
            memcpy(buf + bl, v[i].f, v[i].len);
            bl += v[i].len;
            buf[bl++] = '\n';
        }
        if (write(fd, buf, bl) != (ssize_t)bl)
            return 1;
        close(fd);
        t1 = cpu_ns();
        w1 = tg_clock_mono_ns();
        r_ns[k] = (double)(t1 - t0) / (double)n;
        r_mbs[k] = (double)bytes / ((double)(w1 - w0) / 1e9) / 1e6;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -f %s/*", dir);
        if (system(cmd))
            return 1;
        printf("  run %d: capture %.0f ns/frame %.0f MB/s worst call %.0f us ratio %.1f | "
               "reference plain write %.0f ns/frame %.0f MB/s\n",
               k + 1, c_ns[k], c_mbs[k], c_worst[k], c_ratio[k], r_ns[k], r_mbs[k]);
    }
    printf("bench_feed_capture: %s, %zu frames, %d runs, medians: capture (zstd 3, 256 KiB "
           "chunks) %.0f ns CPU/frame, %.0f MB/s, worst call %.0f us, ratio %.1f; reference "
           "plain write %.0f ns CPU/frame, %.0f MB/s\n",
           REC, n, runs, tb_median(c_ns, runs), tb_median(c_mbs, runs), tb_median(c_worst, runs),
           tb_median(c_ratio, runs), tb_median(r_ns, runs), tb_median(r_mbs, runs));
    feed_tgrec_close(&r);
    free(v);
    rmdir(dir);
    return 0;
}
