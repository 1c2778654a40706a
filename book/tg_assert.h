/* SPDX-License-Identifier: MIT */
/*
 * Debug checks shared by every module (STYLE.md sections 4 and 6):
 *  - TG_CHECK_ARG(cond, ret): argument check at an API boundary. A false cond is a caller's
 *    programming error: debug builds abort with the file, line and condition; release builds
 *    (NDEBUG) return `ret` from the enclosing function (dav1d validate_input_or_ret).
 *  - tg_owner_t and TG_ASSERT_OWNER(x): an object records the thread that owns it
 *    (tg_owner_set(), at init; a worker moves it to its thread while it runs, see
 *    tg_worker.h) and each mutator calls TG_ASSERT_OWNER(x), which in debug builds aborts when
 *    the caller is another thread, and compiles to nothing in release builds.
 * Thread: any (the owner word is atomic, relaxed: it carries no data, only an identity).
 */
#ifndef TG_ASSERT_H
#define TG_ASSERT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/** The thread that owns an object now. Kept in release builds too, so the layout of a struct
 *  does not depend on NDEBUG.  Thread: any (atomic). */
typedef struct tg_owner {
    _Atomic(pthread_t) tid;
} tg_owner_t;

/** Make the calling thread the owner.  Thread: the new owner (or before sharing). */
static inline void tg_owner_set(tg_owner_t *o)
{
    /* Relaxed: an identity only; the hand-over of the object itself is ordered by whatever
     * hands it over (pthread_create, pthread_join). */
    atomic_store_explicit(&o->tid, pthread_self(), memory_order_relaxed);
}

/** @return true when the calling thread owns the object.  Thread: any. */
static inline bool tg_owner_is_me(const tg_owner_t *o)
{
    /* Relaxed: see tg_owner_set(). */
    return pthread_equal(atomic_load_explicit(&o->tid, memory_order_relaxed), pthread_self());
}

/** Report a failed check on stderr and abort.  Thread: any. */
static inline _Noreturn void tg_assert__fail(const char *what, const char *expr, const char *file,
                                             int line)
{
    fprintf(stderr, "%s:%d: %s: %s\n", file, line, what, expr);
    abort();
}

#ifdef NDEBUG
#define TG_CHECK_ARG(cond, ret)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return ret;                                                                            \
    } while (0)
#define TG_ASSERT_THREAD(o) ((void)0)
#else
#define TG_CHECK_ARG(cond, ret)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tg_assert__fail("bad argument", #cond, __FILE__, __LINE__);                            \
    } while (0)
#define TG_ASSERT_THREAD(o)                                                                        \
    do {                                                                                           \
        if (!tg_owner_is_me(o))                                                                    \
            tg_assert__fail("called off the owner thread", #o, __FILE__, __LINE__);                \
    } while (0)
#endif

/** Debug builds: abort unless the caller owns x (any struct with a `tg_owner_t owner`). */
#define TG_ASSERT_OWNER(x) TG_ASSERT_THREAD(&(x)->owner)

#endif
