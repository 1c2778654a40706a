/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SPSC ring (book/tg_ring.h): single-thread semantics (full/empty, order,
 * index wraparound at 2^32, batches, zero-copy peek/release, other record sizes), a threaded
 * stress test moving TG_RING_STRESS_N (default 100 million) 64-byte events from a producer to
 * a consumer and checking order, loss and duplication, and waiter tests in which the consumer
 * really sleeps in the futex and is woken by a push.
 *
 * Thread: the stress and waiter tests run one producer and one consumer thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_clock.h"
#include "book/tg_event.h"
#include "book/tg_ring.h"

static tg_event_t ev_make(uint64_t i)
{
    tg_event_t e;
    memset(&e, 0, sizeof(e));
    e.seq = i;
    e.price = (int64_t)(i * 7 + 1);
    e.size = (int64_t)~i;
    e.ts_exch = (int64_t)(i ^ 0x5555555555555555ULL);
    e.ts_recv = (int64_t)(i * 3);
    e.ts_mono = (int64_t)(i + 11);
    e.u.trade_id = i * 13;
    e.instr = (uint32_t)i;
    e.kind = (uint8_t)(i % 7);
    e.side = (uint8_t)(i % 3);
    e.flags = (uint16_t)i;
    return e;
}

/* True if every field of e is what ev_make(i) writes (so torn or stale slots are caught). */
static int ev_check(const tg_event_t *e, uint64_t i)
{
    tg_event_t x = ev_make(i);
    return memcmp(&x, e, sizeof(x)) == 0;
}

static tg_ring_t *ring_new(uint32_t cap, uint32_t esz)
{
    tg_ring_t *r = NULL;
    assert_int_equal(tg_ring_create(&r, cap, esz), 0);
    assert_non_null(r);
    return r;
}

static void test_create_rejects_bad_capacity_and_record_size(void **state)
{
    (void)state;
    tg_ring_t *r = (tg_ring_t *)(uintptr_t)1;
    assert_int_equal(tg_ring_create(&r, 0, 64), -EINVAL);
    assert_int_equal(tg_ring_create(&r, 1, 64), -EINVAL);
    assert_int_equal(tg_ring_create(&r, 3, 64), -EINVAL);
    assert_int_equal(tg_ring_create(&r, 1000, 64), -EINVAL);
    assert_int_equal(tg_ring_create(&r, 8, 0), -EINVAL);
    assert_int_equal(tg_ring_create(&r, 8, 12), -EINVAL);
    assert_int_equal(tg_ring_create(NULL, 8, 64), -EINVAL);
    assert_ptr_equal(r, (tg_ring_t *)(uintptr_t)1); /* untouched on failure */
    tg_ring_destroy(NULL);
    r = NULL;
    tg_ring_destroy(&r);
}

static void test_push_fills_exactly_capacity_then_refuses(void **state)
{
    (void)state;
    tg_ring_t *r = ring_new(8, sizeof(tg_event_t));
    assert_int_equal(tg_ring_capacity(r), 8);
    assert_int_equal(tg_ring_count(r), 0);
    for (uint64_t i = 0; i < 8; i++) {
        tg_event_t e = ev_make(i);
        assert_true(tg_ring_spsc_push(r, &e));
        assert_int_equal(tg_ring_count(r), i + 1);
    }
    tg_event_t e = ev_make(99);
    assert_false(tg_ring_spsc_push(r, &e));
    assert_int_equal(tg_ring_count(r), 8);
    for (uint64_t i = 0; i < 8; i++) {
        tg_event_t o;
        assert_true(tg_ring_spsc_pop(r, &o));
        assert_true(ev_check(&o, i));
    }
    tg_event_t o;
    assert_false(tg_ring_spsc_pop(r, &o));
    assert_int_equal(tg_ring_count(r), 0);
    tg_ring_destroy(&r);
    assert_null(r);
}

