/* SPDX-License-Identifier: MIT */
/*
 * tickgate-bench-book: throughput of the L2 book and the builder, each next to a plain
 * reference measured in the same run (medians of several runs; 2 shared cores are noisy).
 *
 *  1. recorded: every book event of a recording (default: the Binance USD-M BTCUSDT diff
 *     depth, 1000-level REST snapshot + deltas) applied to book_l2 and to the ref_book-style
 *     plain sorted array (best first, binary search, book/book_ref.h);
 *  2. near the top: random changes within 10 levels of the best price on a 1000-level book;
 *  3. deep: random changes anywhere in a 5000-level book;
 *  4. builder end to end: feed ring -> builder thread -> sink ring (two threads: the main
 *     thread pushes the recorded events and drains the sink), against the synchronous
 *     book_builder_apply() of the same events on one thread.
 *
 *  5. --mem RECORDING...: no timing; every instrument's book events go to its own book_l2
 *     (created and truncated as the builder does) and the books' own byte count
 *     (book_l2_mem_bytes) is compared with the levels they hold, sampled every 1000 messages.
 *
 * Usage: tickgate-bench-book [RECORDING] [--runs N]
 *        tickgate-bench-book --mem RECORDING...
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/book_builder.h"
#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_grow.h"
#include "book/tg_rng.h"
#include "feeds/rec/feed_offline.h"
#include "book/book_ref.h"
#include "tools/bench/bench_l2_flat.h"
#include "tools/bench/bench_stat.h"

typedef struct evbuf {
    tg_event_t *v;
    size_t n, cap;
} evbuf_t;

static int grab(void *ctx, const tg_event_t *ev, uint32_t n)
{
    evbuf_t *b = ctx;
    if (tg_grow(&b->v, &b->cap, b->n + n, sizeof(*b->v), 65536) < 0)
        return -ENOMEM;
    memcpy(b->v + b->n, ev, n * sizeof(*ev));
    b->n += n;
    return 0;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    return tg_rng_xorshift64(&rng);
}

static volatile int64_t sink_sum;
static int64_t g_p50, g_p99; /* receive -> applied latency of the last threaded run */

/* CPU time of this thread: the level benchmarks are single-threaded, and on 2 shared cores
 * (load average often > 8 while other work runs) wall time mostly measures the scheduler. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * TG_NS_PER_SEC + ts.tv_nsec;
} /* keeps results alive */

/* ---- book level updates ---------------------------------------------------------------- */

typedef struct lvl {
    int64_t price, size;
    uint8_t side, clear;
} lvl_t;

/* The level-update loop over one book implementation (its clear, set and best_bid calls):
 * generated per type, not through function pointers, so that each run measures direct calls
 * as the builder makes them. */
#define DEFINE_RUN_BOOK(name, book_t, clear_fn, set_fn, best_bid_fn)                               \
    static double name(book_t *b, const lvl_t *u, size_t n, int passes)                            \
    {                                                                                              \
        int64_t t0 = cpu_ns();                                                                     \
        for (int p = 0; p < passes; p++) {                                                         \
            clear_fn(b);                                                                           \
            for (size_t i = 0; i < n; i++) {                                                       \
                if (u[i].clear)                                                                    \
                    clear_fn(b);                                                                   \
                else                                                                               \
                    set_fn(b, (tg_side_t)u[i].side, u[i].price, u[i].size);                        \
            }                                                                                      \
            tg_level_t l;                                                                          \
            if (best_bid_fn(b, &l))                                                                \
                sink_sum += l.price;                                                               \
        }                                                                                          \
        return (double)(n * (size_t)passes) / ((double)(cpu_ns() - t0) / 1e9);                     \
    }

DEFINE_RUN_BOOK(run_l2, book_l2_t, book_l2_clear, book_l2_set, book_l2_best_bid)
DEFINE_RUN_BOOK(run_flat, flat_l2_t, flat_l2_clear, flat_l2_set, flat_l2_best_bid)
#undef DEFINE_RUN_BOOK

