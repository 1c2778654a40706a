/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of book_l2: basic semantics, truncation, growth, and a randomized property test
 * against the obviously-right reference book (book/book_ref.h): millions of random
 * snapshot/delta operations, concentrated near the top like real feeds, must give identical
 * top-N and depth on both sides after every message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/book_l2.h"
#include "book/book_ref.h"
#include "tests/fixtures/tu_main.h"

static int setup(void **state)
{
    book_l2_t *b = NULL;
    if (book_l2_create(&b, 0) < 0)
        return -1;
    *state = b;
    return 0;
}

static int teardown(void **state)
{
    book_l2_t *b = *state;
    book_l2_destroy(&b);
    return 0;
}

static void test_l2_new_book_is_empty_and_resyncing(void **state)
{
    book_l2_t *b = *state;
    tg_level_t l;
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 0);
    assert_int_equal(book_l2_depth(b, TG_SIDE_ASK), 0);
    assert_false(book_l2_best_bid(b, &l));
    assert_false(book_l2_best_ask(b, &l));
    assert_false(book_l2_crossed(b));
    assert_int_equal(book_l2_state(b), BOOK_STATE_RESYNCING);
    assert_int_equal(book_l2_generation(b), 0);
}

static void test_l2_levels_come_out_best_first(void **state)
{
    book_l2_t *b = *state;
    int64_t bids[] = {100, 103, 101, 99, 102};
    int64_t asks[] = {110, 105, 107, 106, 120};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(book_l2_set(b, TG_SIDE_BID, bids[i], i + 1), 0);
        assert_int_equal(book_l2_set(b, TG_SIDE_ASK, asks[i], 10 + i), 0);
    }
    tg_level_t t[8];
    assert_int_equal(book_l2_top(b, TG_SIDE_BID, t, 8), 5);
    int64_t eb[] = {103, 102, 101, 100, 99}, ea[] = {105, 106, 107, 110, 120};
    for (int i = 0; i < 5; i++)
        assert_int_equal(t[i].price, eb[i]);
    assert_int_equal(t[0].size, 2);
    assert_int_equal(book_l2_top(b, TG_SIDE_ASK, t, 3), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t[i].price, ea[i]);
    assert_int_equal(t[0].size, 11);
    tg_level_t l;
    assert_true(book_l2_best_bid(b, &l));
    assert_int_equal(l.price, 103);
    assert_true(book_l2_best_ask(b, &l));
    assert_int_equal(l.price, 105);
    assert_int_equal(book_l2_size_at(b, TG_SIDE_ASK, 107), 12);
    assert_int_equal(book_l2_size_at(b, TG_SIDE_ASK, 108), 0);
}

static void test_l2_size_zero_deletes_and_missing_delete_is_reported(void **state)
{
    book_l2_t *b = *state;
    assert_int_equal(book_l2_set(b, TG_SIDE_BID, 100, 5), 0);
    assert_int_equal(book_l2_set(b, TG_SIDE_BID, 100, 7), 0);
    assert_int_equal(book_l2_size_at(b, TG_SIDE_BID, 100), 7);
    assert_int_equal(book_l2_set(b, TG_SIDE_BID, 100, 0), 0);
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 0);
    assert_int_equal(book_l2_set(b, TG_SIDE_BID, 100, 0), BOOK_L2_MISSING);
    assert_int_equal(book_l2_set(b, TG_SIDE_BID, 100, -1), -EINVAL);
    assert_int_equal(book_l2_set(b, TG_SIDE_NONE, 100, 1), -EINVAL);
    assert_int_equal(book_l2_set(b, TG_SIDE_ASK, INT64_MIN, 1), -EINVAL);
}

static void test_l2_crossed_when_best_bid_reaches_best_ask(void **state)
{
    book_l2_t *b = *state;
    book_l2_set(b, TG_SIDE_BID, 100, 1);
    book_l2_set(b, TG_SIDE_ASK, 101, 1);
    assert_false(book_l2_crossed(b));
    book_l2_set(b, TG_SIDE_BID, 101, 1);
    assert_true(book_l2_crossed(b));
    book_l2_clear(b);
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 0);
    assert_false(book_l2_crossed(b));
}

