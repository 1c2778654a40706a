/* SPDX-License-Identifier: MIT */
/*
 * Threaded builder test (suites unit + tsan): two feed threads push random snapshot/delta/
 * trade messages into two rings, the builder thread applies them and feeds a lossless sink
 * (PostgreSQL-like, one consumer thread) and a tiny lossy sink (Redis-like, a slow consumer).
 * After stop: every book equals the reference book its producer kept, the lossless sink got
 * every trade in order, and the lossy sink got exactly what the lossless one got minus the
 * counted drops.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "book/book_builder.h"
#include "book/tg_clock.h"
#include "book/book_ref.h"
#include "tests/fixtures/tu_main.h"

#define N_IN     2
#define PER_FEED 2

typedef struct feed {
    tg_ring_t *ring;
    uint32_t ids[PER_FEED];
    ref_book_t ref[PER_FEED];
    long msgs;
    uint64_t trades;
    uint64_t seed;
} feed_t;

typedef struct cons {
    tg_ring_t *ring;
    _Atomic int done;
    uint64_t records, trades, order_errors, valid_books_bad;
    uint64_t last_trade[16];
    int slow;
} cons_t;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void push(tg_ring_t *r, const tg_event_t *e)
{
    while (!tg_ring_spsc_push(r, e))
        sched_yield();
}

static void *feed_main(void *arg)
{
    feed_t *f = arg;
    uint64_t tid = 1;
    int64_t mid[PER_FEED];
    for (int i = 0; i < PER_FEED; i++)
        mid[i] = 100000;
    for (long m = 0; m < f->msgs; m++) {
        int k = (int)(rnd(&f->seed) % PER_FEED);
        tg_event_t e = {.instr = f->ids[k], .ts_mono = tg_clock_mono_ns()};
        e.ts_recv = e.ts_exch = 1700000000LL * TG_NS_PER_SEC + m * 1000000LL;
        e.seq = (uint64_t)m + 1;
        uint64_t x = rnd(&f->seed);
        if (m < PER_FEED * 2 || x % 500 == 0) { /* snapshot */
            e.kind = TG_EV_BOOK_CLEAR;
            e.flags = TG_EVF_SNAPSHOT;
            ref_book_apply(&f->ref[k], &e);
            push(f->ring, &e);
            for (int i = 0; i < 20; i++) {
                e.kind = TG_EV_LEVEL;
                e.side = TG_SIDE_BID;
                e.price = mid[k] - 1 - i;
                e.size = 1 + i;
                ref_book_apply(&f->ref[k], &e);
                push(f->ring, &e);
                e.side = TG_SIDE_ASK;
                e.price = mid[k] + 1 + i;
                if (i == 19)
                    e.flags |= TG_EVF_LAST;
                ref_book_apply(&f->ref[k], &e);
                push(f->ring, &e);
            }
        } else if (x % 5 == 0) { /* trade */
            e.kind = TG_EV_TRADE;
            e.side = TG_SIDE_BUY;
            e.price = mid[k];
            e.size = 1;
            e.u.trade_id = tid++;
            e.flags = TG_EVF_LAST;
            push(f->ring, &e);
            f->trades++;
        } else { /* delta: levels that never cross */
            int n = (int)(x >> 8) % 4 + 1;
            for (int i = 0; i < n; i++) {
                uint64_t y = rnd(&f->seed);
                e.kind = TG_EV_LEVEL;
                e.side = (y & 1) ? TG_SIDE_BID : TG_SIDE_ASK;
                int64_t off = (int64_t)((y >> 1) % 30);
                e.price = e.side == TG_SIDE_BID ? mid[k] - 1 - off : mid[k] + 1 + off;
                e.size = (y >> 8) % 3 == 0 ? 0 : (int64_t)((y >> 10) % 100) + 1;
                e.flags = i == n - 1 ? TG_EVF_LAST : 0;
                ref_book_apply(&f->ref[k], &e);
                push(f->ring, &e);
            }
        }
    }
    return NULL;
}