static double run_ref(ref_book_t *r, const lvl_t *u, size_t n, int passes)
{
    int64_t t0 = cpu_ns();
    for (int p = 0; p < passes; p++) {
        r->bid.n = r->ask.n = 0;
        for (size_t i = 0; i < n; i++) {
            if (u[i].clear)
                r->bid.n = r->ask.n = 0;
            else if (u[i].side == TG_SIDE_BID)
                ref_side_set(&r->bid, 1, u[i].price, u[i].size);
            else
                ref_side_set(&r->ask, 0, u[i].price, u[i].size);
        }
        if (r->bid.n)
            sink_sum += r->bid.px[0];
    }
    return (double)(n * (size_t)passes) / ((double)(cpu_ns() - t0) / 1e9);
}

static void bench_levels(const char *title, const lvl_t *u, size_t n, int runs, int passes)
{
    double a[32], b[32], c[32];
    book_l2_t *bk;
    flat_l2_t *fl;
    ref_book_t ref = {0};
    if (book_l2_create(&bk, 0) < 0 || flat_l2_create(&fl, 0) < 0)
        return;
    run_l2(bk, u, n, 1); /* warm-up: grow to the largest depth once */
    run_flat(fl, u, n, 1);
    run_ref(&ref, u, n, 1);
    for (int r = 0; r < runs; r++) {
        a[r] = run_l2(bk, u, n, passes);
        c[r] = run_flat(fl, u, n, passes);
        b[r] = run_ref(&ref, u, n, passes);
    }
    double ma = tb_median(a, runs), mb = tb_median(b, runs), mc = tb_median(c, runs);
    printf("%-42s blocked %6.1f  flat best-at-end %6.1f  ref best-first %6.1f M/s (CPU time)\n",
           title, ma / 1e6, mc / 1e6, mb / 1e6);
    book_l2_destroy(&bk);
    flat_l2_destroy(&fl);
    ref_book_free(&ref);
}

/* synthetic: a book of `levels` per side, then n changes at offsets [0, span) from the top */
static lvl_t *synth(size_t levels, size_t n, size_t span, size_t *out_n)
{
    lvl_t *u = calloc(levels * 2 + n + 1, sizeof(*u));
    size_t k = 0;
    int64_t mid = 10000000;
    u[k++].clear = 1;
    for (size_t i = 0; i < levels; i++) {
        u[k++] = (lvl_t){.price = mid - 1 - (int64_t)i, .size = 5, .side = TG_SIDE_BID};
        u[k++] = (lvl_t){.price = mid + 1 + (int64_t)i, .size = 5, .side = TG_SIDE_ASK};
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t x = rnd();
        int bid = x & 1;
        int64_t off = (int64_t)((x >> 1) % span);
        /* deletes and re-inserts keep the depth about constant */
        int64_t sz = ((x >> 20) % 4 == 0) ? 0 : (int64_t)((x >> 24) % 1000) + 1;
        u[k++] = (lvl_t){.price = bid ? mid - 1 - off : mid + 1 + off,
                         .size = sz,
                         .side = (uint8_t)(bid ? TG_SIDE_BID : TG_SIDE_ASK)};
    }
    *out_n = k;
    return u;
}

/* ---- builder end to end ---------------------------------------------------------------- */

typedef struct e2e {
    const tg_event_t *ev;
    size_t n;
    tg_ring_t *in, *out;
    uint64_t outs;
} e2e_t;