static void test_l2_truncate_keeps_the_best_levels(void **state)
{
    book_l2_t *b = *state;
    for (int64_t p = 1; p <= 50; p++) {
        book_l2_set(b, TG_SIDE_BID, p, p);
        book_l2_set(b, TG_SIDE_ASK, 100 + p, p);
    }
    book_l2_truncate(b, 10);
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 10);
    assert_int_equal(book_l2_depth(b, TG_SIDE_ASK), 10);
    tg_level_t t[10];
    book_l2_top(b, TG_SIDE_BID, t, 10);
    assert_int_equal(t[9].price, 41);
    book_l2_top(b, TG_SIDE_ASK, t, 10);
    assert_int_equal(t[9].price, 110);
    /* levels below the cut stay gone, inserts still work at both ends */
    assert_int_equal(book_l2_size_at(b, TG_SIDE_BID, 40), 0);
    book_l2_set(b, TG_SIDE_BID, 5, 1);
    book_l2_set(b, TG_SIDE_BID, 60, 1);
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 12);
    book_l2_truncate(b, 0); /* no limit */
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 12);
}

static void test_l2_deep_books_grow_in_both_directions(void **state)
{
    book_l2_t *b = *state;
    /* REST-style snapshot: bids best first (descending), asks best first (ascending) */
    for (int64_t i = 0; i < 5000; i++) {
        assert_int_equal(book_l2_set(b, TG_SIDE_BID, 1000000 - i, 1 + i), 0);
        assert_int_equal(book_l2_set(b, TG_SIDE_ASK, 1000001 + i, 1 + i), 0);
    }
    /* and the other order */
    for (int64_t i = 0; i < 5000; i++)
        assert_int_equal(book_l2_set(b, TG_SIDE_BID, 2000000 + i, 1), 0);
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 10000);
    assert_int_equal(book_l2_depth(b, TG_SIDE_ASK), 5000);
    tg_level_t l;
    assert_true(book_l2_best_bid(b, &l));
    assert_int_equal(l.price, 2004999);
    assert_int_equal(book_l2_size_at(b, TG_SIDE_BID, 1000000 - 4999), 5000);
    assert_true(book_l2_best_ask(b, &l));
    assert_int_equal(l.price, 1000001);
}

static void test_l2_state_generation_and_seq_are_stored(void **state)
{
    book_l2_t *b = *state;
    book_l2_set_state(b, BOOK_STATE_VALID);
    book_l2_bump_generation(b);
    book_l2_bump_generation(b);
    book_l2_set_last_seq(b, 42);
    assert_int_equal(book_l2_state(b), BOOK_STATE_VALID);
    assert_int_equal(book_l2_generation(b), 2);
    assert_int_equal(book_l2_last_seq(b), 42);
    book_l2_clear(b); /* clear keeps the bookkeeping */
    assert_int_equal(book_l2_generation(b), 2);
}

/* xorshift64* */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void compare(const book_l2_t *b, const ref_book_t *r)
{
    tg_level_t t[25];
    assert_int_equal(book_l2_depth(b, TG_SIDE_BID), r->bid.n);
    assert_int_equal(book_l2_depth(b, TG_SIDE_ASK), r->ask.n);
    size_t nb = book_l2_top(b, TG_SIDE_BID, t, 25);
    assert_int_equal(nb, r->bid.n < 25 ? r->bid.n : 25);
    for (size_t i = 0; i < nb; i++) {
        assert_int_equal(t[i].price, r->bid.px[i]);
        assert_int_equal(t[i].size, r->bid.sz[i]);
    }
    size_t na = book_l2_top(b, TG_SIDE_ASK, t, 25);
    assert_int_equal(na, r->ask.n < 25 ? r->ask.n : 25);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(t[i].price, r->ask.px[i]);
        assert_int_equal(t[i].size, r->ask.sz[i]);
    }
}