/* Start the free-running indices just below 2^32 so they wrap during the test. */
static void ring_force_index(tg_ring_t *r, uint32_t idx)
{
    atomic_store(&r->head, idx);
    atomic_store(&r->tail, idx);
    r->head_cache = idx;
    r->tail_cache = idx;
}

static void test_indices_wrap_past_uint32_max_without_loss(void **state)
{
    (void)state;
    tg_ring_t *r = ring_new(4, sizeof(tg_event_t));
    ring_force_index(r, UINT32_MAX - 5);
    uint64_t next_in = 0, next_out = 0;
    for (int round = 0; round < 20; round++) {
        /* fill completely, then drain partially: exercises full/empty at every offset */
        while (1) {
            tg_event_t e = ev_make(next_in);
            if (!tg_ring_spsc_push(r, &e))
                break;
            next_in++;
        }
        assert_int_equal(tg_ring_count(r), 4);
        for (int k = 0; k < 3; k++) {
            tg_event_t o;
            assert_true(tg_ring_spsc_pop(r, &o));
            assert_true(ev_check(&o, next_out));
            next_out++;
        }
    }
    tg_event_t o;
    while (tg_ring_spsc_pop(r, &o)) {
        assert_true(ev_check(&o, next_out));
        next_out++;
    }
    assert_int_equal(next_in, next_out);
    assert_true(atomic_load(&r->tail) < 100); /* it did wrap */
    tg_ring_destroy(&r);
}

static void test_push_n_takes_what_fits_and_pop_n_crosses_the_end(void **state)
{
    (void)state;
    tg_ring_t *r = ring_new(8, sizeof(tg_event_t));
    ring_force_index(r, UINT32_MAX - 2);
    tg_event_t in[20], out[20];
    for (uint64_t i = 0; i < 20; i++)
        in[i] = ev_make(i);
    assert_int_equal(tg_ring_spsc_push_n(r, in, 5), 5);
    assert_int_equal(tg_ring_spsc_push_n(r, in + 5, 10), 3); /* only 3 free */
    assert_int_equal(tg_ring_spsc_push_n(r, in + 8, 1), 0);
    assert_int_equal(tg_ring_spsc_pop_n(r, out, 6), 6); /* slot 5..7, 0..2: crosses the end */
    for (uint64_t i = 0; i < 6; i++)
        assert_true(ev_check(&out[i], i));
    assert_int_equal(tg_ring_spsc_push_n(r, in + 8, 12), 6);
    assert_int_equal(tg_ring_spsc_pop_n(r, out, 20), 8);
    for (uint64_t i = 0; i < 8; i++)
        assert_true(ev_check(&out[i], i + 6));
    assert_int_equal(tg_ring_spsc_pop_n(r, out, 20), 0);
    assert_int_equal(tg_ring_spsc_push_n(r, in, 0), 0);
    tg_ring_destroy(&r);
}

static void test_peek_gives_contiguous_run_and_release_frees_it(void **state)
{
    (void)state;
    tg_ring_t *r = ring_new(8, sizeof(tg_event_t));
    uint32_t n = 123;
    assert_null(tg_ring_spsc_peek(r, &n));
    assert_int_equal(n, 0);
    tg_event_t e;
    for (uint64_t i = 0; i < 6; i++) {
        e = ev_make(i);
        assert_true(tg_ring_spsc_push(r, &e));
    }
    const tg_event_t *p = tg_ring_spsc_peek(r, &n);
    assert_non_null(p);
    assert_int_equal(n, 6);
    for (uint64_t i = 0; i < 6; i++)
        assert_true(ev_check(&p[i], i));
    tg_ring_spsc_release(r, 4); /* head at slot 4 */
    assert_int_equal(tg_ring_count(r), 2);
    for (uint64_t i = 6; i < 12; i++) { /* slots 6,7,0,1,2,3 */
        e = ev_make(i);
        assert_true(tg_ring_spsc_push(r, &e));
    }
    assert_false(tg_ring_spsc_push(r, &e));
    p = tg_ring_spsc_peek(r, &n);
    assert_int_equal(n, 4); /* slots 4..7 only: contiguous */
    for (uint64_t i = 0; i < 4; i++)
        assert_true(ev_check(&p[i], 4 + i));
    tg_ring_spsc_release(r, 4);
    p = tg_ring_spsc_peek(r, &n);
    assert_int_equal(n, 4);
    for (uint64_t i = 0; i < 4; i++)
        assert_true(ev_check(&p[i], 8 + i));
    tg_ring_spsc_release(r, 1);
    tg_event_t o;
    assert_true(tg_ring_spsc_pop(r, &o)); /* pop continues after a partial release */
    assert_true(ev_check(&o, 9));
    tg_ring_destroy(&r);
}

