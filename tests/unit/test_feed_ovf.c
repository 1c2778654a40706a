/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of feeds/net/feed_ovf (the producer-side overflow of a feed connection's ring):
 * a burst far bigger than the ring reaches a slow consumer thread complete and in order; the
 * cap is exact (ring + max events taken, the next one refused); the FIFO survives growing
 * while wrapped; the buffer is unmapped (stats back to 0) once drained and idle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_clock.h"
#include "book/tg_ring.h"
#include "feeds/net/feed_ovf.h"

static tg_event_t ev_seq(uint64_t seq)
{
    tg_event_t e;
    memset(&e, 0, sizeof(e));
    e.kind = TG_EV_TRADE;
    e.seq = seq;
    return e;
}

/* Pop everything; every seq must be the next one (*next). @return events popped. */
static uint32_t pop_in_order(tg_ring_t *r, uint64_t *next)
{
    tg_event_t e;
    uint32_t n = 0;
    while (tg_ring_spsc_pop(r, &e)) {
        if (e.seq != *next)
            fail_msg("event %llu arrived where %llu was due", (unsigned long long)e.seq,
                     (unsigned long long)*next);
        (*next)++;
        n++;
    }
    return n;
}

/* A ring of ring_cap events and an overflow of max (stats zeroed). */
static tg_ring_t *setup(feed_ovf_t *o, feed_ovf_stats_t *stats, uint32_t ring_cap, uint32_t max)
{
    tg_ring_t *r = NULL;
    assert_int_equal(tg_ring_create(&r, ring_cap, sizeof(tg_event_t)), 0);
    memset(stats, 0, sizeof(*stats));
    feed_ovf_init(o, max, stats);
    return r;
}

/* Push n (<= 128) events numbered from *seq on. @return events taken. */
static uint32_t push_seq(feed_ovf_t *o, tg_ring_t *r, uint64_t *seq, uint32_t n)
{
    tg_event_t ev[128];
    assert_true(n <= 128);
    for (uint32_t i = 0; i < n; i++)
        ev[i] = ev_seq(*seq + i);
    uint32_t k = feed_ovf_push(o, r, ev, n);
    *seq += k;
    return k;
}

/* Push n events from *seq on, in batches of `batch`; all must be taken. */
static void fill(feed_ovf_t *o, tg_ring_t *r, uint64_t *seq, uint32_t n, uint32_t batch)
{
    for (uint32_t done = 0; done < n; done += batch)
        assert_int_equal(push_seq(o, r, seq, batch), batch);
}

/* The consumer and the retry timer until ring and overflow are empty; checks the order. */
static void drain_all(feed_ovf_t *o, tg_ring_t *r, uint64_t *next)
{
    while (feed_ovf_held(o) || tg_ring_count(r)) {
        feed_ovf_drain(o, r);
        pop_in_order(r, next);
    }
}

/* ---------- a burst through a slow consumer ---------- */

#define BURST_N    200000u
#define BURST_RING 1024u

typedef struct slow {
    tg_ring_t *r;
    _Atomic bool done; /* the producer pushed everything and drained the overflow */
    uint64_t next, bad;
} slow_t;

static void *slow_consumer(void *arg)
{
    slow_t *s = arg;
    tg_event_t e;
    uint32_t k = 0;
    for (;;) {
        bool done = atomic_load(&s->done);
        bool got = false;
        while (tg_ring_spsc_pop(s->r, &e)) {
            got = true;
            if (e.seq != s->next)
                s->bad++;
            s->next = e.seq + 1;
            if (++k % 256 == 0) { /* slow: a pause every 256 events */
                struct timespec t = {0, 200000};
                nanosleep(&t, NULL);
            }
        }
        if (done && !got)
            return NULL;
    }
}

static void test_a_burst_beyond_the_ring_reaches_a_slow_consumer_complete_and_in_order(void **st)
{
    (void)st;
    feed_ovf_stats_t stats;
    feed_ovf_t o;
    tg_ring_t *r = setup(&o, &stats, BURST_RING, BURST_N);
    slow_t s = {.r = r, .next = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, slow_consumer, &s), 0);
    tg_event_t batch[300];
    uint64_t seq = 1;
    uint32_t max_held = 0;
    unsigned rnd = 12345;
    while (seq <= BURST_N) {
        rnd = rnd * 1103515245u + 12345u;
        uint32_t n = 1 + (rnd >> 16) % 300;
        if (seq + n - 1 > BURST_N)
            n = (uint32_t)(BURST_N - seq + 1);
        for (uint32_t i = 0; i < n; i++)
            batch[i] = ev_seq(seq + i);
        assert_int_equal(feed_ovf_push(&o, r, batch, n), n); /* the cap is never reached */
        seq += n;
        if (feed_ovf_held(&o) > max_held)
            max_held = feed_ovf_held(&o);
        if ((rnd >> 8) % 7 == 0)
            feed_ovf_drain(&o, r); /* the loop's retry timer */
    }
    while (feed_ovf_drain(&o, r))
        ;
    atomic_store(&s.done, true);
    pthread_join(th, NULL);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.next, BURST_N + 1);
    assert_true(max_held > BURST_RING); /* the overflow held more than the ring */
    assert_true(TG_STAT_GET(stats.episodes) >= 1);
    assert_int_equal(TG_STAT_GET(stats.events), 0);
    feed_ovf_free(&o);
    assert_int_equal(TG_STAT_GET(stats.bytes), 0);
    tg_ring_destroy(&r);
}