static void full_compare(const book_l2_t *b, const ref_book_t *r)
{
    static tg_level_t t[1 << 16];
    size_t nb = book_l2_top(b, TG_SIDE_BID, t, 1 << 16);
    assert_int_equal(nb, r->bid.n);
    for (size_t i = 0; i < nb; i++)
        assert_true(t[i].price == r->bid.px[i] && t[i].size == r->bid.sz[i]);
    size_t na = book_l2_top(b, TG_SIDE_ASK, t, 1 << 16);
    assert_int_equal(na, r->ask.n);
    for (size_t i = 0; i < na; i++)
        assert_true(t[i].price == r->ask.px[i] && t[i].size == r->ask.sz[i]);
}

/* One random level change, mostly near the current mid like real feeds. */
static void random_change(book_l2_t *b, ref_book_t *r, int64_t *mid, int spread_wide)
{
    tg_event_t ev = {.kind = TG_EV_LEVEL};
    uint64_t x = rnd();
    ev.side = (x & 1) ? TG_SIDE_BID : TG_SIDE_ASK;
    int64_t off;
    if ((x >> 1) % 10 < 8)
        off = (int64_t)((x >> 8) % 12); /* near the top */
    else
        off = (int64_t)((x >> 8) % (uint64_t)spread_wide); /* anywhere */
    ev.price = ev.side == TG_SIDE_BID ? *mid - 1 - off : *mid + 1 + off;
    ev.size = ((x >> 40) % 4 == 0) ? 0 : (int64_t)((x >> 42) % 1000) + 1;
    if ((x >> 60) == 0) /* drift */
        *mid += (x & 2) ? 1 : -1;
    ref_book_apply(r, &ev);
    int rc = book_l2_set(b, (tg_side_t)ev.side, ev.price, ev.size);
    assert_true(rc == 0 || rc == BOOK_L2_MISSING);
}

static void random_snapshot(book_l2_t *b, ref_book_t *r, int64_t mid, int levels)
{
    tg_event_t clr = {.kind = TG_EV_BOOK_CLEAR};
    ref_book_apply(r, &clr);
    book_l2_clear(b);
    int order = (int)(rnd() % 3); /* best first, worst first, shuffled-ish */
    for (int i = 0; i < levels; i++) {
        int k = order == 0 ? i : order == 1 ? levels - 1 - i : (int)(rnd() % (uint64_t)levels);
        for (int s = 0; s < 2; s++) {
            tg_event_t ev = {.kind = TG_EV_LEVEL, .side = s ? TG_SIDE_ASK : TG_SIDE_BID};
            ev.price = s ? mid + 1 + k * 2 : mid - 1 - k * 2;
            ev.size = (int64_t)(rnd() % 100) + 1;
            ref_book_apply(r, &ev);
            assert_true(book_l2_set(b, (tg_side_t)ev.side, ev.price, ev.size) >= 0);
        }
    }
}

static void test_l2_random_sequences_match_the_reference_book(void **state)
{
    book_l2_t *b = *state;
    ref_book_t r = {0};
    int64_t mid = 1000000;
    long changes = 0;
    const long target = 3000000;
    int round = 0;
    while (changes < target) {
        int levels = (int)(rnd() % 4 == 0 ? rnd() % 1500 : rnd() % 60);
        int wide = round % 2 ? 2000 : 40;
        size_t limit = 0;
        if (rnd() % 4 == 0) /* shallow (Kraken 10/25) or deep (Kraken 1000) depth limits */
            limit = rnd() % 2 ? (size_t)(rnd() % 50 + 1) : (size_t)(rnd() % 1000 + 1);
        random_snapshot(b, &r, mid, levels);
        compare(b, &r);
        int msgs = (int)(rnd() % 3000);
        for (int m = 0; m < msgs; m++) {
            int per = (int)(rnd() % 6) + 1;
            for (int i = 0; i < per; i++)
                random_change(b, &r, &mid, wide);
            changes += per;
            if (limit) {
                book_l2_truncate(b, limit);
                ref_book_truncate(&r, limit);
            }
            compare(b, &r);
        }
        full_compare(b, &r);
        round++;
    }
    ref_book_free(&r);
    print_message("  %ld random level changes in %d snapshot rounds\n", changes, round);
}

/* Messages list their levels away from the top (Binance: bids descending, asks ascending), the
 * order book_l2's finger follows: runs of changes at increasing distance from the mid, deep
 * enough to cross blocks, with inserts, deletes (merges), splits, truncations and rescales
 * between them (each of which must drop or move the finger). */
