/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the Kraken / OKX / Bitstamp / BitMEX handlers and the venue checksums.
 *
 * For each recording: all frames are loaded first, then timed passes run
 *   - handler: on_frame() of every frame (parse + normalize + events into a buffer that is
 *     drained by a no-op sink), with a fresh handler per pass;
 *   - reference: jsmn tokenizing of the same frames into a preallocated token array (the plain
 *     lower bound every handler pays).
 * Checksums: Kraken (10+10 levels) and OKX (25+25 levels) checksum of the final books of the
 * recordings, against the reference of CRC-32 alone over the same text (the text building is
 * the difference). Medians of 11 passes of thread CPU time (the 2 cores are shared, so wall
 * time mostly measures the other processes).
 * Usage: tool_bench_venues [recordings dir]
 */
#define JSMN_STATIC
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/book_l2.h"
#include "feeds/feed.h"
#include "feeds/feed_checksum.h"
#include "feeds/rec/feed_offline.h"
#include "tools/bench/bench_stat.h"

/* The builder's book is not part of this benchmark; the checksum wrappers are not called. */
__attribute__((weak)) size_t book_l2_top(const book_l2_t *b, tg_side_t side, tg_level_t *out,
                                         size_t n)
{
    return 0;
}

extern const feed_venue_t feed_venue_kraken, feed_venue_okex, feed_venue_bitstamp,
    feed_venue_bitmex;

#define PASSES 11

/* the upper middle value of v[0..n) (sorts v) */
static double median_hi(double *v, int n)
{
    tb_sort(v, n);
    return v[n / 2];
}

static int sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    *(uint64_t *)ctx += n;
    return 0;
}

static void bench_file(const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    feed_offline_t *o = NULL;
    if (feed_offline_open(&o, path, NULL, NULL, 0) < 0) {
        printf("%-48s (missing)\n", rel);
        return;
    }
    size_t nf = o->rec->data_lines, k = 0, bytes = 0;
    const char **fr = calloc(nf, sizeof(*fr));
    size_t *fl = calloc(nf, sizeof(*fl));
    int64_t ts;
    while (k < nf && feed_tgrec_next(o->rec, &ts, &fr[k], &fl[k]) == 1)
        bytes += fl[k++];
    nf = k;
    jsmntok_t *tok = malloc(sizeof(jsmntok_t) * (1 << 20));
    double th[PASSES], tr[PASSES];
    uint64_t events = 0, toks = 0;
    for (int p = 0; p < PASSES; p++) {
        feed_offline_rewind(o);
        o->h.out.flush = sink;
        o->h.out.ctx = &events;
        events = 0;
        double t0 = tb_cpu_s();
        for (size_t i = 0; i < nf; i++) {
            feed_frame(&o->h, fr[i], fl[i], 1, 1);
            feed_flush(&o->h);
        }
        th[p] = tb_cpu_s() - t0;
        toks = 0;
        t0 = tb_cpu_s();
        for (size_t i = 0; i < nf; i++) {
            jsmn_parser jp;
            jsmn_init(&jp);
            int r = jsmn_parse(&jp, fr[i], fl[i], tok, 1 << 20);
            toks += r > 0 ? (uint64_t)r : 0;
        }
        tr[p] = tb_cpu_s() - t0;
    }
    double mh = median_hi(th, PASSES), mr = median_hi(tr, PASSES);
    printf("%-44s %6zu frames %7.1f MB/s %6.0f ns/frame (%llu events) | jsmn only %7.1f MB/s "
           "%6.0f ns/frame\n",
           rel, nf, (double)bytes / mh / 1e6, mh / (double)nf * 1e9, (unsigned long long)events,
           (double)bytes / mr / 1e6, mr / (double)nf * 1e9);
    free(tok);
    free(fr);
    free(fl);
    feed_offline_close(&o);
}

/* One venue's checksum: the text form (its text is kept to time crc32 alone) and the form
 * without the text, which is what the venue handlers call. */