/* ---------- the cap ---------- */

static void cap_case(uint32_t ring_cap, uint32_t max)
{
    feed_ovf_stats_t stats;
    feed_ovf_t o;
    tg_ring_t *r = setup(&o, &stats, ring_cap, max);
    uint32_t total = ring_cap + max;
    tg_event_t *ev = calloc(total + 1, sizeof(*ev));
    assert_non_null(ev);
    for (uint32_t i = 0; i <= total; i++)
        ev[i] = ev_seq(i + 1);
    /* in pieces, so the overflow grows several times */
    uint32_t done = 0;
    while (done < total) {
        uint32_t n = total - done < 1000 ? total - done : 1000;
        assert_int_equal(feed_ovf_push(&o, r, ev + done, n), n);
        done += n;
    }
    assert_int_equal(feed_ovf_held(&o), max);
    assert_int_equal(TG_STAT_GET(stats.events), max);
    assert_int_equal(TG_STAT_GET(stats.bytes), (uint64_t)max * sizeof(tg_event_t));
    /* full: the next event is refused, twice (nothing drained) */
    assert_int_equal(feed_ovf_push(&o, r, ev + total, 1), 0);
    assert_int_equal(feed_ovf_push(&o, r, ev + total, 1), 0);
    /* and taken once the consumer made room */
    uint64_t next = 1;
    assert_int_equal(pop_in_order(r, &next), ring_cap);
    assert_int_equal(feed_ovf_push(&o, r, ev + total, 1), 1);
    drain_all(&o, r, &next);
    assert_int_equal(next, (uint64_t)total + 2);
    assert_int_equal(TG_STAT_GET(stats.episodes), 1);
    feed_ovf_free(&o);
    free(ev);
    tg_ring_destroy(&r);
}

static void test_ring_and_overflow_take_exactly_their_capacity_then_refuse(void **st)
{
    (void)st;
    cap_case(1024, 4096);  /* the first mapping is the cap */
    cap_case(1024, 10000); /* 4096, 8192, then clamped to 10000 */
    cap_case(64, 100);     /* below the first mapping */
}

static void test_no_overflow_refuses_as_soon_as_the_ring_is_full(void **st)
{
    (void)st;
    tg_ring_t *r = NULL;
    assert_int_equal(tg_ring_create(&r, 64, sizeof(tg_event_t)), 0);
    feed_ovf_t o;
    feed_ovf_init(&o, 0, NULL);
    tg_event_t ev[100];
    for (uint32_t i = 0; i < 100; i++)
        ev[i] = ev_seq(i + 1);
    assert_int_equal(feed_ovf_push(&o, r, ev, 100), 64);
    assert_int_equal(feed_ovf_held(&o), 0);
    assert_null(o.buf);
    feed_ovf_free(&o);
    tg_ring_destroy(&r);
}

/* ---------- growing while wrapped ---------- */