static void test_l2_runs_away_from_the_top_match_the_reference_book(void **state)
{
    book_l2_t *b = *state;
    ref_book_t r = {0};
    int64_t mid = 1000000;
    long changes = 0;
    int rescales = 0;
    random_snapshot(b, &r, mid, 1200);
    for (int m = 0; m < 60000; m++) {
        for (int s = 0; s < 2; s++) {
            tg_side_t side = s ? TG_SIDE_ASK : TG_SIDE_BID;
            int per = (int)(rnd() % 40) + 1;
            int64_t off = (int64_t)(rnd() % 20);
            for (int i = 0; i < per; i++) {
                off += 1 + (int64_t)(rnd() % (rnd() % 2 ? 4 : 300)); /* near, or far below */
                tg_event_t ev = {.kind = TG_EV_LEVEL, .side = side};
                ev.price = side == TG_SIDE_BID ? mid - off : mid + off;
                ev.size = rnd() % 3 == 0 ? 0 : (int64_t)(rnd() % 1000) + 1;
                ref_book_apply(&r, &ev);
                int rc = book_l2_set(b, side, ev.price, ev.size);
                assert_true(rc == 0 || rc == BOOK_L2_MISSING);
                changes++;
            }
        }
        if (rnd() % 50 == 0)
            mid += (int64_t)(rnd() % 21) - 10;
        if (rnd() % 500 == 0) {
            size_t limit = (size_t)(rnd() % 2000) + 1;
            book_l2_truncate(b, limit);
            ref_book_truncate(&r, limit);
        }
        if (rnd() % 5000 == 0 && rescales < 2) { /* prices and sizes x10: the mid too */
            assert_int_equal(book_l2_rescale(b, 1, 1), 0);
            for (size_t i = 0; i < r.bid.n; i++) {
                r.bid.px[i] *= 10;
                r.bid.sz[i] *= 10;
            }
            for (size_t i = 0; i < r.ask.n; i++) {
                r.ask.px[i] *= 10;
                r.ask.sz[i] *= 10;
            }
            mid *= 10;
            rescales++;
        }
        compare(b, &r);
        if (m % 1000 == 0)
            full_compare(b, &r);
    }
    full_compare(b, &r);
    assert_true(book_l2_depth(b, TG_SIDE_BID) > 128 && book_l2_depth(b, TG_SIDE_ASK) > 128);
    ref_book_free(&r);
    print_message("  %ld level changes in runs away from the top, %d rescales\n", changes,
                  rescales);
}

/* Apply one level to both books and compare the whole book (small books only). */
static void set_both(book_l2_t *b, ref_book_t *r, tg_side_t side, int64_t px, int64_t sz)
{
    tg_event_t ev = {.kind = TG_EV_LEVEL, .side = side, .price = px, .size = sz};
    ref_book_apply(r, &ev);
    int rc = book_l2_set(b, side, px, sz);
    assert_true(rc == 0 || rc == BOOK_L2_MISSING);
    full_compare(b, r);
}

/* Block edges: books of 1..3 blocks +- 1 level, loaded in both orders, then inserts between
 * every pair of levels (full blocks spill, split 2 -> 3, open end blocks) and deletes every
 * other level, from the bottom, then the rest (2 -> 1 and 3 -> 2 merges, released blocks),
 * each compared in full with the reference. */
