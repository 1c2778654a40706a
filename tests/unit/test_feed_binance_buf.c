/* SPDX-License-Identifier: MIT */
/*
 * Binance pre-snapshot diff buffer (feeds/venues/feed_binance_buf.c), on a handler with a
 * pool shrunk to a few diffs: a busy symbol cannot push a quiet one's diffs out (fair share),
 * a snapshot older than an evicted diff is refused and a newer one requested (never applied
 * with a hole after it; repeated refusals back off), ids that start again (a looping replay)
 * forget the previous run's diffs, a diff too large for any share is dropped loudly, a
 * reconnect empties the buffer and REST answers of the previous connection are ignored; at
 * its full size, the pool's pages go back to the kernel once every waiting symbol synced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/binance_frames.h"

/* A spot depthUpdate U..u of sym adding bid px (size 1), plus `extra` more bids. */
static void diff(vh_env_t *e, const char *sym, uint64_t U, uint64_t u, const char *px, int extra)
{
    char f[4096], lower[32];
    size_t k = 0;
    for (; sym[k] && k < sizeof(lower) - 1; k++)
        lower[k] = (char)(sym[k] >= 'A' && sym[k] <= 'Z' ? sym[k] + 32 : sym[k]);
    lower[k] = 0;
    int n = snprintf(f, sizeof(f),
                     "{\"stream\":\"%s@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1000,"
                     "\"s\":\"%s\",\"U\":%llu,\"u\":%llu,\"b\":[[\"%s\",\"1\"]",
                     lower, sym, (unsigned long long)U, (unsigned long long)u, px);
    for (int i = 0; i < extra; i++)
        n += snprintf(f + n, sizeof(f) - (size_t)n, ",[\"0.%d\",\"1\"]", i + 1);
    snprintf(f + n, sizeof(f) - (size_t)n, "],\"a\":[]}}");
    assert_int_equal(vh_env_frame(e, f), 0);
}

/* The REST snapshot L (one bid 1.5) for sym, answered to connection generation gen. */
static int snap(vh_env_t *e, const char *sym, uint32_t gen, uint64_t L)
{
    feed_handler_t *h = &e->o->h;
    feed_bn_t *b = h->vstate;
    int s = feed_binance__sym(b, sym, strlen(sym), false);
    assert_true(s >= 0);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"lastUpdateId\":%llu,\"bids\":[[\"1.5\",\"5\"]],\"asks\":[[\"9.5\",\"5\"]]}",
             (unsigned long long)L);
    int rc = feed_rest(h, ((uint64_t)gen << 32) | (uint32_t)s, 200, body, strlen(body), 5, 5);
    feed_flush(h);
    return rc;
}

static vh_env_t *open_small(const char *symbols, uint32_t diffs, uint32_t levels)
{
    vh_env_t *e = vh_env_open("binance", symbols, NULL, 0, 0);
    feed_bn_t *b = e->o->h.vstate;
    b->bd_cap = diffs; /* smaller than allocated: the same code, a pool of a few diffs */
    b->bl_cap = levels;
    return e;
}

static size_t bids(vh_env_t *e, const char *sym)
{
    return e->v->book[vh_env_id(e, sym)].bid.n;
}

/* The end of a test on sym: its book holds n bids and no gap was counted; e closed. */
static void close_with_bids(vh_env_t *e, const char *sym, size_t n)
{
    assert_int_equal(bids(e, sym), n);
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 0);
    vh_env_close(e);
}

