/* SPDX-License-Identifier: MIT */
/*
 * L2 order book over fixed-point prices (one per instrument), owned by the builder thread.
 * TO BE COMPLETED (issue 4): structure, state, generation, depth counts. The read API below is
 * fixed now because venue checksum functions (feeds/) are written against it.
 * Thread: book (owner). Nothing here is shared.
 */
#ifndef BOOK_L2_H
#define BOOK_L2_H

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
} book_state_t;

/**
 * Copy up to n levels of one side, best first (bids descending, asks ascending).
 * @return number of levels written.  Thread: book.
 */
size_t book_l2_top(const book_l2_t *b, tg_side_t side, tg_level_t *out, size_t n);

/** Number of levels on one side.  Thread: book. */
size_t book_l2_depth(const book_l2_t *b, tg_side_t side);

#endif