static void test_l2_block_edges_match_the_reference_book(void **state)
{
    book_l2_t *b = *state;
    static const int sizes[] = {127, 128, 129, 255, 256, 257, 383, 384, 385, 512};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        for (int order = 0; order < 2; order++) {
            ref_book_t r = {0};
            tg_event_t clr = {.kind = TG_EV_BOOK_CLEAR};
            ref_book_apply(&r, &clr);
            book_l2_clear(b);
            int n = sizes[si];
            for (int i = 0; i < n; i++) { /* prices 10, 20, ...: room between levels */
                int k = order ? i : n - 1 - i;
                set_both(b, &r, TG_SIDE_BID, 10 * (k + 1), k + 1);
                set_both(b, &r, TG_SIDE_ASK, 100000 + 10 * (k + 1), k + 1);
            }
            for (int i = 0; i < n; i += 3) /* inside full blocks, near both ends too */
                set_both(b, &r, TG_SIDE_BID, 10 * (i + 1) + 5, 7);
            for (int i = 0; i < n; i += 2)
                set_both(b, &r, TG_SIDE_BID, 10 * (i + 1), 0);
            for (int i = 0; i < n / 2; i++)
                set_both(b, &r, TG_SIDE_ASK, 100000 + 10 * (i + 1), 0);
            book_l2_truncate(b, (size_t)n / 5 + 1);
            ref_book_truncate(&r, (size_t)n / 5 + 1);
            full_compare(b, &r);
            for (int i = n - 1; i >= 0; i--) {
                set_both(b, &r, TG_SIDE_BID, 10 * (i + 1) + 5, 0);
                set_both(b, &r, TG_SIDE_BID, 10 * (i + 1), 0);
                set_both(b, &r, TG_SIDE_ASK, 100000 + 10 * (i + 1), 0);
            }
            assert_int_equal(book_l2_depth(b, TG_SIDE_BID), 0);
            assert_int_equal(book_l2_depth(b, TG_SIDE_ASK), 0);
            ref_book_free(&r);
        }
    }
}

/* Keys at the ends of the range: a bid at INT64_MAX and an ask at -INT64_MAX have the key
 * INT64_MAX, the value book_l2 pads unused block slots with (its in-block count relies on no
 * key being below the padding). Books of 1-3 blocks against the top of the range, levels
 * inserted between, deleted from the top (each delete pads a slot) and truncated, so that new
 * best levels land next to padding, compared in full after every change. */
static void test_l2_keys_at_the_ends_of_the_range_match_the_reference_book(void **state)
{
    book_l2_t *b = *state;
    static const int sizes[] = {1, 2, 127, 128, 129, 300};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        ref_book_t r = {0};
        tg_event_t clr = {.kind = TG_EV_BOOK_CLEAR};
        ref_book_apply(&r, &clr);
        book_l2_clear(b);
        int n = sizes[si];
        for (int i = 0; i < n; i++) { /* best first: INT64_MAX, INT64_MAX - 4, ... */
            set_both(b, &r, TG_SIDE_BID, INT64_MAX - 4 * (int64_t)i, i + 1);
            set_both(b, &r, TG_SIDE_ASK, -INT64_MAX + 4 * (int64_t)i, i + 1);
        }
        for (int i = 0; i < n; i += 2) /* between levels, below the best */
            set_both(b, &r, TG_SIDE_BID, INT64_MAX - 4 * (int64_t)i - 2, 9);
        for (int i = 0; i < 5 && i < n; i++) { /* the best goes and comes back, several times */
            set_both(b, &r, TG_SIDE_BID, INT64_MAX, 0);
            set_both(b, &r, TG_SIDE_ASK, -INT64_MAX, 0);
            set_both(b, &r, TG_SIDE_BID, INT64_MAX - 4 * (int64_t)(i + 1), 0);
            set_both(b, &r, TG_SIDE_BID, INT64_MAX, 3);
            set_both(b, &r, TG_SIDE_ASK, -INT64_MAX, 3);
            set_both(b, &r, TG_SIDE_BID, INT64_MAX - 1, 4);
        }
        book_l2_truncate(b, (size_t)n / 3 + 1);
        ref_book_truncate(&r, (size_t)n / 3 + 1);
        full_compare(b, &r);
        set_both(b, &r, TG_SIDE_BID, INT64_MAX - 3, 5); /* next to the padding of a shrunk block */
        set_both(b, &r, TG_SIDE_BID, INT64_MAX, 0);
        set_both(b, &r, TG_SIDE_BID, INT64_MAX, 6);
        set_both(b, &r, TG_SIDE_ASK, -INT64_MAX + 1, 6);
        assert_int_equal(book_l2_size_at(b, TG_SIDE_BID, INT64_MAX), 6);
        assert_int_equal(book_l2_size_at(b, TG_SIDE_ASK, -INT64_MAX), 3);
        ref_book_free(&r);
    }
}

