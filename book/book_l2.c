/* SPDX-License-Identifier: MIT */
/*
 * L2 order book: two sorted arrays per book with the best level at the end.
 *
 * DESIGN
 * Each side holds keys k[] and sizes s[] in [lo, n) of an allocation of cap slots, sorted
 * ascending by key; the best level is k[n-1]. Bids use key = price, asks key = -price, so the
 * best bid is the largest key and so is the best ask. Most updates touch the first few levels,
 * so the lookup scans from the end for up to BOOK_L2_SCAN levels and switches to a binary
 * search below that. An insert or delete moves whichever part is shorter: the levels above the
 * position (towards n) or the ones below it (towards lo); when the chosen end has no room the
 * range is recentred in its allocation (growing it when less than half of the live size is
 * free), which keeps inserts at either end amortized O(1). Truncation to a depth limit only
 * moves lo. Keys and sizes are separate arrays so the search touches 8 bytes per level.
 * Invariant: lo <= n <= cap; k[lo..n) strictly increasing; s[lo..n) > 0.
 * Thread: book.
 */
#include "book_l2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BOOK_L2_SCAN 8

typedef struct l2_side {
    int64_t *k;
    int64_t *s;
    uint32_t lo, n, cap;
} l2_side_t;

struct book_l2 {
    l2_side_t side[2]; /* 0 bids, 1 asks */
    uint64_t generation;
    uint64_t last_seq;
    uint8_t state;
};

static int side_alloc(l2_side_t *sd, uint32_t cap)
{
    sd->k = malloc(sizeof(int64_t) * cap);
    sd->s = malloc(sizeof(int64_t) * cap);
    if (!sd->k || !sd->s) {
        free(sd->k);
        free(sd->s);
        sd->k = sd->s = NULL;
        return -ENOMEM;
    }
    sd->cap = cap;
    sd->lo = sd->n = cap / 2;
    return 0;
}

int book_l2_create(book_l2_t **out, uint32_t cap_hint)
{
    book_l2_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    uint32_t cap = cap_hint ? cap_hint : 256;
    if (cap > (UINT32_MAX - 64) / 2)
        cap = (UINT32_MAX - 64) / 2;
    cap = cap * 2 + 32; /* room to grow at both ends without recentring */
    if (side_alloc(&b->side[0], cap) < 0 || side_alloc(&b->side[1], cap) < 0) {
        book_l2_destroy(&b);
        return -ENOMEM;
    }
    b->state = BOOK_STATE_RESYNCING;
    *out = b;
    return 0;
}

void book_l2_destroy(book_l2_t **pb)
{
    if (!pb || !*pb)
        return;
    book_l2_t *b = *pb;
    for (int i = 0; i < 2; i++) {
        free(b->side[i].k);
        free(b->side[i].s);
    }
    free(b);
    *pb = NULL;
}

void book_l2_clear(book_l2_t *b)
{
    for (int i = 0; i < 2; i++)
        b->side[i].lo = b->side[i].n = b->side[i].cap / 2;
}

/* Move the live range so that free space is split evenly between both ends, growing the
 * allocation first when less than half the live size (or 16 slots) is free. */
static int side_recentre(l2_side_t *sd)
{
    uint32_t cnt = sd->n - sd->lo;
    uint32_t free_slots = sd->cap - cnt;
    if (free_slots < 16 || free_slots < cnt / 2) {
        uint64_t ncap64 = (uint64_t)cnt * 2 + 32;
        if (ncap64 > UINT32_MAX)
            return -ENOMEM;
        uint32_t ncap = (uint32_t)ncap64;
        int64_t *nk = malloc(sizeof(int64_t) * ncap);
        int64_t *ns = malloc(sizeof(int64_t) * ncap);
        if (!nk || !ns) {
            free(nk);
            free(ns);
            return -ENOMEM;
        }
        uint32_t nlo = (ncap - cnt) / 2;
        memcpy(nk + nlo, sd->k + sd->lo, sizeof(int64_t) * cnt);
        memcpy(ns + nlo, sd->s + sd->lo, sizeof(int64_t) * cnt);
        free(sd->k);
        free(sd->s);
        sd->k = nk;
        sd->s = ns;
        sd->cap = ncap;
        sd->lo = nlo;
        sd->n = nlo + cnt;
        return 0;
    }
    uint32_t nlo = (sd->cap - cnt) / 2;
    memmove(sd->k + nlo, sd->k + sd->lo, sizeof(int64_t) * cnt);
    memmove(sd->s + nlo, sd->s + sd->lo, sizeof(int64_t) * cnt);
    sd->lo = nlo;
    sd->n = nlo + cnt;
    return 0;
}

