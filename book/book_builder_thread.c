/* SPDX-License-Identifier: MIT */
/*
 * The builder's thread (book_builder.h, book_builder.c DESIGN): round-robin drain of the input
 * rings, timers, the spin-then-sleep idle path, and the final drain at stop. The event path,
 * output and timers themselves are book_builder.c.
 * Thread: book.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "book_builder_int.h"
#include "tg_clock.h"

static void record_latency(book_builder_t *b)
{
    if (!b->n_lat)
        return;
    int64_t now = tg_clock_mono_ns();
    for (uint32_t i = 0; i < b->n_lat; i++)
        tg_hist_add(&b->st.latency, now - b->lat_mono[i]);
    b->n_lat = 0;
}

/* One round over every ring. @return events taken. */
static uint64_t drain_round(book_builder_t *b, uint32_t *start)
{
    uint64_t got = 0;
    uint32_t n_in = b->cfg.n_in;
    b->live = true; /* only the builder thread drains rings */
    for (uint32_t j = 0; j < n_in; j++) {
        uint32_t i = (*start + j) % n_in;
        uint32_t left = b->cfg.batch;
        while (left) {
            uint32_t n;
            const tg_event_t *ev = tg_ring_spsc_peek(b->cfg.in[i], &n);
            if (!n)
                break;
            if (n > left)
                n = left;
            if (b->cfg.measure_latency)
                b->pop_mono = tg_clock_mono_ns();
            book_builder__apply_events(b, i, ev, n);
            tg_ring_spsc_release(b->cfg.in[i], n);
            left -= n;
            got += n;
        }
    }
    *start = n_in ? (*start + 1) % n_in : 0;
    if (b->cfg.measure_latency)
        record_latency(b);
    else
        b->n_lat = 0;
    return got;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * TG_NS_PER_SEC + ts.tv_nsec;
}

void book_builder__main(void *arg)
{
    book_builder_t *b = arg;
    uint32_t start = 0;
    int64_t last_wall = 0, idle_since = 0;
    while (!tg_worker_stopping(&b->wk)) {
        uint64_t got = drain_round(b, &start);
        int64_t now = tg_clock_mono_ns();
        bool wall = now - last_wall >= 100 * TG_NS_PER_MS; /* wall-clock candle closing */
        if (!got || wall || now >= b->next_due) {
            book_builder__run_timers(
                b, now, wall && b->cfg.wall_clock_candles ? tg_clock_realtime_ns() : 0, false);
            if (wall)
                last_wall = now;
        }
        if (got) {
            idle_since = 0;
            continue;
        }
        /* spin a little before sleeping: a sleep/wake pair costs a membarrier and two futex
           calls, far more than a short gap between two bursts of a busy feed */
        if (!idle_since)
            idle_since = now;
        if (now - idle_since < b->cfg.spin_ns) {
#if defined(__x86_64__) || defined(__i386__)
            for (int i = 0; i < 16; i++)
                __builtin_ia32_pause();
#endif
            continue;
        }
        idle_since = 0;
        tg_waiter_prepare(&b->waiter);
        bool any = tg_worker_stopping(&b->wk);
        for (uint32_t i = 0; i < b->cfg.n_in && !any; i++)
            any = tg_ring_count(b->cfg.in[i]) != 0;
        if (any) {
            tg_waiter_cancel(&b->waiter);
            continue;
        }
        int64_t t = b->next_due == INT64_MAX ? BB_MAX_SLEEP_NS : b->next_due - now;
        if (t > BB_MAX_SLEEP_NS)
            t = BB_MAX_SLEEP_NS;
        if (t < 0)
            t = 0;
        TG_STAT_INC(b->st.sleeps);
        TG_STAT_SET(b->st.thread_cpu_ns, thread_cpu_ns());
        tg_waiter_wait(&b->waiter, t);
    }
    /* drain: producers have stopped */
    while (drain_round(b, &start))
        ;
    book_builder__finish_gaps(b); /* outages whose trades never all came */
    book_builder_flush(b);
    TG_STAT_SET(b->st.thread_cpu_ns, thread_cpu_ns());
}

int book_builder_start(book_builder_t *b)
{
    TG_CHECK_ARG(b, -EINVAL);
    return tg_worker_start(&b->wk);
}

int book_builder_stop(book_builder_t *b)
{
    TG_CHECK_ARG(b, -EINVAL);
    return tg_worker_stop(&b->wk);
}
