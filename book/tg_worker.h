/* SPDX-License-Identifier: MIT */
/*
 * One worker thread: the lifecycle every threaded module shares (the builder "book", the
 * PostgreSQL writer "writer:pg", the Redis publisher "writer:redis", the feed loop
 * "feed:<name>", the metrics server "metrics").
 *
 *  - a named thread: the name (STYLE.md section 6, at most 15 bytes) is set before
 *    tg_worker_start() returns and is what `top -H`, gdb and pthread_getname_np() show;
 *  - a stop flag with labelled ordering (WK_R1 in tg_worker_stop() pairs with WK_A1 in
 *    tg_worker_stopping()): the body polls it and returns; everything the control thread
 *    wrote before stop is visible to the body after it sees the flag;
 *  - the waiter: stop wakes the body's tg_waiter_t (rings) and/or calls a wake hook (e.g.
 *    lws_cancel_service) so a sleeping body sees the flag at once;
 *  - uniform return codes, the same in every module that wraps a worker:
 *        start: 0; -EALREADY when already running; -errno of pthread_create.
 *        stop:  0, also when not running (never started, or already stopped): stop is
 *               idempotent, so every error path may call it.
 *    A stopped worker may be started again (the flag is cleared by start);
 *  - owner-thread assertions (tg_assert.h): `ctl` is the control thread (the caller of
 *    tg_worker_init); start asserts it in debug builds; stop asserts that it is not the
 *    worker thread itself (a module may let any other thread stop it, as the feed loop
 *    does; the caller then owns the state after the join). `owner` is the thread that
 *    owns the module's state now: the control thread until start, the worker thread from
 *    its first instruction until its body returns, the control thread again after stop's
 *    join. Modules call TG_ASSERT_OWNER(&x->wk) in their mutators.
 *
 * Thread: ctl (init, start, running); any thread but the worker's own (stop, one at a time);
 * the worker thread (its body);
 * tg_worker_stopping() may be called from any thread.
 */
#ifndef TG_WORKER_H
#define TG_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "book/tg_assert.h"
#include "book/tg_ring.h"

#define TG_WORKER_NAME_MAX 15 /* Linux thread names: 16 bytes with the NUL */

typedef struct tg_worker tg_worker_t;

/** Worker configuration. Borrowed by tg_worker_init (the name is copied). */
typedef struct tg_worker_cfg {
    const char *name;        /* thread name: "book", "writer:pg", "feed:0", "metrics", ... */
    void (*main)(void *arg); /* the body: runs until tg_worker_stopping(), then returns */
    void *arg;               /* passed to main and wake */
    tg_waiter_t *waiter;     /* optional: woken by tg_worker_stop() */
    void (*wake)(void *arg); /* optional: called by tg_worker_stop() after the flag is set */
} tg_worker_cfg_t;

/** A worker, embedded in its module's object (caller-allocated: init, no deinit needed).
 *  Thread: ctl (owner of the fields below; see tg_worker_stop), except `stop` (atomic) and
 *  `owner`. */
struct tg_worker {
    /* read-only after init */
    char name[TG_WORKER_NAME_MAX + 1];
    void (*main)(void *arg);
    void *arg;
    tg_waiter_t *waiter;
    void (*wake)(void *arg);
    tg_owner_t ctl; /* control thread: init/start/stop */
    /* moves: see the header comment */
    tg_owner_t owner; /* the thread that owns the module's state now */
    /* private, ctl only */
    pthread_t thread;
    bool running;
    /* shared: written by stop (WK_R1), read by the body (WK_A1) */
    _Atomic bool stop;
};

/**
 * Prepare a worker (no thread yet). The caller becomes both the control thread and the owner.
 * @param cfg main is required; name 1..15 bytes.
 * @return 0, or -EINVAL (no main, empty or too long name).
 * Thread: the control thread (usually main).
 */
int tg_worker_init(tg_worker_t *w, const tg_worker_cfg_t *cfg);

/**
 * Clear the stop flag, create the thread, name it, and run cfg.main(cfg.arg) on it.
 * @return 0; -EALREADY if it is running; -errno from pthread_create (nothing started).
 * Thread: ctl (asserted in debug builds).
 */
int tg_worker_start(tg_worker_t *w);

/**
 * Ask the body to return (WK_R1), wake it (waiter, then the wake hook), and join it. The
 * caller owns the module's state again when this returns.
 * @return 0, also when the worker is not running (stop is idempotent).
 * Thread: usually ctl; any thread but the worker's own (asserted in debug builds), not
 * concurrently with another start or stop.
 */
int tg_worker_stop(tg_worker_t *w);

/** @return true while the thread runs (between a successful start and stop).  Thread: ctl. */
static inline bool tg_worker_running(const tg_worker_t *w)
{
    return w->running;
}

/** @return true once stop was requested. WK_A1: pairs with WK_R1 in tg_worker_stop(); what
 *  the control thread wrote before stop is visible after this returns true.  Thread: any
 *  (the body polls it). */
static inline bool tg_worker_stopping(const tg_worker_t *w)
{
    /* WK_A1: pairs with WK_R1 in tg_worker_stop(). */
    return atomic_load_explicit(&w->stop, memory_order_acquire);
}

#endif