static void test_records_of_other_sizes_round_trip(void **state)
{
    (void)state;
    uint32_t sizes[] = {8, 24, 128};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint32_t esz = sizes[s];
        tg_ring_t *r = ring_new(16, esz);
        unsigned char rec[128], out[128 * 10];
        uint32_t next_out = 0;
        for (uint32_t i = 0; i < 100; i++) {
            memset(rec, (int)(i & 0xff), esz);
            assert_true(tg_ring_spsc_push(r, rec));
            if (i % 10 == 9) {
                assert_int_equal(tg_ring_spsc_pop_n(r, out, 10), 10);
                for (uint32_t k = 0; k < 10; k++, next_out++)
                    for (uint32_t b = 0; b < esz; b++)
                        assert_int_equal(out[k * esz + b], next_out & 0xff);
            }
        }
        assert_int_equal(next_out, 100);
        tg_ring_destroy(&r);
    }
}

static void test_halves_sit_on_separate_cache_lines(void **state)
{
    (void)state;
    assert_int_equal(offsetof(tg_ring_t, tail) / 64 != offsetof(tg_ring_t, head) / 64, 1);
    assert_int_equal(offsetof(tg_ring_t, head_cache) / 64, offsetof(tg_ring_t, tail) / 64);
    assert_int_equal(offsetof(tg_ring_t, tail_cache) / 64, offsetof(tg_ring_t, head) / 64);
    tg_ring_t *r = ring_new(8, 64);
    assert_int_equal((uintptr_t)r % 64, 0);
    uint32_t n;
    tg_event_t e = ev_make(1);
    assert_true(tg_ring_spsc_push(r, &e));
    assert_int_equal((uintptr_t)tg_ring_spsc_peek(r, &n) % 64, 0);
    tg_ring_destroy(&r);
}

/* ---- threaded stress ---- */

/* Called when an operation made no progress: spin briefly, then yield, so the test keeps
 * moving on a loaded machine where the other thread may not be running right now. */
static void backoff(unsigned *idle)
{
    if (++*idle >= 64) {
        *idle = 0;
        sched_yield();
    }
}

struct stress {
    tg_ring_t *r;
    uint64_t n;
    uint64_t bad;      /* consumer: records out of order or corrupt */
    uint64_t received; /* consumer: records taken */
};

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    tg_event_t batch[64];
    uint64_t i = 0;
    unsigned mode = 0, idle = 0;
    while (i < s->n) {
        mode = mode * 1103515245u + 12345u;
        if ((mode >> 16) & 1) { /* single pushes */
            tg_event_t e = ev_make(i);
            if (tg_ring_spsc_push(s->r, &e))
                i++;
            else
                backoff(&idle);
        } else { /* batch of 1..64 */
            uint32_t k = 1 + ((mode >> 20) & 63);
            if (k > s->n - i)
                k = (uint32_t)(s->n - i);
            for (uint32_t j = 0; j < k; j++)
                batch[j] = ev_make(i + j);
            uint32_t done = 0;
            while (done < k) {
                uint32_t m = tg_ring_spsc_push_n(s->r, batch + done, k - done);
                if (m == 0)
                    backoff(&idle);
                done += m;
            }
            i += k;
        }
    }
    return NULL;
}