/* Issue 13: memory follows the levels held, <= 1.5 x 16 B a level plus a few KB a book. */
static void test_l2_memory_follows_the_levels_held(void **state)
{
    book_l2_t *b = *state;
    const size_t few_kb = 8192, base = book_l2_mem_bytes(b);
    /* sorted snapshots (REST order: keys descending on both sides) fill blocks completely */
    for (int64_t i = 0; i < 5000; i++) {
        book_l2_set(b, TG_SIDE_BID, 1000000 - i, 1);
        book_l2_set(b, TG_SIDE_ASK, 1000001 + i, 1);
    }
    assert_true(book_l2_mem_bytes(b) <= 17 * 10000 + base + few_kb);
    /* random changes anywhere at a steady depth: blocks stay >= 2/3 full */
    for (int i = 0; i < 400000; i++) {
        uint64_t x = rnd();
        int64_t off = (int64_t)((x >> 1) % 5000);
        int64_t sz = (x >> 20) % 2 ? 1 : 0;
        if (x & 1)
            book_l2_set(b, TG_SIDE_BID, 1000000 - off, sz);
        else
            book_l2_set(b, TG_SIDE_ASK, 1000001 + off, sz);
    }
    size_t lv = book_l2_depth(b, TG_SIDE_BID) + book_l2_depth(b, TG_SIDE_ASK);
    print_message("  %zu levels, %zu bytes after random changes\n", lv, book_l2_mem_bytes(b));
    assert_true(lv > 4000);
    assert_true(book_l2_mem_bytes(b) <= 24 * lv + base + few_kb);
    /* the book shrinks to 100 levels a side: its blocks go back (one spare a side is kept) */
    for (int64_t off = 100; off < 5000; off++) {
        book_l2_set(b, TG_SIDE_BID, 1000000 - off, 0);
        book_l2_set(b, TG_SIDE_ASK, 1000001 + off, 0);
    }
    lv = book_l2_depth(b, TG_SIDE_BID) + book_l2_depth(b, TG_SIDE_ASK);
    assert_true(lv <= 200);
    assert_true(book_l2_mem_bytes(b) <= 24 * lv + base + few_kb);
    /* growing by one block and shrinking back, again and again, reuses the spare block */
    size_t m0 = book_l2_mem_bytes(b);
    for (int rep = 0; rep < 3; rep++) {
        for (int64_t p = 2000000; p < 2000300; p++)
            book_l2_set(b, TG_SIDE_BID, p, 1);
        for (int64_t p = 2000000; p < 2000300; p++)
            book_l2_set(b, TG_SIDE_BID, p, 0);
        assert_true(book_l2_mem_bytes(b) <= m0 + 2048);
    }
    /* a clear releases every block but one spare a side (the index keeps its size) */
    for (int64_t i = 0; i < 5000; i++)
        book_l2_set(b, TG_SIDE_BID, 1000000 - i, 1);
    assert_true(book_l2_mem_bytes(b) > 5000 * 16);
    book_l2_clear(b);
    assert_true(book_l2_mem_bytes(b) <= base + few_kb);
}

int main(void)
{
    TU_RETURN_GROUP_EACH(
        setup, teardown, cmocka_unit_test(test_l2_new_book_is_empty_and_resyncing),
        cmocka_unit_test(test_l2_levels_come_out_best_first),
        cmocka_unit_test(test_l2_size_zero_deletes_and_missing_delete_is_reported),
        cmocka_unit_test(test_l2_crossed_when_best_bid_reaches_best_ask),
        cmocka_unit_test(test_l2_truncate_keeps_the_best_levels),
        cmocka_unit_test(test_l2_deep_books_grow_in_both_directions),
        cmocka_unit_test(test_l2_state_generation_and_seq_are_stored),
        cmocka_unit_test(test_l2_random_sequences_match_the_reference_book),
        cmocka_unit_test(test_l2_block_edges_match_the_reference_book),
        cmocka_unit_test(test_l2_keys_at_the_ends_of_the_range_match_the_reference_book),
        cmocka_unit_test(test_l2_memory_follows_the_levels_held),
        cmocka_unit_test(test_l2_runs_away_from_the_top_match_the_reference_book));
}