static void test_binance_busy_symbol_cannot_evict_a_quiet_symbols_diffs(void **state)
{
    vh_env_t *e = open_small("BTCUSDT,ETHUSDT", 16, 64);
    const feed_stats_t *st = &e->o->stats;
    uint32_t gen = ((feed_bn_t *)e->o->h.vstate)->gen;
    diff(e, "ETHUSDT", 96, 102, "2.0", 0); /* quiet: one diff, first in, bridges L = 100 */
    char px[32];
    for (int i = 0; i < 100; i++) { /* busy: 100 diffs into a pool of 16 */
        snprintf(px, sizeof(px), "3%d.0", i);
        diff(e, "BTCUSDT", 1000 + (uint64_t)i, 1000 + (uint64_t)i, px, 0);
    }
    assert_true(TG_STAT_GET(st->stale_dropped) >= 80); /* evicted, counted */
    /* the quiet symbol's diff survived the flood: its snapshot syncs with it */
    assert_int_equal(snap(e, "ETHUSDT", gen, 100), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 1);
    assert_int_equal(TG_STAT_GET(st->resyncs), 0);
    assert_int_equal(bids(e, "ETHUSDT"), 2); /* 1.5 from the snapshot, 2.0 from the diff */
    /* the busy one lost its oldest diffs: a snapshot older than them is refused, not applied
     * with a hole (nothing emitted for it), and a newer one is asked for */
    size_t gets = e->o->rest_gets, n_ev = e->n_ev;
    assert_int_equal(snap(e, "BTCUSDT", gen, 1050), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 1);
    assert_int_equal(TG_STAT_GET(st->resyncs), 1);
    assert_int_equal(e->o->rest_gets, gets + 1);
    assert_int_equal(e->n_ev, n_ev);
    assert_int_equal(bids(e, "BTCUSDT"), 0);
    /* refused again: the retries back off (1 s, 2 s, ...) instead of looping at once */
    feed_handler_t *h = &e->o->h;
    assert_int_equal(snap(e, "BTCUSDT", gen, 1050), 0);
    assert_int_equal(TG_STAT_GET(st->resyncs), 2);
    assert_int_equal(e->o->rest_gets, gets + 1);
    h->venue->on_tick(h, 5 + 999999999LL);
    assert_int_equal(e->o->rest_gets, gets + 1);
    h->venue->on_tick(h, 5 + 1000000000LL);
    assert_int_equal(e->o->rest_gets, gets + 2);
    assert_int_equal(snap(e, "BTCUSDT", gen, 1050), 0);
    h->venue->on_tick(h, 5 + 1999999999LL);
    assert_int_equal(e->o->rest_gets, gets + 2);
    h->venue->on_tick(h, 5 + 2000000000LL);
    assert_int_equal(e->o->rest_gets, gets + 3);
    /* a snapshot inside what is still buffered syncs: 1.5 + the 4 diffs after 1095 */
    assert_int_equal(snap(e, "BTCUSDT", gen, 1095), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 2);
    close_with_bids(e, "BTCUSDT", 5);
}

static void test_binance_snapshot_older_than_an_evicted_diff_is_refused(void **state)
{
    /* a diff larger than any share of the pool is dropped; with it buffered nothing of the
     * symbol remains, yet the snapshot before it must not be applied (old code: VALID book
     * without that diff, and nothing said) */
    vh_env_t *e = open_small("BTCUSDT", 16, 8);
    const feed_stats_t *st = &e->o->stats;
    uint32_t gen = ((feed_bn_t *)e->o->h.vstate)->gen;
    diff(e, "BTCUSDT", 96, 102, "2.0", 8); /* 9 levels: more than the whole pool of 8 */
    assert_int_equal(TG_STAT_GET(st->stale_dropped), 1);
    size_t gets = e->o->rest_gets;
    assert_int_equal(snap(e, "BTCUSDT", gen, 100), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 0);
    assert_int_equal(TG_STAT_GET(st->resyncs), 1);
    assert_int_equal(e->o->rest_gets, gets + 1);
    assert_int_equal(bids(e, "BTCUSDT"), 0);
    /* a snapshot at or after the dropped diff is fine; the next diff chains */
    assert_int_equal(snap(e, "BTCUSDT", gen, 102), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 1);
    diff(e, "BTCUSDT", 103, 104, "2.5", 0);
    close_with_bids(e, "BTCUSDT", 2);
}