static double run_e2e(const tg_instr_reg_t *reg, const tg_event_t *ev, size_t n, double *sync_rate,
                      double *cpu_rate, uint64_t *stalls)
{
    tg_ring_t *in, *out;
    tg_ring_create(&in, 4096, sizeof(tg_event_t));
    tg_ring_create(&out, 4096, sizeof(book_out_t));
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = reg;
    cfg.n_in = 1;
    cfg.in[0] = in;
    cfg.n_sinks = 1;
    cfg.sinks[0] =
        (book_sink_cfg_t){.name = "pg", .ring = out, .kinds = BOOK_SINK_ALL, .lossless = true};
    book_builder_t *b;
    book_builder_create(&b, &cfg);
    book_builder_start(b);
    book_out_t o;
    uint64_t outs = 0;
    /* ts_mono: stamp now, so the latency histogram and rate limits see live times */
    tg_event_t *evs = malloc(n * sizeof(*evs));
    memcpy(evs, ev, n * sizeof(*evs));
    int64_t t0 = tg_clock_mono_ns();
    size_t i = 0;
    while (i < n) {
        size_t k = n - i < 64 ? n - i : 64;
        int64_t now = tg_clock_mono_ns();
        for (size_t j = 0; j < k; j++)
            evs[i + j].ts_mono = now;
        uint32_t put = tg_ring_spsc_push_n(in, evs + i, (uint32_t)k);
        i += put;
        while (tg_ring_spsc_pop(out, &o))
            outs++;
        if (!put)
            sched_yield(); /* ring full: let the builder run (a feed would wait on its socket) */
    }
    const book_builder_stats_t *st = book_builder_stats(b);
    while (TG_STAT_GET(st->events) < n) {
        while (tg_ring_spsc_pop(out, &o))
            outs++;
        sched_yield();
    }
    int64_t t1 = tg_clock_mono_ns();
    book_builder_stop(b);
    *stalls = TG_STAT_GET(st->out_stalls);
    *cpu_rate = (double)n / ((double)TG_STAT_GET(st->thread_cpu_ns) / 1e9);
    g_p50 = tg_hist_quantile_ns(&st->latency, 0.5);
    g_p99 = tg_hist_quantile_ns(&st->latency, 0.99);
    book_builder_destroy(&b);
    /* reference: the same events through the synchronous API on this thread, no rings */
    cfg.n_in = 0;
    cfg.sinks[0] =
        (book_sink_cfg_t){.name = "pg", .ring = out, .kinds = BOOK_SINK_ALL, .lossless = false};
    book_builder_create(&b, &cfg);
    int64_t s0 = cpu_ns();
    for (size_t j = 0; j < n; j += 256) {
        book_builder_apply(b, evs + j, n - j < 256 ? n - j : 256);
        while (tg_ring_spsc_pop(out, &o))
            outs++;
    }
    *sync_rate = (double)n / ((double)(cpu_ns() - s0) / 1e9);
    book_builder_destroy(&b);
    free(evs);
    tg_ring_destroy(&in);
    tg_ring_destroy(&out);
    sink_sum += (int64_t)outs;
    return (double)n / ((double)(t1 - t0) / 1e9);
}

/* ---- memory per level held ----------------------------------------------------------- */

typedef struct memrun {
    tg_instr_reg_t *reg;
    book_l2_t **bk; /* per instrument id, created at its first book event */
    uint64_t msgs, samples;
    double sum_bpl, max_bpl; /* bytes per level over the samples */
    uint64_t digest;         /* FNV-1a of every level of every book at each sample and at the end */
    tg_level_t *lv;          /* scratch for book_l2_top */
    size_t lv_cap;
} memrun_t;

/* Fold every level of every book into the digest: equal digests of two builds = equal books
 * (all levels, not the top 64 that tickgate-replay books writes). */
static void mem_digest(memrun_t *m)
{
    for (uint32_t i = 0; i < TG_INSTR_MAX; i++) {
        if (!m->bk[i])
            continue;
        for (int sd = 0; sd < 2; sd++) {
            tg_side_t side = sd ? TG_SIDE_ASK : TG_SIDE_BID;
            size_t d = book_l2_depth(m->bk[i], side);
            if (d > m->lv_cap) {
                free(m->lv);
                m->lv_cap = d * 2;
                m->lv = malloc(m->lv_cap * sizeof(*m->lv));
                if (!m->lv) {
                    m->lv_cap = 0;
                    return;
                }
            }
            size_t n = book_l2_top(m->bk[i], side, m->lv, d);
            int64_t hdr[3] = {(int64_t)i, sd, (int64_t)n};
            const unsigned char *p = (const unsigned char *)hdr;
            for (size_t k = 0; k < sizeof(hdr); k++)
                m->digest = (m->digest ^ p[k]) * 0x100000001b3ull;
            p = (const unsigned char *)m->lv;
            for (size_t k = 0; k < n * sizeof(*m->lv); k++)
                m->digest = (m->digest ^ p[k]) * 0x100000001b3ull;
        }
    }
}