static void *stress_consumer(void *arg)
{
    struct stress *s = arg;
    tg_event_t batch[64];
    uint64_t next = 0, before;
    unsigned mode = 7, idle = 0;
    while (next < s->n) {
        before = next;
        mode = mode * 1103515245u + 12345u;
        switch ((mode >> 16) % 3) {
        case 0: {
            tg_event_t e;
            if (tg_ring_spsc_pop(s->r, &e)) {
                s->bad += !ev_check(&e, next);
                next++;
            }
            break;
        }
        case 1: {
            uint32_t k = tg_ring_spsc_pop_n(s->r, batch, 1 + ((mode >> 20) & 63));
            for (uint32_t j = 0; j < k; j++)
                s->bad += !ev_check(&batch[j], next++);
            break;
        }
        default: {
            uint32_t k;
            const tg_event_t *p = tg_ring_spsc_peek(s->r, &k);
            for (uint32_t j = 0; j < k; j++)
                s->bad += !ev_check(&p[j], next++);
            if (k)
                tg_ring_spsc_release(s->r, k);
            break;
        }
        }
        if (next == before)
            backoff(&idle);
    }
    s->received = next;
    /* nothing may follow the last record: no duplicates */
    tg_event_t e;
    s->bad += tg_ring_spsc_pop(s->r, &e);
    return NULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    return strtoull(v, NULL, 10);
}