static void test_binance_ids_starting_again_forget_the_previous_runs_diffs(void **state)
{
    /* tickgate-replay --loop plays the recording again on the same connection: the ids start
     * again. The previous run's evictions must not refuse the new run's snapshot forever. */
    vh_env_t *e = open_small("BTCUSDT", 16, 64);
    const feed_stats_t *st = &e->o->stats;
    uint32_t gen = ((feed_bn_t *)e->o->h.vstate)->gen;
    char px[32];
    for (int i = 0; i < 30; i++) {
        snprintf(px, sizeof(px), "3%d.0", i);
        diff(e, "BTCUSDT", 1000 + (uint64_t)i, 1000 + (uint64_t)i, px, 0);
    }
    assert_true(((feed_bn_t *)e->o->h.vstate)->sym[0].evicted_u >= 1010);
    uint64_t dropped = TG_STAT_GET(st->stale_dropped);
    for (int i = 0; i < 3; i++) { /* again from 1000 */
        snprintf(px, sizeof(px), "4%d.0", i);
        diff(e, "BTCUSDT", 1000 + (uint64_t)i, 1000 + (uint64_t)i, px, 0);
    }
    assert_true(TG_STAT_GET(st->stale_dropped) > dropped); /* the old run's diffs, counted */
    assert_int_equal(snap(e, "BTCUSDT", gen, 999), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 1);
    close_with_bids(e, "BTCUSDT", 4); /* 1.5 + the new run's 3 diffs */
}

static void test_binance_reconnect_empties_the_buffer_and_ignores_old_answers(void **state)
{
    vh_env_t *e = open_small("BTCUSDT,ETHUSDT", 16, 64);
    feed_handler_t *h = &e->o->h;
    const feed_stats_t *st = &e->o->stats;
    feed_bn_t *b = h->vstate;
    uint32_t gen = b->gen;
    diff(e, "BTCUSDT", 96, 102, "2.0", 0);
    diff(e, "ETHUSDT", 96, 102, "2.0", 0);
    h->venue->on_close(h, 5, 5);
    feed_flush(h);
    assert_int_equal(h->venue->on_open(h), 0);
    assert_int_equal(b->bd_n, 0);
    /* the previous connection's answer: ignored, nothing emitted */
    size_t n_ev = e->n_ev;
    assert_int_equal(snap(e, "BTCUSDT", gen, 100), 0);
    assert_int_equal(e->n_ev, n_ev);
    assert_int_equal(TG_STAT_GET(st->snapshots), 0);
    /* the diff buffered before the reconnect is not applied after it: the new connection's
     * snapshot stands alone until its own diffs come */
    assert_int_equal(snap(e, "BTCUSDT", b->gen, 100), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 1);
    assert_int_equal(bids(e, "BTCUSDT"), 1);
    vh_env_close(e);
}

/* ---- memory: the pool at its full default size (mincore(2) on its level array) ---- */

/* Bytes resident among the whole pages of [p, p + len). */
static size_t resident(const void *p, size_t len)
{
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), e = ((uintptr_t)p + len) & ~(pg - 1);
    if (e <= a)
        return 0;
    size_t n = (e - a) / pg, r = 0;
    unsigned char *v = malloc(n);
    assert_non_null(v);
    assert_int_equal(mincore((void *)a, e - a, v), 0);
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    return r * pg;
}

/* A spot depthUpdate U..u of sym with `n` bids (distinct prices). */
static void big_diff(vh_env_t *e, const char *sym, const char *lower, uint64_t U, uint64_t u, int n)
{
    static char f[64 << 10];
    int k = snprintf(f, sizeof(f),
                     "{\"stream\":\"%s@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1000,"
                     "\"s\":\"%s\",\"U\":%llu,\"u\":%llu,\"b\":[",
                     lower, sym, (unsigned long long)U, (unsigned long long)u);
    for (int i = 0; i < n; i++)
        k += snprintf(f + k, sizeof(f) - (size_t)k, "%s[\"%d.%02d\",\"1\"]", i ? "," : "",
                      100 + i / 100, i % 100);
    snprintf(f + k, sizeof(f) - (size_t)k, "],\"a\":[]}}");
    assert_int_equal(vh_env_frame(e, f), 0);
}

