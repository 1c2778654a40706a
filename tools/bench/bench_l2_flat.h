/* SPDX-License-Identifier: MIT */
/* Benchmark-only copy of the first book_l2 design (one flat sorted array per side, best at the
 * end, live range floating in the allocation, shorter side moved) kept to measure it against
 * the blocked design that replaced it (docs/book.md). Generated from book_l2.c at commit
 * "bench: tickgate-bench-book"; symbols renamed flat_*. */
#ifndef BENCH_L2_FLAT_H
#define BENCH_L2_FLAT_H
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "book/book_l2.h"

#define FLAT_SCAN 8

typedef struct flat_l2 flat_l2_t;
static inline void flat_l2_destroy(flat_l2_t **pb);
typedef struct flat_side {
    int64_t *k;
    int64_t *s;
    uint32_t lo, n, cap;
} flat_side_t;

struct flat_l2 {
    flat_side_t side[2]; /* 0 bids, 1 asks */
    uint64_t generation;
    uint64_t last_seq;
    uint8_t state;
};

static inline int flat_side_alloc(flat_side_t *sd, uint32_t cap)
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

static inline int flat_l2_create(flat_l2_t **out, uint32_t cap_hint)
{
    flat_l2_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    uint32_t cap = cap_hint ? cap_hint : 256;
    if (cap > (UINT32_MAX - 64) / 2)
        cap = (UINT32_MAX - 64) / 2;
    cap = cap * 2 + 32; /* room to grow at both ends without recentring */
    if (flat_side_alloc(&b->side[0], cap) < 0 || flat_side_alloc(&b->side[1], cap) < 0) {
        flat_l2_destroy(&b);
        return -ENOMEM;
    }
    b->state = BOOK_STATE_RESYNCING;
    *out = b;
    return 0;
}

static inline void flat_l2_destroy(flat_l2_t **pb)
{
    if (!pb || !*pb)
        return;
    flat_l2_t *b = *pb;
    for (int i = 0; i < 2; i++) {
        free(b->side[i].k);
        free(b->side[i].s);
    }
    free(b);
    *pb = NULL;
}

static inline void flat_l2_clear(flat_l2_t *b)
{
    for (int i = 0; i < 2; i++)
        b->side[i].lo = b->side[i].n = b->side[i].cap / 2;
}

/* Move the live range so that free space is split evenly between both ends, growing the
 * allocation first when less than half the live size (or 16 slots) is free. */
static inline int flat_side_recentre(flat_side_t *sd)
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
static inline uint32_t flat_side_find(const flat_side_t *sd, int64_t key)
{
    uint32_t j = sd->n;
    const int64_t *k = sd->k;
    uint32_t stop = sd->n - sd->lo > FLAT_SCAN ? sd->n - FLAT_SCAN : sd->lo;
    while (j > stop && k[j - 1] >= key)
        j--;
    if (j > stop || j == sd->lo || k[j - 1] < key)
        return j;
    /* every scanned level is >= key: branchless binary search in [lo, j) (the compiler emits
       a conditional move, so a deep book costs no mispredicted branches) */
    const int64_t *base = k + sd->lo;
    size_t len = j - sd->lo;
    while (len > 1) {
        size_t half = len / 2;
        base = base[half] < key ? base + half : base;
        len -= half;
    }
    return (uint32_t)(base - k) + (*base < key);
}

static inline int flat_side_set(flat_side_t *sd, int64_t key, int64_t size)
{
    uint32_t j = flat_side_find(sd, key);
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
            int rc = flat_side_recentre(sd); /* leaves room at both ends */
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

static inline int flat_l2_set(flat_l2_t *b, tg_side_t side, int64_t price, int64_t size)
{
    int64_t key;
    int i = book_l2_side_key(side, price, size, &key);
    return i < 0 ? i : flat_side_set(&b->side[i], key, size);
}

static inline size_t flat_l2_top(const flat_l2_t *b, tg_side_t side, tg_level_t *out, size_t n)
{
    if (side != TG_SIDE_BID && side != TG_SIDE_ASK)
        return 0;
    const flat_side_t *sd = &b->side[side == TG_SIDE_ASK];
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

static inline size_t flat_l2_depth(const flat_l2_t *b, tg_side_t side)
{
    if (side != TG_SIDE_BID && side != TG_SIDE_ASK)
        return 0;
    const flat_side_t *sd = &b->side[side == TG_SIDE_ASK];
    return sd->n - sd->lo;
}

static inline bool flat_l2_best_bid(const flat_l2_t *b, tg_level_t *out)
{
    const flat_side_t *sd = &b->side[0];
    if (sd->n == sd->lo)
        return false;
    out->price = sd->k[sd->n - 1];
    out->size = sd->s[sd->n - 1];
    return true;
}

static inline bool flat_l2_best_ask(const flat_l2_t *b, tg_level_t *out)
{
    const flat_side_t *sd = &b->side[1];
    if (sd->n == sd->lo)
        return false;
    out->price = -sd->k[sd->n - 1];
    out->size = sd->s[sd->n - 1];
    return true;
}

static inline bool flat_l2_crossed(const flat_l2_t *b)
{
    const flat_side_t *bd = &b->side[0], *as = &b->side[1];
    if (bd->n == bd->lo || as->n == as->lo)
        return false;
    return bd->k[bd->n - 1] >= -as->k[as->n - 1];
}

static inline void flat_l2_truncate(flat_l2_t *b, size_t n)
{
    if (!n)
        return;
    for (int i = 0; i < 2; i++) {
        flat_side_t *sd = &b->side[i];
        if (sd->n - sd->lo > n)
            sd->lo = sd->n - (uint32_t)n;
    }
}

static inline int64_t flat_l2_size_at(const flat_l2_t *b, tg_side_t side, int64_t price)
{
    if ((side != TG_SIDE_BID && side != TG_SIDE_ASK) || price == INT64_MIN)
        return 0;
    const flat_side_t *sd = &b->side[side == TG_SIDE_ASK];
    int64_t key = side == TG_SIDE_ASK ? -price : price;
    uint32_t j = flat_side_find(sd, key);
    return j < sd->n && sd->k[j] == key ? sd->s[j] : 0;
}

static inline book_state_t flat_l2_state(const flat_l2_t *b)
{
    return (book_state_t)b->state;
}

static inline void flat_l2_set_state(flat_l2_t *b, book_state_t st)
{
    b->state = (uint8_t)st;
}

static inline uint64_t flat_l2_generation(const flat_l2_t *b)
{
    return b->generation;
}

static inline void flat_l2_bump_generation(flat_l2_t *b)
{
    b->generation++;
}

static inline uint64_t flat_l2_last_seq(const flat_l2_t *b)
{
    return b->last_seq;
}

static inline void flat_l2_set_last_seq(flat_l2_t *b, uint64_t seq)
{
    b->last_seq = seq;
}
#endif
