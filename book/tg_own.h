/* SPDX-License-Identifier: MIT */
/*
 * Ownership hand-over for destroy functions: `void x_destroy(x_t **pp)` takes the object out of
 * the caller's slot before it frees anything, so the caller's pointer never dangles, a second
 * destroy (or one on a slot never filled) is a no-op, and a `fail:` path of a create can call
 * the destroy on a half-built object. Such a destroy starts:
 *
 *     x_t *x = tg_own_take(pp);
 *     if (!x)
 *         return;
 *
 * A file descriptor is owned the same way: tg_own_close() closes it and marks the slot closed
 * (-1), so a second close is a no-op and no later close hits a reused descriptor.
 *
 * Thread: the owner's (the slot is the caller's).
 */
#ifndef TG_OWN_H
#define TG_OWN_H

#include <stddef.h>
#include <string.h>
#include <unistd.h>

/** Take the object out of its owner's slot.
 *  @param pp the address of the owner's pointer (any object pointer type, as for tg_grow), or
 *  NULL
 *  @return the object (*pp as it was; NULL when pp or *pp is NULL), *pp left NULL: the caller
 *  now owns it.  Thread: the slot's owner. */
static inline void *tg_own_take(void *pp)
{
    void *obj = NULL;
    if (!pp)
        return NULL;
    memcpy(&obj, pp, sizeof(obj));
    void *none = NULL;
    memcpy(pp, &none, sizeof(none));
    return obj;
}

/** Close an owned file descriptor (close(2)'s result ignored, as at teardown) and leave the
 *  slot -1; nothing when it is already -1 (or any negative value).
 *  @param fd the owner's descriptor slot.  Thread: the slot's owner. */
static inline void tg_own_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

#endif
