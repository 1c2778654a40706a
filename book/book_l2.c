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
 * binary search over the blocks' first keys; inside a block a count of the keys below the key
 * in three steps without a branch (blk_lower: slots past the block's levels hold INT64_MAX, so
 * the count needs no bound). An insert or delete moves at most one block's tail (<= 2 KB
 * instead of half the book).
 * MEMORY (issue 13: <= 1.5 x 16 B per level held + a few KB per book). A block is exactly 2 KB
 * of keys and sizes (its level count is in the index), and blocks are kept ~3/4 full: a full
 * block at either end of the side opens a new block there (sorted loads fill blocks
 * completely), elsewhere it spills into a neighbour with room (the two evened out) or becomes
 * three blocks with a full neighbour; after a delete a block merges with a neighbour when both
 * fit with 16 levels to spare, or three into two likewise. Released blocks go back to malloc
 * except one per side, so a side holds memory for the levels it has now, not for the deepest
 * book it ever had (the old per-side free list did). Measured with tickgate-bench-book --mem
 * (docs/book.md): 33 -> 22 B/level on the Binance spot recording.
 * Invariants: every block in the index has 1..BOOK_L2_BLK levels; keys strictly increase
 * within and across blocks; a block's unused slots k[n[i]..BOOK_L2_BLK) hold INT64_MAX
 * (never < a key, so blk_lower counts levels only); first[i] == blk[i]->k[0]; count == sum of
 * n[i]; sizes > 0; n_alloc == blocks in the index + n_pool.
 * Thread: book.
 */
#include "book_l2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tg_grow.h"

#define BOOK_L2_BLK  128 /* levels per block: 2 KB of keys and sizes, nothing else */
#define L2_SPILL_MIN 16  /* a full block spills into a neighbour with at least this much room */
#define L2_MERGE_GAP 16  /* blocks merge when the result leaves this much room in each */
#define L2_POOL_KEEP 1   /* free blocks kept per side; more go back to malloc */

/* Exactly 2048 bytes: a power-of-two size class in every allocator (jemalloc rounds 2056 to
 * 2560). The level count of a block lives in the side's index (n[]). */
typedef struct l2_blk {
    int64_t k[BOOK_L2_BLK];
    int64_t s[BOOK_L2_BLK];
} l2_blk_t;

typedef struct l2_side {
    l2_blk_t **blk; /* ascending; best level = blk[nb-1]->k[n[nb-1]-1] */
    int64_t *first; /* first key of each block, parallel to blk */
    uint32_t *n;    /* levels in each block, parallel to blk */
    uint32_t nb, cap;
    uint32_t count;   /* levels */
    uint32_t n_alloc; /* blocks allocated: in the index or the pool */
    l2_blk_t *pool[L2_POOL_KEEP];
    uint32_t n_pool;
    /* finger: where the last set left off. Venues list a message's levels away from the top
     * (Binance: bids descending, asks ascending, i.e. keys descending on both sides), so the
     * next key is often lower and in the same block: a key in [first[fb], fkey) is looked for
     * in block fb without the search over the blocks. Valid when fb < nb; fkey was set or
     * deleted in block fb and no level has moved between blocks since. */
    uint32_t fb;
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
    uint32_t *nn = realloc(sd->n, sizeof(*nn) * cap);
    if (!nn)
        return -ENOMEM;
    sd->n = nn;
    sd->cap = cap;
    return 0;
}

static l2_blk_t *blk_get(l2_side_t *sd)
{
    if (sd->n_pool)
        return sd->pool[--sd->n_pool];
    l2_blk_t *b = malloc(sizeof(l2_blk_t)); /* only while the side grows past its blocks */
    if (b)
        sd->n_alloc++;
    return b;
}

/* A released block: kept for the next growth up to L2_POOL_KEEP, else freed, so a side holds
 * memory for the levels it has, not for the deepest book it ever had. */
static void blk_put(l2_side_t *sd, l2_blk_t *b)
{
    if (sd->n_pool < L2_POOL_KEEP) {
        sd->pool[sd->n_pool++] = b;
        return;
    }
    free(b);
    sd->n_alloc--;
}

static void side_free(l2_side_t *sd)
{
    for (uint32_t i = 0; i < sd->nb; i++)
        free(sd->blk[i]);
    for (uint32_t i = 0; i < sd->n_pool; i++)
        free(sd->pool[i]);
    free(sd->blk);
    free(sd->first);
    free(sd->n);
}

