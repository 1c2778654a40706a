/* SPDX-License-Identifier: MIT */
/*
 * One worker thread (tg_worker.h): named thread, labelled stop flag, wake-up, join.
 *
 * DESIGN
 * The control thread (ctl) owns the worker object; the thread it starts runs the module's
 * body through the trampoline below, which names the thread, takes ownership of the module's
 * state (`owner`), and runs the body until it returns. Stop is one release store of the flag
 * (WK_R1), then the wake-ups (the waiter: a sleeping consumer returns from its futex; the
 * hook: e.g. lws_cancel_service for a thread blocked in lws_service), then pthread_join,
 * after which the control thread owns the state again. Ordering: the body's writes before it
 * returns are visible to ctl after the join; ctl's writes before stop are visible to the
 * body once tg_worker_stopping() returned true (WK_A1).
 * Thread: ctl, except trampoline() (the worker thread).
 */
#include "book/tg_worker.h"

#include <errno.h>
#include <string.h>

int tg_worker_init(tg_worker_t *w, const tg_worker_cfg_t *cfg)
{
    TG_CHECK_ARG(w && cfg, -EINVAL);
    size_t n = cfg->name ? strlen(cfg->name) : 0;
    if (!cfg->main || n == 0 || n > TG_WORKER_NAME_MAX)
        return -EINVAL;
    memset(w, 0, sizeof(*w));
    memcpy(w->name, cfg->name, n + 1);
    w->main = cfg->main;
    w->arg = cfg->arg;
    w->waiter = cfg->waiter;
    w->wake = cfg->wake;
    tg_owner_set(&w->ctl);
    tg_owner_set(&w->owner);
    atomic_init(&w->stop, false);
    return 0;
}

/* The worker whose body runs on this thread (NULL elsewhere): stop() on it would join itself. */
static _Thread_local const tg_worker_t *tl_self;

static void *trampoline(void *arg)
{
    tg_worker_t *w = arg;
    tl_self = w;
    /* Named from inside too, so the name is right from the body's first instruction (the
     * control thread's pthread_setname_np may run after the body started). */
    pthread_setname_np(pthread_self(), w->name);
    tg_owner_set(&w->owner);
    w->main(w->arg);
    return NULL;
}

int tg_worker_start(tg_worker_t *w)
{
    TG_CHECK_ARG(w && w->main, -EINVAL);
    TG_ASSERT_THREAD(&w->ctl);
    if (w->running)
        return -EALREADY;
    /* Relaxed: no thread reads the flag yet; pthread_create orders it before the body. */
    atomic_store_explicit(&w->stop, false, memory_order_relaxed);
    int rc = pthread_create(&w->thread, NULL, trampoline, w);
    if (rc)
        return -rc;
    /* Visible to observers as soon as start returns (the trampoline sets it too). */
    pthread_setname_np(w->thread, w->name);
    w->running = true;
    return 0;
}

int tg_worker_stop(tg_worker_t *w)
{
    TG_CHECK_ARG(w, -EINVAL);
#ifndef NDEBUG
    /* The body cannot join itself (checked before `running`, which the body may see unset
     * when it runs before start() returned). */
    if (tl_self == w)
        tg_assert__fail("called on the worker's own thread", "tg_worker_stop", __FILE__, __LINE__);
#endif
    if (!w->running)
        return 0;
    /* WK_R1: publishes the stop request and everything written before it; pairs with WK_A1
     * in tg_worker_stopping(). */
    atomic_store_explicit(&w->stop, true, memory_order_release);
    if (w->waiter)
        tg_waiter_wake(w->waiter);
    if (w->wake)
        w->wake(w->arg);
    pthread_join(w->thread, NULL);
    w->running = false;
    tg_owner_set(&w->owner);
    return 0;
}