typedef struct ck_case {
    const char *name;
    uint32_t (*text)(const tg_level_t *bids, size_t nb, const tg_level_t *asks, size_t na,
                     int px_scale, int sz_scale, int px_dp, int sz_dp, char *text, size_t cap);
    uint32_t (*levels)(const tg_level_t *bids, size_t nb, const tg_level_t *asks, size_t na,
                       int px_scale, int sz_scale, int px_dp, int sz_dp);
    size_t depth; /* levels per side */
    int px_dp, sz_dp;
} ck_case_t;

static void bench_checksums(void)
{
    /* a deep, realistic book: BTC-like prices at scale 10/8 (OKX) and 8/8 (Kraken) */
    tg_level_t bids[25], asks[25];
    for (int i = 0; i < 25; i++) {
        bids[i] =
            (tg_level_t){(int64_t)(3023610 - i * 7) * 100000000LL / 100 * 100, 12345678 + i * 1111};
        asks[i] =
            (tg_level_t){(int64_t)(3023620 + i * 9) * 100000000LL / 100 * 100, 98765432 - i * 2222};
    }
    static const ck_case_t cases[] = {
        {"kraken checksum", feed_kraken_checksum_text, feed_kraken_checksum_levels, 10, 5, 8},
        {"okx checksum", feed_okx_checksum_text, feed_okx_checksum_levels, 25, 0, 0},
    };
    enum { NC = sizeof(cases) / sizeof(cases[0]) };
    char text[NC][4096];
    size_t len[NC];
    const int N = 200000;
    double tl[NC][PASSES], tr[NC][PASSES]; /* per call: levels form, crc32 of the text only */
    volatile uint32_t acc = 0;
    for (size_t c = 0; c < NC; c++) {
        const ck_case_t *k = &cases[c];
        k->text(bids, k->depth, asks, k->depth, 10, 8, k->px_dp, k->sz_dp, text[c],
                sizeof(text[c]));
        len[c] = strlen(text[c]);
    }
    for (int p = 0; p < PASSES; p++)
        for (size_t c = 0; c < NC; c++) {
            const ck_case_t *k = &cases[c];
            double t0 = tb_cpu_s();
            for (int i = 0; i < N; i++) {
                bids[0].size += 1;
                acc += k->levels(bids, k->depth, asks, k->depth, 10, 8, k->px_dp, k->sz_dp);
            }
            tl[c][p] = (tb_cpu_s() - t0) / N;
            t0 = tb_cpu_s();
            for (int i = 0; i < N; i++) {
                text[c][0] ^= 1;
                acc += feed_crc32(0, text[c], len[c]);
            }
            tr[c][p] = (tb_cpu_s() - t0) / N;
        }
    for (size_t c = 0; c < NC; c++)
        printf("%-15s (%zu+%zu levels, %3zu B text) %6.0f ns/call | crc32 of the text only "
               "%6.0f ns\n",
               cases[c].name, cases[c].depth, cases[c].depth, len[c],
               median_hi(tl[c], PASSES) * 1e9, median_hi(tr[c], PASSES) * 1e9);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("TG_RECORDINGS");
    if (!dir)
        dir = TG_DEFAULT_RECORDINGS;
    /* strong references: pull the venue objects out of the static library */
    const feed_venue_t *v[] = {&feed_venue_kraken, &feed_venue_okex, &feed_venue_bitstamp,
                               &feed_venue_bitmex};
    printf("medians of %d passes; venues:", PASSES);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        printf(" %s", v[i]->name);
    printf("\n");
    bench_file(dir, "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec");
    bench_file(dir, "okex/cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec");
    bench_file(dir, "okex/cryptofeed_ce58c2a0_OKX.ws.1.tgrec");
    bench_file(dir, "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec");
    bench_file(dir, "bitmex/cryptofeed_1312c062_BITMEX-d944be.tgrec.zst");
    bench_checksums();
    return 0;
}
