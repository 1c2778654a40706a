/* SPDX-License-Identifier: MIT */
/*
 * L2 order book over fixed-point prices (one per instrument), owned by the builder thread.
 *
 * Structure (docs/book.md, book_l2.c): per side a sorted sequence of 2 KB blocks of keys and
 * sizes with the BEST level at the END. Asks are stored as key = -price so both sides sort
 * ascending and share one code path. A change is looked for in the last block first, then
 * in the block of the last change, else by a search over the blocks' first keys; inside the
 * block by a branchless count over its slots. An insert/delete moves at most one block's
 * tail. Blocks are kept ~3/4 full (spill, 2 -> 3 split, 2 -> 1 and 3 -> 2 merges) and released
 * blocks go back to malloc except one per side, so memory follows the levels held (~21-25 B
 * per level on deep books, book_l2_mem_bytes()).
 *
 * Range: any int64 price except INT64_MIN (rejected with -EINVAL); size > 0 sets, size 0
 * deletes, size < 0 is -EINVAL.
 *
 * Thread: book (owner). Nothing here is shared.
 */
#ifndef BOOK_L2_H
#define BOOK_L2_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_event.h"

/** One price level. */
typedef struct tg_level {
    int64_t price;
    int64_t size;
} tg_level_t;

typedef struct book_l2 book_l2_t;

/** Book state, visible to every consumer of book output. */
typedef enum book_state {
    BOOK_STATE_RESYNCING = 0, /* no valid snapshot yet, or a gap/checksum/crossed fault */
    BOOK_STATE_VALID = 1,
    BOOK_STATE_STALE = 2, /* feed disconnected or silent */
    BOOK_STATE_FAULT = 3, /* a value could not be held exactly: the book is not trustworthy
                             until the next snapshot that fits (feeds/feed.h feed_dec) */
} book_state_t;

/** book_l2_set() result for deleting a level that is not in the book (not an error). */
#define BOOK_L2_MISSING 1

/**
 * Copy up to n levels of one side, best first (bids descending, asks ascending).
 * @return number of levels written.  Thread: book.
 */
size_t book_l2_top(const book_l2_t *b, tg_side_t side, tg_level_t *out, size_t n);

/** Number of levels on one side.  Thread: book. */
size_t book_l2_depth(const book_l2_t *b, tg_side_t side);

/**
 * Create an empty book (state RESYNCING, generation 0, last seq 0).
 * @param out       Written only on success; free with book_l2_destroy().
 * @param cap_hint  Expected levels per side (0: 256). Pre-sizes the block index (20 bytes a
 *                  block); blocks are allocated as the book fills.
 * @return 0 or -ENOMEM.  Thread: book.
 */
int book_l2_create(book_l2_t **out, uint32_t cap_hint);

/** Free a book; sets *b to NULL; NULL is a no-op.  Thread: book. */
void book_l2_destroy(book_l2_t **b);

/** Remove every level of both sides (state, generation and seq unchanged).  Thread: book. */
void book_l2_clear(book_l2_t *b);

/**
 * Set one level: size > 0 inserts or replaces, size 0 deletes.
 * @return 0; BOOK_L2_MISSING (delete of an absent level, nothing changed); -EINVAL (bad side,
 *         size < 0 or price INT64_MIN); -ENOMEM (a new block or a larger index could not be
 *         allocated; the book is unchanged).  Thread: book. Allocates only when the side needs
 *         one more block than it has (one spare block per side is kept).
 */
int book_l2_set(book_l2_t *b, tg_side_t side, int64_t price, int64_t size);

/**
 * book_l2_set()'s argument check and side mapping, for it and for the benchmark's reference
 * books: both sides are kept best-first by descending key (bids: price, asks: -price).
 * @return the side's index (0 bids, 1 asks) with *key set, or -EINVAL (bad side, size < 0 or
 *         price INT64_MIN; *key untouched).  Thread: any.
 */
static inline int book_l2_side_key(tg_side_t side, int64_t price, int64_t size, int64_t *key)
{
    if (size < 0 || price == INT64_MIN)
        return -EINVAL;
    if (side == TG_SIDE_BID) {
        *key = price;
        return 0;
    }
    if (side == TG_SIDE_ASK) {
        *key = -price;
        return 1;
    }
    return -EINVAL;
}

/**
 * Heap bytes this book holds: its blocks (in use and on the free list), its block index and the
 * book itself, as requested from malloc (the book's own count, not the allocator's). For
 * memory measurements (tickgate-bench-book --mem).  Thread: book.
 */
size_t book_l2_mem_bytes(const book_l2_t *b);

/** Best bid / best ask. @return false if that side is empty (out untouched).  Thread: book. */
bool book_l2_best_bid(const book_l2_t *b, tg_level_t *out);
bool book_l2_best_ask(const book_l2_t *b, tg_level_t *out);

/** True if both sides are non-empty and best bid >= best ask.  Thread: book. */
bool book_l2_crossed(const book_l2_t *b);

/** Keep at most n levels per side (the best ones); n == 0 means no limit. O(blocks dropped +
 *  one block).  Thread: book. */
void book_l2_truncate(book_l2_t *b, size_t n);

/** Size at an exact price, 0 if absent.  Thread: book. */
int64_t book_l2_size_at(const book_l2_t *b, tg_side_t side, int64_t price);

/** Multiply every price by 10^px_up and every size by 10^sz_up (0..18): the book moves to
 *  larger scales exactly. @return 0; -ERANGE (some level would not fit int64: nothing
 *  changed); -EINVAL.  Thread: book. O(levels), no allocation. */
int book_l2_rescale(book_l2_t *b, int px_up, int sz_up);

/* State bookkeeping (the builder decides; the book stores it with the levels). */
book_state_t book_l2_state(const book_l2_t *b);
void book_l2_set_state(book_l2_t *b, book_state_t st);
/** Generation: increases by one each time the book becomes VALID from a snapshot, i.e. once
 *  per (re)sync. Consumers compare it to notice that a book was rebuilt. */
uint64_t book_l2_generation(const book_l2_t *b);
void book_l2_bump_generation(book_l2_t *b);
/** Last exchange sequence applied (venue meaning; 0 if none). */
uint64_t book_l2_last_seq(const book_l2_t *b);
void book_l2_set_last_seq(book_l2_t *b, uint64_t seq);

#endif
