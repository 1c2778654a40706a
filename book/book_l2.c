/* SPDX-License-Identifier: MIT */
/*
 * L2 order book: per side a sorted sequence of small blocks with the best level at the end.
 *
 * DESIGN
 * Recordings show two access patterns (docs/book.md): venues that send a bounded book
 * (Kraken 100/1000, OKX 400, Bybit 50/500) change mostly near the top, while full-depth diff
 * streams (Binance, 3000+ levels) change levels ~500 deep on average and insert/delete a third
 * of the time. One flat sorted array is ideal for the first and memmove-bound for the second,
 * so each side is an array of blocks of at most BOOK_L2_BLK levels, kept in ascending key
 * order; a block holds sorted keys k[] and sizes s[]. Bids use key = price, asks key = -price,
 * so on both sides the best level is the last key of the last block and one code path serves
 * both. Lookup: the last block first (a change near the top costs one compare), otherwise a
 * binary search over the blocks' first keys; inside a block a scan of up to BOOK_L2_SCAN levels
 * from the end, then a branchless binary search. An insert or delete moves at most one block's
 * tail (<= 2 KB instead of half the book); a full block splits in two, a block under a quarter
 * full merges with a neighbour when they fit in half a block, an empty block is released.
 * Blocks come from a per-side free list, so after warm-up (the deepest book seen) nothing
 * allocates. Truncation to a depth limit releases whole blocks from the bottom and trims one.
 * Invariants: every block in the index has 1..BOOK_L2_BLK levels; keys strictly increase
 * within and across blocks; first[i] == blk[i]->k[0]; count == sum of block sizes; sizes > 0.
 * Thread: book.
 */
#include "book_l2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tg_grow.h"

#define BOOK_L2_BLK  128 /* levels per block: 2 KB of keys and sizes */
#define BOOK_L2_SCAN 8

typedef struct l2_blk {
    int64_t k[BOOK_L2_BLK];
    int64_t s[BOOK_L2_BLK];
    uint32_t n;
} l2_blk_t;

typedef struct l2_side {
    l2_blk_t **blk; /* ascending; best level = blk[nb-1]->k[n-1] */
    int64_t *first; /* first key of each block, parallel to blk */
    uint32_t nb, cap;
    uint32_t count;  /* levels */
    l2_blk_t **pool; /* free blocks */
    uint32_t n_pool, cap_pool;
    /* finger: where the last set left off. Venues list a message's levels away from the top
     * (Binance: bids descending, asks ascending, i.e. keys descending on both sides), so the
     * next key is often lower and near: it is looked for below the finger first. Valid when
     * fb < nb; then every key of block fb below position fj is < fkey and every key at or
     * above fj is > fkey (fkey itself may be gone: a delete). */
    uint32_t fb, fj;
    int64_t fkey;
} l2_side_t;

struct book_l2 {
    l2_side_t side[2]; /* 0 bids, 1 asks */
    uint64_t generation;
    uint64_t last_seq;
    uint8_t state;
};

#define FINGER_NONE UINT32_MAX

static inline void finger_drop(l2_side_t *sd)
{
    sd->fb = FINGER_NONE;
}

static int side_grow_index(l2_side_t *sd, uint32_t want)
{
    if (want <= sd->cap)
        return 0;
    uint32_t cap = (uint32_t)tg_grow_cap(sd->cap, want, 8);
    l2_blk_t **nb = realloc(sd->blk, sizeof(*nb) * cap);
    if (!nb)
        return -ENOMEM;
    sd->blk = nb;
    int64_t *nf = realloc(sd->first, sizeof(*nf) * cap);
    if (!nf)
        return -ENOMEM;
    sd->first = nf;
    l2_blk_t **np = realloc(sd->pool, sizeof(*np) * cap);
    if (!np)
        return -ENOMEM;
    sd->pool = np;
    sd->cap = sd->cap_pool = cap;
    return 0;
}