static void test_stress_moves_every_event_once_in_order(void **state)
{
    (void)state;
    struct stress s = {.n = env_u64("TG_RING_STRESS_N", 100000000ULL)};
    s.r = ring_new(1024, sizeof(tg_event_t));
    pthread_t p, c;
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(pthread_create(&c, NULL, stress_consumer, &s), 0);
    assert_int_equal(pthread_create(&p, NULL, stress_producer, &s), 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    double secs = (double)(tg_clock_mono_ns() - t0) / 1e9;
    printf("# stress: %llu events in %.2f s (%.1f M/s), %llu bad\n", (unsigned long long)s.n, secs,
           (double)s.n / secs / 1e6, (unsigned long long)s.bad);
    assert_int_equal(s.received, s.n);
    assert_int_equal(s.bad, 0);
    assert_int_equal(tg_ring_count(s.r), 0);
    tg_ring_destroy(&s.r);
}

/* ---- waiter ---- */

struct sleeper {
    tg_ring_t *r;
    tg_waiter_t *w;
    uint64_t n; /* events to receive */
    _Atomic int stop;
    _Atomic uint64_t sleeps; /* waits that were entered (flag still set after the recheck) */
    uint64_t bad, received;
};

static void *sleeper_consumer(void *arg)
{
    struct sleeper *s = arg;
    uint64_t next = 0;
    while (next < s->n && !atomic_load(&s->stop)) {
        tg_event_t e;
        if (tg_ring_spsc_pop(s->r, &e)) {
            s->bad += !ev_check(&e, next);
            next++;
            continue;
        }
        tg_waiter_prepare(s->w);
        uint32_t k;
        if (tg_ring_spsc_peek(s->r, &k) || atomic_load(&s->stop)) {
            tg_waiter_cancel(s->w);
            continue;
        }
        atomic_fetch_add(&s->sleeps, 1);
        tg_waiter_wait(s->w, -1); /* no timeout: a lost wake hangs and the test times out */
    }
    s->received = next;
    return NULL;
}

/* The consumer of s (n events set) started on a fresh ring of cap records, woken through w
 * (initialised here) and, when attach, by the ring's pushes. */
static pthread_t sleeper_start(struct sleeper *s, tg_waiter_t *w, uint32_t cap, bool attach)
{
    tg_waiter_init(w);
    s->w = w;
    s->r = ring_new(cap, sizeof(tg_event_t));
    if (attach)
        tg_ring_set_waiter(s->r, w);
    pthread_t c;
    assert_int_equal(pthread_create(&c, NULL, sleeper_consumer, s), 0);
    return c;
}

static void test_waiter_sleeping_consumer_is_woken_by_a_push(void **state)
{
    (void)state;
    tg_waiter_t w;
    struct sleeper s = {.n = 3};
    pthread_t c = sleeper_start(&s, &w, 16, true);
    for (uint64_t i = 0; i < 3; i++) {
        /* wait until the consumer announced its sleep, then give it time to enter the futex */
        while (atomic_load(&s.sleeps) < i + 1)
            sched_yield();
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(atomic_load(&w.sleeping), 1);
        int64_t t0 = tg_clock_mono_ns();
        tg_event_t e = ev_make(i);
        assert_true(tg_ring_spsc_push(s.r, &e));
        if (i == 2) {
            pthread_join(c, NULL);
            int64_t dt = tg_clock_mono_ns() - t0;
            assert_true(dt < 10 * TG_NS_PER_SEC); /* woken (there is no timeout to expire) */
        }
    }
    assert_int_equal(s.received, 3);
    assert_int_equal(s.bad, 0);
    assert_true(atomic_load(&s.sleeps) >= 3);
    tg_ring_destroy(&s.r);
}

static void test_waiter_wake_from_another_thread_releases_an_idle_consumer(void **state)
{
    (void)state;
    tg_waiter_t w;
    struct sleeper s = {.n = 1};
    pthread_t c = sleeper_start(&s, &w, 16, false);
    while (atomic_load(&s.sleeps) < 1)
        sched_yield();
    atomic_store(&s.stop, 1);
    tg_waiter_wake(&w);
    pthread_join(c, NULL);
    assert_int_equal(s.received, 0);
    tg_ring_destroy(&s.r);
}

/* Producer pushes in bursts separated by pauses, so the consumer falls asleep again and again
 * while the producer keeps publishing: every lost wake would hang the test. */
static void *bursty_producer(void *arg)
{
    struct sleeper *s = arg;
    uint64_t i = 0;
    unsigned rnd = 1;
    while (i < s->n) {
        rnd = rnd * 1103515245u + 12345u;
        uint32_t burst = 1 + ((rnd >> 16) & 7);
        unsigned idle = 0;
        for (uint32_t k = 0; k < burst && i < s->n;) {
            tg_event_t e = ev_make(i);
            if (tg_ring_spsc_push(s->r, &e)) {
                i++;
                k++;
            } else {
                backoff(&idle);
            }
        }
        if ((rnd >> 24) & 1) {
            struct timespec ts = {0, (long)((rnd >> 8) & 0x3fff)}; /* up to ~16 us */
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void test_waiter_never_loses_a_wake_under_bursty_traffic(void **state)
{
    (void)state;
    tg_waiter_t w;
    struct sleeper s = {.n = env_u64("TG_RING_WAITER_N", 200000)};
    pthread_t c = sleeper_start(&s, &w, 64, true), p;
    assert_int_equal(pthread_create(&p, NULL, bursty_producer, &s), 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("# bursty: %llu events, consumer slept %llu times\n", (unsigned long long)s.n,
           (unsigned long long)atomic_load(&s.sleeps));
    assert_int_equal(s.received, s.n);
    assert_int_equal(s.bad, 0);
    assert_true(atomic_load(&s.sleeps) > 0);
    tg_ring_destroy(&s.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_capacity_and_record_size),
        cmocka_unit_test(test_push_fills_exactly_capacity_then_refuses),
        cmocka_unit_test(test_indices_wrap_past_uint32_max_without_loss),
        cmocka_unit_test(test_push_n_takes_what_fits_and_pop_n_crosses_the_end),
        cmocka_unit_test(test_peek_gives_contiguous_run_and_release_frees_it),
        cmocka_unit_test(test_records_of_other_sizes_round_trip),
        cmocka_unit_test(test_halves_sit_on_separate_cache_lines),
        cmocka_unit_test(test_waiter_sleeping_consumer_is_woken_by_a_push),
        cmocka_unit_test(test_waiter_wake_from_another_thread_releases_an_idle_consumer),
        cmocka_unit_test(test_waiter_never_loses_a_wake_under_bursty_traffic),
        cmocka_unit_test(test_stress_moves_every_event_once_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
