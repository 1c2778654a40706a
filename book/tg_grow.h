/* SPDX-License-Identifier: MIT */
/*
 * Growing a heap array: one doubling rule for every growable buffer (records, journal reads,
 * COPY buffers, book indexes, kept messages). Cold path: called only when the array is full.
 * Thread: the caller's (the array is the caller's).
 */
#ifndef TG_GROW_H
#define TG_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/** The capacity that holds want elements: cap (first when cap is 0) doubled until it does.
 *  Thread: any. */
static inline size_t tg_grow_cap(size_t cap, size_t want, size_t first)
{
    size_t c = cap ? cap : first;
    while (c < want)
        c *= 2;
    return c;
}

/** Make the array at *pbuf (elements of elem bytes, *cap of them) hold at least want.
 *  @param pbuf the address of the array's pointer (any object pointer type; NULL when empty)
 *  @param first the capacity of a first allocation
 *  @return 0 (already large enough, or grown: *pbuf and *cap updated), or -ENOMEM (both
 *  unchanged, the old array still valid).  Thread: the array's owner. */
static inline int tg_grow(void *pbuf, size_t *cap, size_t want, size_t elem, size_t first)
{
    if (want <= *cap)
        return 0;
    size_t c = tg_grow_cap(*cap, want, first);
    void *old;
    memcpy(&old, pbuf, sizeof(old));
    void *nb = realloc(old, c * elem);
    if (!nb)
        return -ENOMEM;
    memcpy(pbuf, &nb, sizeof(nb));
    *cap = c;
    return 0;
}

#endif