static l2_blk_t *blk_get(l2_side_t *sd)
{
    if (sd->n_pool)
        return sd->pool[--sd->n_pool];
    return malloc(sizeof(l2_blk_t)); /* only while the book grows past its deepest so far */
}

/* The pool never holds more blocks than the index capacity (every block was in the index). */
static void blk_put(l2_side_t *sd, l2_blk_t *b)
{
    sd->pool[sd->n_pool++] = b;
}

static int side_init(l2_side_t *sd, uint32_t levels)
{
    uint32_t nblk = levels / (BOOK_L2_BLK / 2) + 2;
    finger_drop(sd);
    if (side_grow_index(sd, nblk) < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < nblk; i++) {
        l2_blk_t *b = malloc(sizeof(l2_blk_t));
        if (!b)
            return -ENOMEM;
        blk_put(sd, b);
    }
    return 0;
}

static void side_free(l2_side_t *sd)
{
    for (uint32_t i = 0; i < sd->nb; i++)
        free(sd->blk[i]);
    for (uint32_t i = 0; i < sd->n_pool; i++)
        free(sd->pool[i]);
    free(sd->blk);
    free(sd->first);
    free(sd->pool);
}

int book_l2_create(book_l2_t **out, uint32_t cap_hint)
{
    book_l2_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    uint32_t levels = cap_hint ? cap_hint : 256;
    if (levels > (1u << 24))
        levels = 1u << 24;
    if (side_init(&b->side[0], levels) < 0 || side_init(&b->side[1], levels) < 0) {
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
    side_free(&b->side[0]);
    side_free(&b->side[1]);
    free(b);
    *pb = NULL;
}

static void side_clear(l2_side_t *sd)
{
    for (uint32_t i = 0; i < sd->nb; i++)
        blk_put(sd, sd->blk[i]);
    sd->nb = 0;
    sd->count = 0;
    finger_drop(sd);
}

void book_l2_clear(book_l2_t *b)
{
    side_clear(&b->side[0]);
    side_clear(&b->side[1]);
}

/* Block that holds key or would receive it: the last block whose first key is <= key (0 when
 * key is below every block). Requires nb > 0. */
static inline uint32_t side_block(const l2_side_t *sd, int64_t key)
{
    uint32_t nb = sd->nb;
    if (key >= sd->first[nb - 1])
        return nb - 1; /* the top block: most changes */
    /* branchless: number of blocks in [0, nb-1) whose first key is <= key, minus one */
    const int64_t *f = sd->first, *base = f;
    size_t len = nb - 1;
    while (len > 1) {
        size_t half = len / 2;
        base = base[half] <= key ? base + half : base;
        len -= half;
    }
    uint32_t i = (uint32_t)(base - f) + (*base <= key); /* first index with first > key */
    return i ? i - 1 : 0;
}

/* Lower bound inside a block, known to be <= hi: first index with k >= key (hi if none below
 * hi). Scans down from hi, then a branchless binary search. */
static inline uint32_t blk_find_below(const l2_blk_t *b, int64_t key, uint32_t hi)
{
    uint32_t j = hi;
    uint32_t stop = j > BOOK_L2_SCAN ? j - BOOK_L2_SCAN : 0;
    while (j > stop && b->k[j - 1] >= key)
        j--;
    if (j > stop || j == 0 || b->k[j - 1] < key)
        return j;
    const int64_t *base = b->k;
    size_t len = j;
    while (len > 1) {
        size_t half = len / 2;
        base = base[half] < key ? base + half : base;
        len -= half;
    }
    return (uint32_t)(base - b->k) + (*base < key);
}

/* Lower bound inside a block: first index with k >= key (n if none). */
static inline uint32_t blk_find(const l2_blk_t *b, int64_t key)
{
    return blk_find_below(b, key, b->n);
}

static void index_remove(l2_side_t *sd, uint32_t i)
{
    finger_drop(sd);
    blk_put(sd, sd->blk[i]);
    memmove(sd->blk + i, sd->blk + i + 1, sizeof(*sd->blk) * (sd->nb - i - 1));
    memmove(sd->first + i, sd->first + i + 1, sizeof(*sd->first) * (sd->nb - i - 1));
    sd->nb--;
}

/* Append block i+1 to block i and drop i+1 (caller checked they fit). */
static void blk_merge(l2_side_t *sd, uint32_t i)
{
    l2_blk_t *a = sd->blk[i], *c = sd->blk[i + 1];
    memcpy(a->k + a->n, c->k, sizeof(int64_t) * c->n);
    memcpy(a->s + a->n, c->s, sizeof(int64_t) * c->n);
    a->n += c->n;
    index_remove(sd, i + 1);
}

static void side_delete(l2_side_t *sd, uint32_t bi, uint32_t j)
{
    l2_blk_t *b = sd->blk[bi];
    uint32_t tail = b->n - 1 - j;
    memmove(b->k + j, b->k + j + 1, sizeof(int64_t) * tail);
    memmove(b->s + j, b->s + j + 1, sizeof(int64_t) * tail);
    b->n--;
    sd->count--;
    if (!b->n) {
        index_remove(sd, bi);
        return;
    }
    if (j == 0)
        sd->first[bi] = b->k[0];
    if (b->n < BOOK_L2_BLK / 4) {
        if (bi > 0 && sd->blk[bi - 1]->n + b->n <= BOOK_L2_BLK / 2)
            blk_merge(sd, bi - 1);
        else if (bi + 1 < sd->nb && sd->blk[bi + 1]->n + b->n <= BOOK_L2_BLK / 2)
            blk_merge(sd, bi);
    }
}

/* Insert at (*pbi, *pj); they are set to where the key ended up (a split may move it). */
static int side_insert(l2_side_t *sd, uint32_t *pbi, uint32_t *pj, int64_t key, int64_t size)
{
    uint32_t bi = *pbi, j = *pj;
    l2_blk_t *b = sd->blk[bi];
    if (b->n == BOOK_L2_BLK) { /* split: the upper half moves to a new block after bi */
        if (side_grow_index(sd, sd->nb + 1) < 0)
            return -ENOMEM;
        l2_blk_t *c = blk_get(sd);
        if (!c)
            return -ENOMEM;
        uint32_t h = BOOK_L2_BLK / 2;
        memcpy(c->k, b->k + h, sizeof(int64_t) * (BOOK_L2_BLK - h));
        memcpy(c->s, b->s + h, sizeof(int64_t) * (BOOK_L2_BLK - h));
        c->n = BOOK_L2_BLK - h;
        b->n = h;
        memmove(sd->blk + bi + 2, sd->blk + bi + 1, sizeof(*sd->blk) * (sd->nb - bi - 1));
        memmove(sd->first + bi + 2, sd->first + bi + 1, sizeof(*sd->first) * (sd->nb - bi - 1));
        sd->blk[bi + 1] = c;
        sd->first[bi + 1] = c->k[0];
        sd->nb++;
        if (j > h) {
            bi++;
            j -= h;
            b = c;
        }
    }
    memmove(b->k + j + 1, b->k + j, sizeof(int64_t) * (b->n - j));
    memmove(b->s + j + 1, b->s + j, sizeof(int64_t) * (b->n - j));
    b->k[j] = key;
    b->s[j] = size;
    b->n++;
    sd->count++;
    if (j == 0)
        sd->first[bi] = key;
    *pbi = bi;
    *pj = j;
    return 0;
}

static int side_set(l2_side_t *sd, int64_t key, int64_t size)
{
    if (!sd->nb) {
        if (!size)
            return BOOK_L2_MISSING;
        if (side_grow_index(sd, 1) < 0)
            return -ENOMEM;
        l2_blk_t *b = blk_get(sd);
        if (!b)
            return -ENOMEM;
        b->k[0] = key;
        b->s[0] = size;
        b->n = 1;
        sd->blk[0] = b;
        sd->first[0] = key;
        sd->nb = 1;
        sd->count = 1;
        return 0;
    }
    uint32_t bi, j, top = sd->nb - 1;
    l2_blk_t *b;
    if (key >= sd->first[top]) { /* the top block: most changes on most venues */
        bi = top;
        b = sd->blk[bi];
        uint32_t hi = sd->fb == top && key < sd->fkey ? sd->fj : b->n; /* no branch */
        j = blk_find_below(b, key, hi);
    } else if (sd->fb < top && key < sd->fkey && key >= sd->first[sd->fb]) {
        bi = sd->fb; /* below the last change, in its block: no search over the blocks */
        b = sd->blk[bi];
        j = blk_find_below(b, key, sd->fj);
    } else {
        bi = side_block(sd, key);
        b = sd->blk[bi];
        j = blk_find(b, key);
    }
    if (j < b->n && b->k[j] == key) {
        if (size) {
            b->s[j] = size;
        } else {
            sd->fb = bi;
            side_delete(sd, bi, j); /* drops the finger when blocks merge or go */
            if (sd->fb != FINGER_NONE) {
                sd->fj = j;
                sd->fkey = key;
            }
            return 0;
        }
    } else {
        if (!size)
            return BOOK_L2_MISSING;
        int rc = side_insert(sd, &bi, &j, key, size);
        if (rc < 0)
            return rc;
    }
    sd->fb = bi;
    sd->fj = j;
    sd->fkey = key;
    return 0;
}

int book_l2_set(book_l2_t *b, tg_side_t side, int64_t price, int64_t size)
{
    int64_t key;
    int i = book_l2_side_key(side, price, size, &key);
    return i < 0 ? i : side_set(&b->side[i], key, size);
}

size_t book_l2_top(const book_l2_t *b, tg_side_t side, tg_level_t *out, size_t n)
{
    if (side != TG_SIDE_BID && side != TG_SIDE_ASK)
        return 0;
    const l2_side_t *sd = &b->side[side == TG_SIDE_ASK];
    int64_t sign = side == TG_SIDE_ASK ? -1 : 1;
    size_t w = 0;
    for (uint32_t bi = sd->nb; bi-- > 0 && w < n;) {
        const l2_blk_t *bk = sd->blk[bi];
        for (uint32_t j = bk->n; j-- > 0 && w < n; w++) {
            out[w].price = sign * bk->k[j];
            out[w].size = bk->s[j];
        }
    }
    return w;
}

size_t book_l2_depth(const book_l2_t *b, tg_side_t side)
{
    if (side != TG_SIDE_BID && side != TG_SIDE_ASK)
        return 0;
    return b->side[side == TG_SIDE_ASK].count;
}

static bool side_best(const l2_side_t *sd, int64_t *key, int64_t *size)
{
    if (!sd->nb)
        return false;
    const l2_blk_t *bk = sd->blk[sd->nb - 1];
    *key = bk->k[bk->n - 1];
    *size = bk->s[bk->n - 1];
    return true;
}

bool book_l2_best_bid(const book_l2_t *b, tg_level_t *out)
{
    int64_t k, s;
    if (!side_best(&b->side[0], &k, &s))
        return false;
    out->price = k;
    out->size = s;
    return true;
}

bool book_l2_best_ask(const book_l2_t *b, tg_level_t *out)
{
    int64_t k, s;
    if (!side_best(&b->side[1], &k, &s))
        return false;
    out->price = -k;
    out->size = s;
    return true;
}

bool book_l2_crossed(const book_l2_t *b)
{
    int64_t kb, ka, s;
    if (!side_best(&b->side[0], &kb, &s) || !side_best(&b->side[1], &ka, &s))
        return false;
    return kb >= -ka;
}

void book_l2_truncate(book_l2_t *b, size_t n)
{
    if (!n)
        return;
    for (int i = 0; i < 2; i++) {
        l2_side_t *sd = &b->side[i];
        while (sd->count > n && sd->count - sd->blk[0]->n >= n) {
            sd->count -= sd->blk[0]->n;
            index_remove(sd, 0);
        }
        if (sd->count > n) { /* drop the lowest levels of the bottom block */
            finger_drop(sd);
            l2_blk_t *bk = sd->blk[0];
            uint32_t d = (uint32_t)(sd->count - n);
            memmove(bk->k, bk->k + d, sizeof(int64_t) * (bk->n - d));
            memmove(bk->s, bk->s + d, sizeof(int64_t) * (bk->n - d));
            bk->n -= d;
            sd->count -= d;
            sd->first[0] = bk->k[0];
        }
    }
}

int64_t book_l2_size_at(const book_l2_t *b, tg_side_t side, int64_t price)
{
    if ((side != TG_SIDE_BID && side != TG_SIDE_ASK) || price == INT64_MIN)
        return 0;
    const l2_side_t *sd = &b->side[side == TG_SIDE_ASK];
    if (!sd->nb)
        return 0;
    int64_t key = side == TG_SIDE_ASK ? -price : price;
    const l2_blk_t *bk = sd->blk[side_block(sd, key)];
    uint32_t j = blk_find(bk, key);
    return j < bk->n && bk->k[j] == key ? bk->s[j] : 0;
}
size_t book_l2_mem_bytes(const book_l2_t *b)
{
    size_t m = sizeof(*b);
    for (int i = 0; i < 2; i++) {
        const l2_side_t *sd = &b->side[i];
        m += (size_t)(sd->nb + sd->n_pool) * sizeof(l2_blk_t);
        m += (size_t)sd->cap * (sizeof(*sd->blk) + sizeof(*sd->first) + sizeof(*sd->pool));
    }
    return m;
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

/* |v| * m fits in int64 (and is not INT64_MIN)? */
static inline bool mul_ok(int64_t v, int64_t m)
{
    int64_t r;
    return !__builtin_mul_overflow(v, m, &r) && r != INT64_MIN;
}

static bool side_scale_ok(const l2_side_t *sd, int64_t pm, int64_t sm)
{
    for (uint32_t i = 0; i < sd->nb; i++) {
        const l2_blk_t *bk = sd->blk[i];
        for (uint32_t j = 0; j < bk->n; j++)
            if (!mul_ok(bk->k[j], pm) || !mul_ok(bk->s[j], sm))
                return false;
    }
    return true;
}

static void side_scale(l2_side_t *sd, int64_t pm, int64_t sm)
{
    finger_drop(sd);
    for (uint32_t i = 0; i < sd->nb; i++) {
        l2_blk_t *bk = sd->blk[i];
        for (uint32_t j = 0; j < bk->n; j++) {
            bk->k[j] *= pm;
            bk->s[j] *= sm;
        }
        sd->first[i] = bk->k[0];
    }
}

int book_l2_rescale(book_l2_t *b, int px_up, int sz_up)
{
    if (px_up < 0 || sz_up < 0 || px_up > 18 || sz_up > 18)
        return -EINVAL;
    static const int64_t p10[19] = {1,
                                    10,
                                    100,
                                    1000,
                                    10000,
                                    100000,
                                    1000000,
                                    10000000,
                                    100000000,
                                    1000000000,
                                    10000000000,
                                    100000000000,
                                    1000000000000,
                                    10000000000000,
                                    100000000000000,
                                    1000000000000000,
                                    10000000000000000,
                                    100000000000000000,
                                    1000000000000000000};
    int64_t pm = p10[px_up], sm = p10[sz_up];
    if (pm == 1 && sm == 1)
        return 0;
    if (!side_scale_ok(&b->side[0], pm, sm) || !side_scale_ok(&b->side[1], pm, sm))
        return -ERANGE;
    side_scale(&b->side[0], pm, sm);
    side_scale(&b->side[1], pm, sm);
    return 0;
}