/* The pool is allocated whole (2.5 MiB) but, once every waiting symbol has synced, the pages a
 * start-up used go back to the kernel. */
static void test_binance_pool_pages_go_back_once_every_symbol_synced(void **state)
{
    vh_env_t *e = vh_env_open("binance", "BTCUSDT,ETHUSDT", NULL, 0, 0);
    feed_bn_t *b = e->o->h.vstate;
    size_t bl_len = 16 * (size_t)b->bl_cap;
    size_t r0 = resident(b->bl, bl_len);
    /* 2 x 60 diffs of 500 levels: 60 000 level pairs, ~940 KiB of the 2 MiB array */
    for (uint64_t i = 0; i < 60; i++) {
        big_diff(e, "BTCUSDT", "btcusdt", 101 + 10 * i, 110 + 10 * i, 500);
        big_diff(e, "ETHUSDT", "ethusdt", 101 + 10 * i, 110 + 10 * i, 500);
    }
    assert_int_equal(b->bl_n, 60000);
    size_t r1 = resident(b->bl, bl_len);
    printf("pool level array: %zu KiB resident at start, %zu KiB with 60 000 pairs buffered\n",
           r0 >> 10, r1 >> 10);
    /* the used part (60 000 x 16 B: every whole page of it) is resident now whatever was
     * before (a release build under MALLOC_PERTURB_ touches the whole array at malloc) */
    const size_t used = 60000 * 16, pg = (size_t)sysconf(_SC_PAGESIZE), whole = used - 2 * pg;
    assert_true(r1 >= whole);
    assert_int_equal(snap(e, "BTCUSDT", b->gen, 100), 0);
    assert_true(b->bd_n > 0); /* ETHUSDT still waits: nothing is given back */
    size_t r2 = resident(b->bl, bl_len);
    assert_true(r2 + 2 * pg >= r1);
    assert_int_equal(snap(e, "ETHUSDT", b->gen, 100), 0);
    assert_int_equal(b->bd_n, 0);
    size_t r3 = resident(b->bl, bl_len);
    printf("after both snapshots: %zu KiB resident\n", r3 >> 10);
    assert_true(r3 + whole <= r1); /* the used part went back */
    /* the books were built from the replayed diffs (the pool's contents were read before) */
    assert_int_equal(e->v->book[vh_env_id(e, "BTCUSDT")].bid.n, 501);
    assert_int_equal(e->v->book[vh_env_id(e, "ETHUSDT")].bid.n, 501);
    /* used again after the release (a reconnect: every symbol waits again): the pages read as
     * zero, the code writes before it reads */
    feed_handler_t *h = &e->o->h;
    h->venue->on_close(h, 5, 5);
    feed_flush(h);
    assert_int_equal(h->venue->on_open(h), 0);
    big_diff(e, "BTCUSDT", "btcusdt", 2001, 2010, 300);
    big_diff(e, "BTCUSDT", "btcusdt", 2011, 2020, 400);
    assert_int_equal(b->bl_n, 700);
    assert_int_equal(snap(e, "BTCUSDT", b->gen, 2000), 0);
    assert_int_equal(e->v->book[vh_env_id(e, "BTCUSDT")].bid.n, 401);
    vh_env_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binance_busy_symbol_cannot_evict_a_quiet_symbols_diffs),
        cmocka_unit_test(test_binance_snapshot_older_than_an_evicted_diff_is_refused),
        cmocka_unit_test(test_binance_ids_starting_again_forget_the_previous_runs_diffs),
        cmocka_unit_test(test_binance_reconnect_empties_the_buffer_and_ignores_old_answers),
        cmocka_unit_test(test_binance_pool_pages_go_back_once_every_symbol_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
