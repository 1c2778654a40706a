/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: what the candle dedup window (book_candle_dedup_t, 1024 keys per instrument)
 * adds to the builder's trade path. The same 200 000 trades (8 instruments, ids growing per
 * instrument, 1 ms apart, default 5 candle intervals) go through book_builder_apply() with the
 * window on and, as the reference in the same run, off (candle_dedup_window = 0). Also the
 * window alone: ns per book_candle_dedup_check() on new keys (each evicts one) and on
 * re-delivered keys. Medians of N runs, thread CPU time.
 *
 *   build/tools/bench/bench_book_candle_dedup [runs]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book_builder.h"
#include "book/book_candle.h"
#include "book/tg_clock.h"
#include "tools/bench/bench_stat.h"

#define N_TRADES 200000
#define N_INSTR  8

static int discard(void *ctx, const book_out_t *rec)
{
    (*(uint64_t *)ctx)++;
    return 0;
}

/* CPU seconds to apply ev[0..n) through a fresh builder with the given window. */
static double run_builder(const tg_instr_reg_t *reg, const tg_event_t *ev, size_t n,
                          uint32_t window)
{
    uint64_t recs = 0;
    book_builder_cfg_t c;
    book_builder_cfg_defaults(&c);
    c.reg = reg;
    c.book_interval_ns = 0;
    c.candle_dedup_window = window;
    c.sinks[c.n_sinks++] = (book_sink_cfg_t){
        .name = "null", .fn = discard, .ctx = &recs, .kinds = BOOK_SINK_ALL, .lossless = true};
    book_builder_t *b = NULL;
    if (book_builder_create(&b, &c) < 0)
        exit(1);
    double t0 = tb_cpu_s();
    for (size_t i = 0; i < n; i += 64)
        book_builder_apply(b, ev + i, n - i < 64 ? n - i : 64);
    double dt = tb_cpu_s() - t0;
    book_builder_destroy(&b);
    return recs ? dt : -1;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    if (runs < 1 || runs > 50)
        return 2;
    tg_instr_reg_t *reg = NULL;
    tg_instr_reg_create(&reg);
    uint32_t ids[N_INSTR];
    for (int i = 0; i < N_INSTR; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%d", i);
        tg_instr_reg_add(reg, "bench", sym, NULL, &ids[i]);
    }
    tg_event_t *ev = calloc(N_TRADES, sizeof(*ev));
    int64_t t0 = 1700000000LL * TG_NS_PER_SEC;
    for (size_t i = 0; i < N_TRADES; i++) {
        tg_event_t *e = &ev[i];
        e->kind = TG_EV_TRADE;
        e->instr = ids[i % N_INSTR];
        e->side = i & 1 ? TG_SIDE_BUY : TG_SIDE_SELL;
        e->price = 100000 + (int64_t)(i % 97);
        e->size = 1 + (int64_t)(i % 13);
        e->u.trade_id = 1000 + i / N_INSTR;
        e->ts_exch = e->ts_recv = e->ts_mono = t0 + (int64_t)i * TG_NS_PER_MS;
        e->flags = TG_EVF_LAST;
    }
    double on[50], off[50], ratio[50], d_new[50], d_dup[50];
    for (int k = 0; k < runs; k++) {
        off[k] = run_builder(reg, ev, N_TRADES, 0);
        on[k] = run_builder(reg, ev, N_TRADES, BOOK_CANDLE_DEDUP_DEFAULT);
        ratio[k] = on[k] / off[k];
        book_candle_dedup_t d;
        book_candle_dedup_init(&d, BOOK_CANDLE_DEDUP_DEFAULT);
        double a = tb_cpu_s();
        for (uint64_t i = 0; i < N_TRADES; i++)
            book_candle_dedup_check(&d, 1 + i, (int64_t)i);
        double bt = tb_cpu_s();
        int dups = 0;
        for (uint64_t i = N_TRADES - 1000; i < N_TRADES; i++) /* re-delivered: in the window */
            for (int r = 0; r < 200; r++)
                dups += book_candle_dedup_check(&d, 1 + i, (int64_t)i) == BOOK_DEDUP_DUP;
        double ct = tb_cpu_s();
        book_candle_dedup_deinit(&d);
        if (dups != 200000)
            return 1;
        d_new[k] = (bt - a) * 1e9 / N_TRADES;
        d_dup[k] = (ct - bt) * 1e9 / 200000;
    }
    printf("builder, %d trades (%d instruments, 5 intervals), median of %d runs:\n", N_TRADES,
           N_INSTR, runs);
    printf("  dedup off (reference): %.1f ns/trade\n", tb_median(off, runs) * 1e9 / N_TRADES);
    printf("  dedup on (1024 keys):  %.1f ns/trade\n", tb_median(on, runs) * 1e9 / N_TRADES);
    printf("  ratio on/off:          %.3f\n", tb_median(ratio, runs));
    printf("window alone: new key (evicts one) %.1f ns, re-delivered key %.1f ns\n",
           tb_median(d_new, runs), tb_median(d_dup, runs));
    free(ev);
    tg_instr_reg_destroy(&reg);
    return 0;
}