static void mem_totals(const memrun_t *m, size_t *bytes, size_t *levels, size_t *books)
{
    *bytes = *levels = *books = 0;
    for (uint32_t i = 0; i < TG_INSTR_MAX; i++) {
        if (!m->bk[i])
            continue;
        *bytes += book_l2_mem_bytes(m->bk[i]);
        *levels += book_l2_depth(m->bk[i], TG_SIDE_BID) + book_l2_depth(m->bk[i], TG_SIDE_ASK);
        (*books)++;
    }
}

static int mem_ev(void *ctx, const tg_event_t *ev, uint32_t n)
{
    memrun_t *m = ctx;
    for (uint32_t i = 0; i < n; i++) {
        const tg_event_t *e = &ev[i];
        if (e->instr >= TG_INSTR_MAX)
            continue;
        const tg_instr_t *in = tg_instr_reg_get(m->reg, e->instr);
        uint32_t lim = in ? in->depth_limit : 0;
        if (e->kind == TG_EV_BOOK_CLEAR || e->kind == TG_EV_LEVEL) {
            if (!m->bk[e->instr] && book_l2_create(&m->bk[e->instr], lim ? lim + 8 : 0) < 0)
                return -ENOMEM;
            if (e->kind == TG_EV_BOOK_CLEAR)
                book_l2_clear(m->bk[e->instr]);
            else
                book_l2_set(m->bk[e->instr], e->side, e->price, e->size);
        }
        if (!(e->flags & TG_EVF_LAST))
            continue;
        if (lim && m->bk[e->instr])
            book_l2_truncate(m->bk[e->instr], lim);
        if (++m->msgs % 1000)
            continue;
        mem_digest(m);
        size_t bytes, levels, books;
        mem_totals(m, &bytes, &levels, &books);
        if (levels < 100 * books)
            continue; /* books still loading */
        double bpl = (double)bytes / (double)levels;
        m->sum_bpl += bpl;
        m->samples++;
        if (bpl > m->max_bpl)
            m->max_bpl = bpl;
    }
    return 0;
}

