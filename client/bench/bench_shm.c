/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the shared-memory path (docs/shm.md), each figure next to a reference measured
 * in the same run:
 *  1. read: one consistent top-10 book out of a slot (tg_shm_slot_read: seqlock, 8 header words
 *     and 10 levels per side), against a plain memcpy of the same bytes (384) from the same
 *     slot; also the client API's cost per BOOK event (tg_client_next on a notice: slot copy
 *     and conversion to tg_client_book_t), with the writer idle. Rounds of 100000 reads;
 *     medians of the per-round ns/op and their ratio.
 *  2. latency: the gateway's path behind the feed, in one process: a producer thread stamps a
 *     book change (ts_mono = "receive") and pushes it into the builder's input ring at a fixed
 *     rate; the builder thread applies it and pushes a BOOK record into the [shm] sink's ring;
 *     the writer:shm thread publishes it into the segment; a reader thread sleeping on the
 *     futex (tg_shm_wait) wakes and copies the slot. Printed: receive -> visible in the
 *     segment (the writer's histogram), the reference receive -> pushed to the sink ring (the
 *     builder's own stage histogram, same records), and receive -> seen by the sleeping
 *     reader. Quantiles are upper bounds of log-linear buckets (book/tg_hist.h).
 *
 *   build-rel/client/bench-shm [--rate R (10000)] [--seconds S (3)] [--rounds N (15)]
 * Thread: main (read rounds, then the producer); builder, writer:shm and a reader thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tickgate/client.h>

#include "client/bench/bench_util.h"

#include "book/book_builder.h"
#include "book/tg_clock.h"
#include "book/tg_hist.h"
#include "storage/shm/shm_layout.h"
#include "storage/shm/store_shm.h"

#define READS 100000

static char g_name[64];

static tg_shm_hdr_t *map_rw(uint64_t *size)
{
    int fd = shm_open(g_name, O_RDWR, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return NULL;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED || tg_shm_check(m, (uint64_t)st.st_size) != 0)
        return NULL;
    *size = (uint64_t)st.st_size;
    return m;
}

static book_out_t book_rec(uint64_t k)
{
    book_out_t r;
    memset(&r, 0, sizeof(r));
    r.kind = BOOK_OUT_BOOK;
    r.flags = BOOK_OUT_F_SCALED;
    r.px_scale = 2;
    r.sz_scale = 8;
    r.u.book.generation = 1;
    r.u.book.state = BOOK_STATE_VALID;
    r.u.book.reason = BOOK_OUT_R_CHANGE;
    r.u.book.n_bids = r.u.book.n_asks = 20;
    for (unsigned j = 0; j < 20; j++) {
        r.u.book.bids[j] = (tg_level_t){(int64_t)(6500000 - j), (int64_t)(k + j)};
        r.u.book.asks[j] = (tg_level_t){(int64_t)(6500001 + j), (int64_t)(k * 3 + j)};
    }
    return r;
}

/* A writer on g_name; ring NULL: synchronous (store_shm_push). Exits on failure. */
static store_shm_t *writer_make(const tg_instr_reg_t *reg, tg_ring_t *ring)
{
    store_shm_cfg_t c;
    store_shm_cfg_defaults(&c);
    c.name = g_name;
    c.reg = reg;
    c.ring = ring;
    c.mode = 0600;
    store_shm_t *w = NULL;
    char err[256];
    if (store_shm_create(&w, &c, err, sizeof(err))) {
        fprintf(stderr, "bench-shm: %s\n", err);
        exit(1);
    }
    return w;
}

/* ---- 1. read ------------------------------------------------------------------------------ */

static void bench_read(const tg_instr_reg_t *reg, int rounds)
{
    store_shm_t *w = writer_make(reg, NULL);
    book_out_t r = book_rec(1);
    store_shm_push(w, &r, 1);
    uint64_t size;
    tg_shm_hdr_t *h = map_rw(&size);
    if (!h)
        exit(1);
    const tg_shm_slot_t *s = tg_shm_slot(h, 0);
    tg_shm_book_t b;
    static unsigned char dst[384];
    double *rs = calloc((size_t)rounds, sizeof(double)),
           *rm = calloc((size_t)rounds, sizeof(double));
    double *rc = calloc((size_t)rounds, sizeof(double));
    uint64_t sink = 0;
    for (int k = 0; k < rounds; k++) {
        int64_t t0 = tg_clock_mono_ns();
        for (int i = 0; i < READS; i++) {
            tg_shm_slot_read(h, s, 10, &b, 64);
            sink += b.bids[9][1];
            __asm__ volatile("" ::: "memory");
        }
        int64_t t1 = tg_clock_mono_ns();
        for (int i = 0; i < READS; i++) {
            /* the same bytes: 8 header words, 10 bids, 10 asks (the slot's first 64 + 160 and
               the asks' 160) */
            memcpy(dst, (const char *)s, 64 + 160);
            memcpy(dst + 224, (const char *)&s->w[TG_SHM_SLOT_HDR_W + 2 * h->depth], 160);
            __asm__ volatile("" : : "r"(dst) : "memory");
            sink += dst[100];
        }
        int64_t t2 = tg_clock_mono_ns();
        rs[k] = (double)(t1 - t0) / READS;
        rm[k] = (double)(t2 - t1) / READS;
    }
    /* the client API per BOOK event: one notice published, one tg_client_next */
    char url[100], why[256];
    snprintf(url, sizeof(url), "shm://%s", g_name);
    tg_client_t *cl = bench_client_open(url, NULL, "*", "*", TG_CLIENT_SUB_BOOK, why, sizeof(why));
    tg_client_event_t ev;
    if (!cl)
        exit(1);
    while (tg_client_next(cl, &ev, 0) == 1)
        ;
    /* (push + next) minus push alone, per event: the clock is read once per round */
    for (int k = 0; k < rounds; k++) {
        int64_t t0 = tg_clock_mono_ns();
        for (int i = 0; i < READS / 10; i++) {
            r.u.book.bids[0].size = i + 2;
            store_shm_push(w, &r, 1);
            if (tg_client_next(cl, &ev, 0) != 1 || ev.kind != TG_CLIENT_EV_BOOK)
                exit(1);
            sink += (uint64_t)ev.u.book->bids[0].sz.v;
        }
        int64_t t1 = tg_clock_mono_ns();
        for (int i = 0; i < READS / 10; i++) {
            r.u.book.bids[0].size = i + 2;
            store_shm_push(w, &r, 1);
        }
        int64_t t2 = tg_clock_mono_ns();
        rc[k] = (double)((t1 - t0) - (t2 - t1)) / (READS / 10);
        while (tg_client_next(cl, &ev, 0) == 1) /* the notices of the push-only loop */
            ;
    }
    double ms = median(rs, rounds), mm = median(rm, rounds), mc = median(rc, rounds);
    printf("read one consistent top-10 book (tg_shm_slot_read): median %.1f ns/op; reference "
           "memcpy of the same 384 bytes: %.1f ns/op; ratio %.2f (%d rounds of %d)\n",
           ms, mm, ms / mm, rounds, READS);
    printf("client API per BOOK event (tg_client_next: notice, slot copy, conversion, 20 levels): "
           "median %.1f ns (%.1fx the memcpy reference)\n",
           mc, mc / mm);
    if (sink == 42)
        printf(" ");
    tg_client_destroy(&cl);
    munmap(h, size);
    store_shm_destroy(&w);
    free(rs);
    free(rm);
    free(rc);
}

/* ---- 2. latency --------------------------------------------------------------------------- */

typedef struct lat {
    atomic_int stop;
    tg_hist_t seen; /* receive -> copied by the sleeping reader */
    uint64_t wakes;
} lat_t;

static void *reader_main(void *arg)
{
    lat_t *L = arg;
    uint64_t size, last = 0, pos = 0;
    tg_shm_hdr_t *h = map_rw(&size);
    if (!h)
        return NULL;
    tg_shm_book_t b;
    while (!atomic_load_explicit(&L->stop, memory_order_relaxed)) {
        uint32_t seen = atomic_load_explicit(&h->wake_seq, memory_order_acquire);
        uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
        if (head == pos) {
            tg_shm_wait(h, seen, 100000000);
            L->wakes++;
            continue;
        }
        pos = head;
        if (tg_shm_slot_read(h, tg_shm_slot(h, 0), 10, &b, 64) == 1 && b.version != last) {
            last = b.version;
            tg_hist_add(&L->seen, tg_clock_mono_ns() - (int64_t)b.w[TG_SHM_W_TMONO]);
        }
    }
    munmap(h, size);
    return NULL;
}

static tg_event_t ev_make(unsigned kind, unsigned side, int64_t px, int64_t sz, unsigned flags)
{
    tg_event_t e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.side = side;
    e.price = px;
    e.size = sz;
    e.flags = flags | TG_EVF_SCALED;
    e.px_scale = 2;
    e.sz_scale = 8;
    e.ts_recv = tg_clock_realtime_ns();
    e.ts_mono = tg_clock_mono_ns();
    return e;
}

static void push(tg_ring_t *r, const tg_event_t *e)
{
    while (!tg_ring_spsc_push(r, e))
        sched_yield();
}

static void q3(const char *what, const tg_hist_t *h)
{
    printf("  %-52s n=%-8llu p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us\n", what,
           (unsigned long long)TG_STAT_GET(h->count), tg_hist_quantile_ns(h, 0.5) / 1e3,
           tg_hist_quantile_ns(h, 0.99) / 1e3, tg_hist_quantile_ns(h, 0.999) / 1e3);
}

static void bench_latency(tg_instr_reg_t *reg, int rate, int seconds)
{
    tg_ring_t *in = NULL, *out = NULL;
    if (tg_ring_create(&in, 4096, sizeof(tg_event_t)) ||
        tg_ring_create(&out, 4096, sizeof(book_out_t)))
        exit(1);
    store_shm_t *w = writer_make(reg, out);
    book_builder_cfg_t bc;
    book_builder_cfg_defaults(&bc);
    bc.reg = reg;
    bc.in[bc.n_in++] = in;
    bc.sinks[bc.n_sinks++] = (book_sink_cfg_t){.name = "shm",
                                               .ring = out,
                                               .kinds = BOOK_SINK_TRADE | BOOK_SINK_BOOK_CHANGE |
                                                        BOOK_SINK_BOOK_STATE | BOOK_SINK_GAP};
    bc.top_n = 20;
    bc.book_min_gap_ns = 0;
    bc.book_interval_ns = 0;
    bc.wall_clock_candles = false;
    book_builder_t *b = NULL;
    if (book_builder_create(&b, &bc) || store_shm_start(w) || book_builder_start(b))
        exit(1);
    lat_t L;
    memset(&L, 0, sizeof(L));
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &L);
    /* the snapshot: 20 levels per side */
    tg_event_t e = ev_make(TG_EV_BOOK_CLEAR, 0, 0, 0, TG_EVF_SNAPSHOT);
    push(in, &e);
    for (int j = 0; j < 20; j++) {
        e = ev_make(TG_EV_LEVEL, TG_SIDE_BID, 6500000 - j, 100000000, TG_EVF_SNAPSHOT);
        push(in, &e);
        e = ev_make(TG_EV_LEVEL, TG_SIDE_ASK, 6500001 + j, 100000000,
                    TG_EVF_SNAPSHOT | (j == 19 ? TG_EVF_LAST : 0));
        push(in, &e);
    }
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    /* changes at `rate` per second, absolute deadlines */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long gap = 1000000000L / rate;
    long n = (long)rate * seconds;
    for (long i = 0; i < n; i++) {
        next.tv_nsec += gap;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        e = ev_make(TG_EV_LEVEL, (i & 1) ? TG_SIDE_ASK : TG_SIDE_BID,
                    (i & 1) ? 6500001 + (i % 10) : 6500000 - (i % 10), 100000000 + i, TG_EVF_LAST);
        push(in, &e);
    }
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    book_builder_stop(b);
    store_shm_stop(w);
    atomic_store(&L.stop, 1);
    pthread_join(th, NULL);
    const store_shm_stats_t *ss = store_shm_stats(w);
    const book_builder_stats_t *bs = book_builder_stats(b);
    printf("latency at %d changes/s for %d s (builder + writer:shm + a reader asleep on the "
           "futex; %llu FUTEX_WAKE calls by the writer, %llu batches):\n",
           rate, seconds, (unsigned long long)TG_STAT_GET(ss->wakes),
           (unsigned long long)TG_STAT_GET(ss->batches));
    q3("receive -> visible in the segment (writer)", &ss->pub_lat);
    q3("reference: receive -> pushed to the sink ring (builder)", &bs->lat_out[BOOK_LAT_BOOK]);
    q3("ring hand-off alone: pushed -> visible (writer)", &ss->ring_lat);
    q3("receive -> seen by the sleeping reader", &L.seen);
    book_builder_destroy(&b);
    store_shm_destroy(&w);
    tg_ring_destroy(&in);
    tg_ring_destroy(&out);
}

int main(int argc, char **argv)
{
    int rate = 10000, seconds = 3, rounds = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rate"))
            rate = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
    }
    if (rate <= 0 || seconds <= 0 || rounds <= 0)
        return 2;
    snprintf(g_name, sizeof(g_name), "/tg-bench-shm-%d", (int)getpid());
    tg_instr_reg_t *reg = NULL;
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    ic.px_scale = 2;
    uint32_t id;
    if (tg_instr_reg_create(&reg) || tg_instr_reg_add(reg, "binance", "BTCUSDT", &ic, &id))
        return 1;
    bench_read(reg, rounds);
    bench_latency(reg, rate, seconds);
    tg_instr_reg_destroy(&reg);
    shm_unlink(g_name);
    return 0;
}