/* Lower bound: smallest index i in [lo, n] with k[i] >= key (n if none). Scans from the top. */
static inline uint32_t side_find(const l2_side_t *sd, int64_t key)
{
    uint32_t j = sd->n;
    const int64_t *k = sd->k;
    uint32_t stop = sd->n - sd->lo > BOOK_L2_SCAN ? sd->n - BOOK_L2_SCAN : sd->lo;
    while (j > stop && k[j - 1] >= key)
        j--;
    if (j > stop || j == sd->lo || k[j - 1] < key)
        return j;
    /* every scanned level is >= key: binary search in [lo, j) */
    uint32_t lo = sd->lo, hi = j;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (k[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int side_set(l2_side_t *sd, int64_t key, int64_t size)
{
    uint32_t j = side_find(sd, key);
    if (j < sd->n && sd->k[j] == key) {
        if (size) {
            sd->s[j] = size;
            return 0;
        }
        /* delete j: shift the shorter part */
        uint32_t above = sd->n - 1 - j, below = j - sd->lo;
        if (above <= below) {
            memmove(sd->k + j, sd->k + j + 1, sizeof(int64_t) * above);
            memmove(sd->s + j, sd->s + j + 1, sizeof(int64_t) * above);
            sd->n--;
        } else {
            memmove(sd->k + sd->lo + 1, sd->k + sd->lo, sizeof(int64_t) * below);
            memmove(sd->s + sd->lo + 1, sd->s + sd->lo, sizeof(int64_t) * below);
            sd->lo++;
        }
        return 0;
    }
    if (!size)
        return BOOK_L2_MISSING;
    /* insert before j: levels [j, n) move up, or [lo, j) move down */
    uint32_t above = sd->n - j, below = j - sd->lo;
    bool up = above <= below;
    bool room = up ? sd->n < sd->cap : sd->lo > 0;
    if (!room) {
        /* the cheap end is full: use the other end if it has room and the move is short */
        if (up && sd->lo > 0 && below < 64) {
            up = false;
        } else if (!up && sd->n < sd->cap && above < 64) {
            up = true;
        } else {
            uint32_t off = sd->lo;
            int rc = side_recentre(sd); /* leaves room at both ends */
            if (rc < 0)
                return rc;
            j = j - off + sd->lo;
        }
    }
    if (up) {
        memmove(sd->k + j + 1, sd->k + j, sizeof(int64_t) * (sd->n - j));
        memmove(sd->s + j + 1, sd->s + j, sizeof(int64_t) * (sd->n - j));
        sd->n++;
    } else {
        memmove(sd->k + sd->lo - 1, sd->k + sd->lo, sizeof(int64_t) * (j - sd->lo));
        memmove(sd->s + sd->lo - 1, sd->s + sd->lo, sizeof(int64_t) * (j - sd->lo));
        sd->lo--;
        j--;
    }
    sd->k[j] = key;
    sd->s[j] = size;
    return 0;
}

int book_l2_set(book_l2_t *b, tg_side_t side, int64_t price, int64_t size)
{
    if (size < 0 || price == INT64_MIN)
        return -EINVAL;
    if (side == TG_SIDE_BID)
        return side_set(&b->side[0], price, size);
    if (side == TG_SIDE_ASK)
        return side_set(&b->side[1], -price, size);
    return -EINVAL;
}

size_t book_l2_top(const book_l2_t *b, tg_side_t side, tg_level_t *out, size_t n)
{
    if (side != TG_SIDE_BID && side != TG_SIDE_ASK)
        return 0;
    const l2_side_t *sd = &b->side[side == TG_SIDE_ASK];
    size_t cnt = sd->n - sd->lo;
    if (n > cnt)
        n = cnt;
    const int64_t *k = sd->k + sd->n - 1, *s = sd->s + sd->n - 1;
    if (side == TG_SIDE_BID) {
        for (size_t i = 0; i < n; i++) {
            out[i].price = k[-(ptrdiff_t)i];
            out[i].size = s[-(ptrdiff_t)i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            out[i].price = -k[-(ptrdiff_t)i];
            out[i].size = s[-(ptrdiff_t)i];
        }
    }
    return n;
}

size_t book_l2_depth(const book_l2_t *b, tg_side_t side)
{
    if (side != TG_SIDE_BID && side != TG_SIDE_ASK)
        return 0;
    const l2_side_t *sd = &b->side[side == TG_SIDE_ASK];
    return sd->n - sd->lo;
}

bool book_l2_best_bid(const book_l2_t *b, tg_level_t *out)
{
    const l2_side_t *sd = &b->side[0];
    if (sd->n == sd->lo)
        return false;
    out->price = sd->k[sd->n - 1];
    out->size = sd->s[sd->n - 1];
    return true;
}

bool book_l2_best_ask(const book_l2_t *b, tg_level_t *out)
{
    const l2_side_t *sd = &b->side[1];
    if (sd->n == sd->lo)
        return false;
    out->price = -sd->k[sd->n - 1];
    out->size = sd->s[sd->n - 1];
    return true;
}

bool book_l2_crossed(const book_l2_t *b)
{
    const l2_side_t *bd = &b->side[0], *as = &b->side[1];
    if (bd->n == bd->lo || as->n == as->lo)
        return false;
    return bd->k[bd->n - 1] >= -as->k[as->n - 1];
}

void book_l2_truncate(book_l2_t *b, size_t n)
{
    if (!n)
        return;
    for (int i = 0; i < 2; i++) {
        l2_side_t *sd = &b->side[i];
        if (sd->n - sd->lo > n)
            sd->lo = sd->n - (uint32_t)n;
    }
}

int64_t book_l2_size_at(const book_l2_t *b, tg_side_t side, int64_t price)
{
    if ((side != TG_SIDE_BID && side != TG_SIDE_ASK) || price == INT64_MIN)
        return 0;
    const l2_side_t *sd = &b->side[side == TG_SIDE_ASK];
    int64_t key = side == TG_SIDE_ASK ? -price : price;
    uint32_t j = side_find(sd, key);
    return j < sd->n && sd->k[j] == key ? sd->s[j] : 0;
}

book_state_t book_l2_state(const book_l2_t *b)
{
    return (book_state_t)b->state;
}

void book_l2_set_state(book_l2_t *b, book_state_t st)
{
    b->state = (uint8_t)st;
}

uint64_t book_l2_generation(const book_l2_t *b)
{
    return b->generation;
}

void book_l2_bump_generation(book_l2_t *b)
{
    b->generation++;
}

uint64_t book_l2_last_seq(const book_l2_t *b)
{
    return b->last_seq;
}

void book_l2_set_last_seq(book_l2_t *b, uint64_t seq)
{
    b->last_seq = seq;
}