static void test_growing_a_wrapped_overflow_keeps_the_order(void **st)
{
    (void)st;
    feed_ovf_stats_t stats;
    feed_ovf_t o;
    tg_ring_t *r = setup(&o, &stats, 64, 1u << 20);
    uint64_t seq = 1, next = 1;
    fill(&o, r, &seq, 64 + FEED_OVF_FIRST, 64); /* ring full, then the first mapping full */
    assert_int_equal(o.cap, FEED_OVF_FIRST);
    assert_int_equal(feed_ovf_held(&o), FEED_OVF_FIRST);
    /* the consumer takes 64 (the ring refills from the overflow's head) ... */
    assert_int_equal(pop_in_order(r, &next), 64);
    assert_int_equal(feed_ovf_drain(&o, r), FEED_OVF_FIRST - 64);
    /* ... 64 new ones wrap to the front, the overflow is full again, then grows */
    assert_int_equal(push_seq(&o, r, &seq, 64), 64);
    assert_true(o.head > 0);
    assert_int_equal(feed_ovf_held(&o), FEED_OVF_FIRST);
    assert_int_equal(push_seq(&o, r, &seq, 64), 64);
    assert_int_equal(o.cap, 2 * FEED_OVF_FIRST);
    drain_all(&o, r, &next);
    assert_int_equal(next, seq);
    feed_ovf_free(&o);
    tg_ring_destroy(&r);
}

/* ---------- release ---------- */

static void test_the_overflow_is_unmapped_once_drained_and_idle(void **st)
{
    int64_t t0 = 1000 * TG_NS_PER_SEC; /* a clock of the test's own */
    uint64_t seq = 1, next = 1;
    uint32_t peak = 0;
    feed_ovf_stats_t stats;
    feed_ovf_t o;
    tg_ring_t *r = setup(&o, &stats, 64, 1u << 16);
    fill(&o, r, &seq, 10000, 100);
    assert_int_equal(feed_ovf_held(&o), 10000 - 64);
    assert_true(TG_STAT_GET(stats.bytes) >= 10000 * sizeof(tg_event_t));
    assert_false(feed_ovf_idle(&o, t0, 0, &peak)); /* holding events: kept */
    drain_all(&o, r, &next);
    assert_int_equal(next, seq);
    assert_true(TG_STAT_GET(stats.bytes) > 0); /* not yet: it lingers */
    assert_false(feed_ovf_idle(&o, t0, TG_NS_PER_SEC, &peak));
    assert_false(feed_ovf_idle(&o, t0 + TG_NS_PER_SEC / 2, TG_NS_PER_SEC, &peak));
    assert_true(feed_ovf_idle(&o, t0 + TG_NS_PER_SEC, TG_NS_PER_SEC, &peak));
    assert_int_equal(peak, 10000 - 64);
    assert_null(o.buf);
    assert_int_equal(TG_STAT_GET(stats.bytes), 0);
    assert_int_equal(TG_STAT_GET(stats.events), 0);
    assert_false(feed_ovf_idle(&o, t0 + 2 * TG_NS_PER_SEC, 0, &peak)); /* nothing mapped */
    /* the next burst is a new episode */
    assert_int_equal(push_seq(&o, r, &seq, 100), 100);
    assert_int_equal(TG_STAT_GET(stats.episodes), 2);
    drain_all(&o, r, &next);
    assert_false(feed_ovf_idle(&o, t0 + 3 * TG_NS_PER_SEC, TG_NS_PER_SEC, &peak));
    /* events while it lingers: the clock starts again when it is empty again */
    assert_int_equal(push_seq(&o, r, &seq, 100), 100);
    assert_true(feed_ovf_held(&o) > 0);
    assert_false(feed_ovf_idle(&o, t0 + 5 * TG_NS_PER_SEC, TG_NS_PER_SEC, &peak));
    drain_all(&o, r, &next);
    assert_false(feed_ovf_idle(&o, t0 + 6 * TG_NS_PER_SEC, TG_NS_PER_SEC, &peak));
    assert_true(feed_ovf_idle(&o, t0 + 7 * TG_NS_PER_SEC, TG_NS_PER_SEC, &peak));
    assert_int_equal(next, seq);
    feed_ovf_free(&o);
    tg_ring_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_burst_beyond_the_ring_reaches_a_slow_consumer_complete_and_in_order),
        cmocka_unit_test(test_ring_and_overflow_take_exactly_their_capacity_then_refuse),
        cmocka_unit_test(test_no_overflow_refuses_as_soon_as_the_ring_is_full),
        cmocka_unit_test(test_growing_a_wrapped_overflow_keeps_the_order),
        cmocka_unit_test(test_the_overflow_is_unmapped_once_drained_and_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