static void *cons_main(void *arg)
{
    cons_t *c = arg;
    book_out_t o;
    for (;;) {
        if (!tg_ring_spsc_pop(c->ring, &o)) {
            if (atomic_load_explicit(&c->done, memory_order_acquire) && tg_ring_count(c->ring) == 0)
                break;
            sched_yield();
            continue;
        }
        c->records++;
        if (o.kind == BOOK_OUT_TRADE) {
            c->trades++;
            /* per instrument the trade ids of one feed increase */
            if (o.instr < 16) {
                if (o.u.trade.trade_id <= c->last_trade[o.instr])
                    c->order_errors++;
                c->last_trade[o.instr] = o.u.trade.trade_id;
            }
        }
        if (o.kind == BOOK_OUT_BOOK && o.u.book.state == BOOK_STATE_VALID && o.u.book.n_bids &&
            o.u.book.n_asks && o.u.book.bids[0].price >= o.u.book.asks[0].price)
            c->valid_books_bad++;
        if (c->slow && c->records % 64 == 0) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void test_builder_thread_applies_every_ring_and_feeds_both_sinks(void **state)
{
    long msgs = 200000;
    const char *env = getenv("TG_BUILDER_STRESS_N");
    if (env)
        msgs = atol(env);
    tg_instr_reg_t *reg;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    feed_t feeds[N_IN] = {0};
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = reg;
    cfg.n_in = N_IN;
    for (int i = 0; i < N_IN; i++) {
        assert_int_equal(tg_ring_create(&feeds[i].ring, 1024, sizeof(tg_event_t)), 0);
        cfg.in[i] = feeds[i].ring;
        feeds[i].msgs = msgs;
        feeds[i].seed = 0x1234567ull * (uint64_t)(i + 1);
        for (int k = 0; k < PER_FEED; k++) {
            char sym[8] = {'S', (char)('A' + i), (char)('A' + k), 0};
            tg_instr_cfg_t ic;
            tg_instr_cfg_defaults(&ic);
            assert_int_equal(tg_instr_reg_add(reg, "t", sym, &ic, &feeds[i].ids[k]), 0);
        }
    }
    cons_t pg = {0}, rds = {.slow = 1};
    assert_int_equal(tg_ring_create(&pg.ring, 256, sizeof(book_out_t)), 0);
    assert_int_equal(tg_ring_create(&rds.ring, 16, sizeof(book_out_t)), 0);
    cfg.n_sinks = 2;
    cfg.sinks[0] =
        (book_sink_cfg_t){.name = "pg", .ring = pg.ring, .kinds = BOOK_SINK_ALL, .lossless = true};
    cfg.sinks[1] = (book_sink_cfg_t){
        .name = "redis", .ring = rds.ring, .kinds = BOOK_SINK_ALL, .lossless = false};
    cfg.book_min_gap_ns = 0;
    book_builder_t *b;
    assert_int_equal(book_builder_create(&b, &cfg), 0);
    pthread_t tf[N_IN], tc[2];
    pthread_create(&tc[0], NULL, cons_main, &pg);
    pthread_create(&tc[1], NULL, cons_main, &rds);
    assert_int_equal(book_builder_start(b), 0);
    for (int i = 0; i < N_IN; i++)
        pthread_create(&tf[i], NULL, feed_main, &feeds[i]);
    for (int i = 0; i < N_IN; i++)
        pthread_join(tf[i], NULL);
    assert_int_equal(book_builder_stop(b), 0);
    atomic_store_explicit(&pg.done, 1, memory_order_release);
    atomic_store_explicit(&rds.done, 1, memory_order_release);
    pthread_join(tc[0], NULL);
    pthread_join(tc[1], NULL);

    const book_builder_stats_t *st = book_builder_stats(b);
    uint64_t trades = 0;
    for (int i = 0; i < N_IN; i++) {
        trades += feeds[i].trades;
        for (int k = 0; k < PER_FEED; k++) {
            const book_l2_t *bk = book_builder_book(b, feeds[i].ids[k]);
            assert_non_null(bk);
            assert_int_equal(book_l2_state(bk), BOOK_STATE_VALID);
            ref_book_t *r = &feeds[i].ref[k];
            assert_int_equal(book_l2_depth(bk, TG_SIDE_BID), r->bid.n);
            assert_int_equal(book_l2_depth(bk, TG_SIDE_ASK), r->ask.n);
            tg_level_t t[64];
            size_t n = book_l2_top(bk, TG_SIDE_BID, t, 64);
            for (size_t j = 0; j < n; j++)
                assert_true(t[j].price == r->bid.px[j] && t[j].size == r->bid.sz[j]);
            n = book_l2_top(bk, TG_SIDE_ASK, t, 64);
            for (size_t j = 0; j < n; j++)
                assert_true(t[j].price == r->ask.px[j] && t[j].size == r->ask.sz[j]);
            ref_book_free(r);
        }
    }
    assert_int_equal(TG_STAT_GET(st->ev_trade), trades);
    assert_int_equal(pg.trades, trades);
    assert_int_equal(pg.order_errors, 0);
    assert_int_equal(pg.valid_books_bad, 0);
    assert_int_equal(TG_STAT_GET(st->crossed), 0);
    assert_int_equal(rds.records + TG_STAT_GET(st->out_drops), pg.records);
    assert_true(TG_STAT_GET(st->latency.count) > 0);
    assert_true(TG_STAT_GET(st->latency.count) <= TG_STAT_GET(st->messages));
    print_message("  %llu events, %llu records, redis drops %llu, stalls %llu, sleeps %llu\n",
                  (unsigned long long)TG_STAT_GET(st->events), (unsigned long long)pg.records,
                  (unsigned long long)TG_STAT_GET(st->out_drops),
                  (unsigned long long)TG_STAT_GET(st->out_stalls),
                  (unsigned long long)TG_STAT_GET(st->sleeps));
    book_builder_destroy(&b);
    for (int i = 0; i < N_IN; i++)
        tg_ring_destroy(&feeds[i].ring);
    tg_ring_destroy(&pg.ring);
    tg_ring_destroy(&rds.ring);
    tg_instr_reg_destroy(&reg);
}

static void test_builder_thread_idles_asleep_and_stops_promptly(void **state)
{
    tg_instr_reg_t *reg;
    tg_ring_t *in;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    assert_int_equal(tg_ring_create(&in, 64, sizeof(tg_event_t)), 0);
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = reg;
    cfg.n_in = 1;
    cfg.in[0] = in;
    book_builder_t *b;
    assert_int_equal(book_builder_create(&b, &cfg), 0);
    assert_int_equal(book_builder_start(b), 0);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(book_builder_stop(b), 0);
    assert_true(tg_clock_mono_ns() - t0 < 200 * TG_NS_PER_MS);
    /* asleep: a handful of timed wake-ups (100 ms cap), not a spin */
    assert_true(TG_STAT_GET(book_builder_stats(b)->sleeps) <= 10);
    book_builder_destroy(&b);
    tg_ring_destroy(&in);
    tg_instr_reg_destroy(&reg);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_builder_thread_applies_every_ring_and_feeds_both_sinks),
        cmocka_unit_test(test_builder_thread_idles_asleep_and_stops_promptly))