static int bench_mem(const char *path)
{
    memrun_t m = {.digest = 0xcbf29ce484222325ull};
    m.bk = calloc(TG_INSTR_MAX, sizeof(*m.bk));
    tg_instr_reg_create(&m.reg);
    feed_offline_t *off;
    int rc = feed_offline_open(&off, path, NULL, m.reg, 0);
    if (rc < 0) {
        fprintf(stderr, "tickgate-bench-book: %s: %s\n", path, tg_strerror(rc));
        return 1;
    }
    rc = feed_offline_run(off, mem_ev, &m);
    size_t bytes, levels, books;
    mem_digest(&m);
    mem_totals(&m, &bytes, &levels, &books);
    /* the goal (issue 13): bytes <= 1.5 x 16 B x levels + a few KB per book */
    double excess = ((double)bytes - 24.0 * (double)levels) / (double)(books ? books : 1);
    printf("%s\n  %zu books, %zu levels held at the end: %zu bytes = %.1f B/level; "
           "(bytes - 24 B x levels) / book = %.1f KiB\n  over %llu samples (every 1000 "
           "messages): mean %.1f B/level, max %.1f B/level; books digest %016llx\n",
           path, books, levels, bytes, levels ? (double)bytes / (double)levels : 0.0,
           excess / 1024.0, (unsigned long long)m.samples,
           m.samples ? m.sum_bpl / (double)m.samples : 0.0, m.max_bpl,
           (unsigned long long)m.digest);
    for (uint32_t i = 0; i < TG_INSTR_MAX; i++)
        book_l2_destroy(&m.bk[i]);
    free(m.bk);
    free(m.lv);
    feed_offline_close(&off);
    tg_instr_reg_destroy(&m.reg);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--mem")) {
        int bad = 0;
        for (int i = 2; i < argc; i++)
            bad |= bench_mem(argv[i]);
        return bad;
    }
    const char *path = NULL;
    int runs = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            path = argv[i];
    }
    if (runs < 1 || runs > 31)
        runs = 7;
    char def[1024];
    if (!path) {
        const char *rec = getenv("TG_RECORDINGS");
        snprintf(def, sizeof(def), "%s/binance-futures/hftbacktest_usdm_btcusdt_20240808.tgrec.zst",
                 rec ? rec : "../shared/recordings");
        path = def;
    }
    tg_instr_reg_t *reg;
    tg_instr_reg_create(&reg);
    feed_offline_t *off;
    int rc = feed_offline_open(&off, path, NULL, reg, 0);
    if (rc < 0) {
        fprintf(stderr, "tickgate-bench-book: %s: %s\n", path, tg_strerror(rc));
        return 1;
    }
    evbuf_t eb = {0};
    feed_offline_run(off, grab, &eb);
    /* book events of the busiest instrument */
    uint32_t cnt[TG_INSTR_MAX] = {0}, best = 0;
    for (size_t i = 0; i < eb.n; i++)
        if (eb.v[i].kind == TG_EV_LEVEL && eb.v[i].instr < TG_INSTR_MAX &&
            ++cnt[eb.v[i].instr] > cnt[best])
            best = eb.v[i].instr;
    lvl_t *u = calloc(eb.n + 1, sizeof(*u));
    size_t nu = 0, ntr = 0;
    for (size_t i = 0; i < eb.n; i++) {
        const tg_event_t *e = &eb.v[i];
        if (e->kind == TG_EV_TRADE)
            ntr++;
        if (e->instr != best)
            continue;
        if (e->kind == TG_EV_BOOK_CLEAR)
            u[nu++] = (lvl_t){.clear = 1};
        else if (e->kind == TG_EV_LEVEL)
            u[nu++] = (lvl_t){.price = e->price, .size = e->size, .side = e->side};
    }
    printf("tickgate-bench-book: %s\n  %zu events (%zu trades), %zu book events of %s; "
           "medians of %d runs\n",
           path, eb.n, ntr, nu, tg_instr_reg_get(reg, best)->symbol, runs);
    bench_levels("recorded deltas, level updates/s", u, nu, runs, 5);
    size_t ns;
    lvl_t *s1 = synth(1000, 2000000, 10, &ns);
    bench_levels("1000 levels, changes within 10 of the top", s1, ns, runs, 1);
    lvl_t *s2 = synth(5000, 500000, 5000, &ns);
    bench_levels("5000 levels, changes anywhere (deep)", s2, ns, runs, 1);
    double e2e[32], syn[32], cpu[32];
    uint64_t stalls = 0;
    for (int r = 0; r < runs; r++)
        e2e[r] = run_e2e(reg, eb.v, eb.n, &syn[r], &cpu[r], &stalls);
    double me = tb_median(e2e, runs), msy = tb_median(syn, runs), mc = tb_median(cpu, runs);
    printf("%-42s 2 threads %5.2f M ev/s wall, %5.2f M ev/s per builder CPU second;\n"
           "%-42s sync apply, 1 thread %5.2f M ev/s (CPU time); sink stalls %llu (last run)\n"
           "%-42s receive -> applied latency (last run, at full load): p50 <= %lld us, "
           "p99 <= %lld us\n",
           "builder, feed ring -> sink ring", me / 1e6, mc / 1e6, "", msy / 1e6,
           (unsigned long long)stalls, "", (long long)(g_p50 / 1000), (long long)(g_p99 / 1000));
    free(s1);
    free(s2);
    free(u);
    free(eb.v);
    feed_offline_close(&off);
    tg_instr_reg_destroy(&reg);
    return sink_sum == 42 ? 1 : 0;
}