int book_l2_create(book_l2_t **out, uint32_t cap_hint)
{
    book_l2_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    uint32_t levels = cap_hint ? cap_hint : 256;
    if (levels > (1u << 24))
        levels = 1u << 24;
    for (int i = 0; i < 2; i++) {
        finger_drop(&b->side[i]);
        if (side_grow_index(&b->side[i], levels / (BOOK_L2_BLK / 2) + 2) < 0) {
            book_l2_destroy(&b);
            return -ENOMEM;
        }
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

/* Lower bound inside a block: the number of keys < key, i.e. the first index with k >= key (the
 * block's level count if none). The padding (INT64_MAX past the levels) is never counted, so
 * the count runs over the fixed 128 slots in three steps of independent compares, without a
 * branch: which quarter (keys 31, 63, 95), which eighth of it, then its 8 keys. Replaces a
 * scan from the end plus a binary search (7 dependent loads and a mispredicted scan exit). */
static inline uint32_t blk_lower(const l2_blk_t *b, int64_t key)
{
    _Static_assert(BOOK_L2_BLK == 128, "blk_lower counts over 4 x 4 x 8 slots");
    const int64_t *k = b->k;
    uint32_t j = 32 * ((uint32_t)(k[31] < key) + (uint32_t)(k[63] < key) + (uint32_t)(k[95] < key));
    j += 8 *
         ((uint32_t)(k[j + 7] < key) + (uint32_t)(k[j + 15] < key) + (uint32_t)(k[j + 23] < key));
    const int64_t *p = k + j;
    uint32_t lo = (uint32_t)(p[0] < key) + (uint32_t)(p[1] < key) + (uint32_t)(p[2] < key) +
                  (uint32_t)(p[3] < key);
    uint32_t hi = (uint32_t)(p[4] < key) + (uint32_t)(p[5] < key) + (uint32_t)(p[6] < key) +
                  (uint32_t)(p[7] < key);
    return j + lo + hi;
}

/* Pad slots [from, BOOK_L2_BLK) of a block (blk_lower's bound). */
static inline void blk_pad(l2_blk_t *b, uint32_t from)
{
    for (uint32_t i = from; i < BOOK_L2_BLK; i++)
        b->k[i] = INT64_MAX;
}

/* Open index slots [i, i+m) (shifting the blocks from i up); the caller fills them. */
static void index_open(l2_side_t *sd, uint32_t i, uint32_t m)
{
    uint32_t t = sd->nb - i;
    memmove(sd->blk + i + m, sd->blk + i, sizeof(*sd->blk) * t);
    memmove(sd->first + i + m, sd->first + i, sizeof(*sd->first) * t);
    memmove(sd->n + i + m, sd->n + i, sizeof(*sd->n) * t);
    sd->nb += m;
}

/* Close index slots [i, i+m) (their blocks were released or moved). */
static void index_close(l2_side_t *sd, uint32_t i, uint32_t m)
{
    uint32_t t = sd->nb - i - m;
    memmove(sd->blk + i, sd->blk + i + m, sizeof(*sd->blk) * t);
    memmove(sd->first + i, sd->first + i + m, sizeof(*sd->first) * t);
    memmove(sd->n + i, sd->n + i + m, sizeof(*sd->n) * t);
    sd->nb -= m;
}

static void index_remove(l2_side_t *sd, uint32_t i)
{
    finger_drop(sd);
    blk_put(sd, sd->blk[i]);
    index_close(sd, i, 1);
}

/*
 * Spread the levels of blocks [i, i+m) evenly over m2 blocks (1 <= m, m2 <= 3, |m - m2| <= 1):
 * a block more when m2 > m (the only case that allocates: -ENOMEM leaves the side unchanged),
 * one less when m2 < m. Drops the finger.
 */
static int side_respread(l2_side_t *sd, uint32_t i, uint32_t m, uint32_t m2)
{
    int64_t tk[3 * BOOK_L2_BLK], ts[3 * BOOK_L2_BLK];
    l2_blk_t *nw = NULL;
    if (m2 > m) {
        if (side_grow_index(sd, sd->nb + 1) < 0 || !(nw = blk_get(sd)))
            return -ENOMEM;
    }
    finger_drop(sd);
    uint32_t tot = 0;
    for (uint32_t x = 0; x < m; x++) {
        const l2_blk_t *b = sd->blk[i + x];
        memcpy(tk + tot, b->k, sizeof(int64_t) * sd->n[i + x]);
        memcpy(ts + tot, b->s, sizeof(int64_t) * sd->n[i + x]);
        tot += sd->n[i + x];
    }
    if (nw) {
        index_open(sd, i + m, 1);
        sd->blk[i + m] = nw;
    } else if (m2 < m) {
        blk_put(sd, sd->blk[i + m2]);
        index_close(sd, i + m2, 1);
    }
    uint32_t at = 0;
    for (uint32_t x = 0; x < m2; x++) {
        uint32_t c = tot / m2 + (x < tot % m2);
        l2_blk_t *b = sd->blk[i + x];
        memcpy(b->k, tk + at, sizeof(int64_t) * c);
        memcpy(b->s, ts + at, sizeof(int64_t) * c);
        blk_pad(b, c);
        sd->n[i + x] = c;
        sd->first[i + x] = b->k[0];
        at += c;
    }
    return 0;
}

/* After a delete left block bi with n[bi] >= 1 levels: merge it with one neighbour when both
 * fit in one block with L2_MERGE_GAP to spare, else three blocks into two likewise. So every
 * pair around a delete holds > BLK - GAP levels and every triple > 2 (BLK - GAP). */
static void side_merge(l2_side_t *sd, uint32_t bi)
{
    const uint32_t *n = sd->n;
    uint32_t nb = sd->nb;
    if (bi > 0 && n[bi - 1] + n[bi] <= BOOK_L2_BLK - L2_MERGE_GAP) {
        side_respread(sd, bi - 1, 2, 1);
        return;
    }
    if (bi + 1 < nb && n[bi] + n[bi + 1] <= BOOK_L2_BLK - L2_MERGE_GAP) {
        side_respread(sd, bi, 2, 1);
        return;
    }
    if (nb < 3)
        return;
    uint32_t w = bi == 0 ? 0 : bi + 1 == nb ? bi - 2 : bi - 1; /* the triple around bi */
    if (n[w] + n[w + 1] + n[w + 2] <= 2 * (BOOK_L2_BLK - L2_MERGE_GAP))
        side_respread(sd, w, 3, 2);
}

static void side_delete(l2_side_t *sd, uint32_t bi, uint32_t j)
{
    l2_blk_t *b = sd->blk[bi];
    uint32_t tail = sd->n[bi] - 1 - j;
    memmove(b->k + j, b->k + j + 1, sizeof(int64_t) * tail);
    memmove(b->s + j, b->s + j + 1, sizeof(int64_t) * tail);
    b->k[sd->n[bi] - 1] = INT64_MAX;
    sd->n[bi]--;
    sd->count--;
    if (!sd->n[bi]) {
        index_remove(sd, bi);
        return;
    }
    if (j == 0)
        sd->first[bi] = b->k[0];
    side_merge(sd, bi);
}

/*
 * Make room in full block bi for a key going to position j. At the ends of the side (below
 * every key, above every key: snapshots and new best prices arrive in key order) a new empty
 * block is opened there, so sorted loads fill blocks completely. Otherwise the block spills
 * into the neighbour with more room (two blocks evened out) when it has L2_SPILL_MIN free,
 * else it and a neighbour become three blocks, each ~2/3 full. Drops the finger.
 */
static int side_make_room(l2_side_t *sd, uint32_t bi, uint32_t j)
{
    uint32_t nb = sd->nb;
    if ((bi == 0 && j == 0) || (bi + 1 == nb && j == BOOK_L2_BLK)) {
        if (side_grow_index(sd, nb + 1) < 0)
            return -ENOMEM;
        l2_blk_t *c = blk_get(sd);
        if (!c)
            return -ENOMEM;
        finger_drop(sd);
        blk_pad(c, 0);
        uint32_t at = j ? nb : 0;
        index_open(sd, at, 1);
        sd->blk[at] = c;
        sd->n[at] = 0;
        return 0;
    }
    uint32_t room_l = bi > 0 ? BOOK_L2_BLK - sd->n[bi - 1] : 0;
    uint32_t room_r = bi + 1 < nb ? BOOK_L2_BLK - sd->n[bi + 1] : 0;
    if (room_l >= L2_SPILL_MIN || room_r >= L2_SPILL_MIN)
        return room_l > room_r ? side_respread(sd, bi - 1, 2, 2) : side_respread(sd, bi, 2, 2);
    if (nb == 1)
        return side_respread(sd, 0, 1, 2);
    return side_respread(sd, bi + 1 < nb ? bi : bi - 1, 2, 3);
}

/* Insert at (*pbi, *pj); they are set to where the key ended up (making room moves it). */
static int side_insert(l2_side_t *sd, uint32_t *pbi, uint32_t *pj, int64_t key, int64_t size)
{
    uint32_t bi = *pbi, j = *pj;
    if (sd->n[bi] == BOOK_L2_BLK) {
        int rc = side_make_room(sd, bi, j);
        if (rc < 0)
            return rc;
        /* the key's block is one of those just made (none of them full); an empty one opened
         * at an end is the first or last block */
        bi = sd->n[0] == 0 ? 0 : sd->n[sd->nb - 1] == 0 ? sd->nb - 1 : side_block(sd, key);
        j = blk_lower(sd->blk[bi], key);
    }
    l2_blk_t *b = sd->blk[bi];
    uint32_t t = sd->n[bi] - j;
    memmove(b->k + j + 1, b->k + j, sizeof(int64_t) * t);
    memmove(b->s + j + 1, b->s + j, sizeof(int64_t) * t);
    b->k[j] = key;
    b->s[j] = size;
    sd->n[bi]++;
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
        blk_pad(b, 1);
        b->k[0] = key;
        b->s[0] = size;
        sd->blk[0] = b;
        sd->first[0] = key;
        sd->n[0] = 1;
        sd->nb = 1;
        sd->count = 1;
        return 0;
    }
    uint32_t bi, top = sd->nb - 1;
    if (key >= sd->first[top])
        bi = top; /* the top block: most changes on most venues */
    else if (sd->fb < top && key < sd->fkey && key >= sd->first[sd->fb])
        bi = sd->fb; /* below the last change, in its block: no search over the blocks */
    else
        bi = side_block(sd, key);
    uint32_t j = blk_lower(sd->blk[bi], key);
    l2_blk_t *b = sd->blk[bi];
    if (j < sd->n[bi] && b->k[j] == key) {
        if (size) {
            b->s[j] = size;
        } else {
            sd->fb = bi;
            side_delete(sd, bi, j); /* drops the finger when blocks merge or go */
            if (sd->fb != FINGER_NONE)
                sd->fkey = key;
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
        for (uint32_t j = sd->n[bi]; j-- > 0 && w < n; w++) {
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
    uint32_t j = sd->n[sd->nb - 1] - 1;
    *key = bk->k[j];
    *size = bk->s[j];
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
        while (sd->count > n && sd->count - sd->n[0] >= n) {
            sd->count -= sd->n[0];
            index_remove(sd, 0);
        }
        if (sd->count > n) { /* drop the lowest levels of the bottom block */
            finger_drop(sd);
            l2_blk_t *bk = sd->blk[0];
            uint32_t d = (uint32_t)(sd->count - n);
            memmove(bk->k, bk->k + d, sizeof(int64_t) * (sd->n[0] - d));
            memmove(bk->s, bk->s + d, sizeof(int64_t) * (sd->n[0] - d));
            blk_pad(bk, sd->n[0] - d);
            sd->n[0] -= d;
            sd->count -= d;
            sd->first[0] = bk->k[0];
            side_merge(sd, 0);
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
    uint32_t bi = side_block(sd, key);
    const l2_blk_t *bk = sd->blk[bi];
    uint32_t j = blk_lower(bk, key);
    return j < sd->n[bi] && bk->k[j] == key ? bk->s[j] : 0;
}
size_t book_l2_mem_bytes(const book_l2_t *b)
{
    size_t m = sizeof(*b);
    for (int i = 0; i < 2; i++) {
        const l2_side_t *sd = &b->side[i];
        m += (size_t)sd->n_alloc * sizeof(l2_blk_t);
        m += (size_t)sd->cap * (sizeof(*sd->blk) + sizeof(*sd->first) + sizeof(*sd->n));
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
        for (uint32_t j = 0; j < sd->n[i]; j++)
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
        for (uint32_t j = 0; j < sd->n[i]; j++) {
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
