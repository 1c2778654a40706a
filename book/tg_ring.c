/* SPDX-License-Identifier: MIT */
/*
 * SPSC ring set-up (create, destroy, attach a waiter) and the consumer's waiter: a futex the
 * consumer sleeps on when all its rings are empty, which producers wake after a push.
 * The hot path (push/pop/peek) is inline in tg_ring_impl.h.
 *
 * DESIGN: waiter and the lost-wakeup race
 * Threads: one consumer per waiter (prepare/cancel/wait); any number of wakers (the
 * producers of the rings the waiter is attached to, plus tg_waiter_wake() callers).
 *
 *   consumer                                   producer
 *   prepare:  seen = seq                       push: write slot; tail = t+1  (R1)
 *             sleeping = 1            (W1)           compiler barrier
 *             FULL BARRIER            (F1)           if (sleeping) wake_slow:   (relaxed)
 *   recheck rings (tail, A1)                           if (xchg(sleeping, 0))  (W2)
 *   wait:     futex_wait(seq, seen)                        seq++; futex_wake(seq)
 *
 * This is Dekker's pattern: each side stores one variable and then loads the other's. It is
 * correct if at least one side sees the other's store: either the consumer's recheck sees
 * the new tail (it cancels), or the producer sees sleeping == 1 (it wakes). A store followed
 * by a load of another location needs a store->load barrier on BOTH sides; to keep the busy
 * producer free of that fence (an mfence per push), the consumer issues an asymmetric one:
 * F1 is membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full memory barrier on
 * every CPU currently running a thread of this process (and a descheduled thread passes
 * one at its context switch) before it returns. Wherever that barrier falls in the
 * producer's program order "store tail; load sleeping", either the tail store is globally
 * visible before the consumer's recheck, or the producer's load of sleeping comes after the
 * barrier and therefore after W1, so it reads 1. The producer only needs the compiler not
 * to hoist its load above its store: atomic_signal_fence() (no instruction). F1 also
 * contains a seq_cst thread fence for the consumer's own store->load order. This is the same
 * construction as liburcu's and folly's asymmetric barriers; membarrier() costs ~1 us here,
 * paid only when the consumer is about to sleep.
 *
 * A wake must not be lost between the recheck and the futex_wait either: the consumer reads
 * `seq` before publishing sleeping = 1 with release (W1); a waker that reads 1 through its
 * acquire exchange (W2) therefore increments seq after that read, so futex_wait(seq, seen)
 * fails with EAGAIN if the wake came first, and otherwise the kernel queues the consumer
 * before the FUTEX_WAKE. The exchange also makes a single waker pay for the syscall.
 *
 * Backstop: if membarrier() is unavailable (old kernel, seccomp), F1 is only a seq_cst fence
 * on the consumer, so a producer's store->load reordering can lose a wake. Then every wait
 * is capped at TG_WAITER_BACKSTOP_NS (1 ms): a lost wake costs at most 1 ms of latency, and
 * an idle consumer wakes 1000 times per second. With membarrier() (Linux >= 4.14, checked
 * once per process) there is no cap and an idle consumer does not wake at all.
 */
#include "tg_ring.h"
#include "tg_clock.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TG_WAITER_BACKSTOP_NS 1000000LL

static pthread_once_t ring_mb_once = PTHREAD_ONCE_INIT;
static atomic_bool ring_mb_ok; /* membarrier PRIVATE_EXPEDITED registered for this process */

static void ring_mb_setup(void)
{
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    bool ok = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
              syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    /* Relaxed: published to other threads by pthread_once(). */
    atomic_store_explicit(&ring_mb_ok, ok, memory_order_relaxed);
}

static bool ring_mb_available(void)
{
    pthread_once(&ring_mb_once, ring_mb_setup);
    return atomic_load_explicit(&ring_mb_ok, memory_order_relaxed);
}

int tg_ring_create(tg_ring_t **out, uint32_t capacity, uint32_t elem_size)
{
    if (!out || capacity < 2 || capacity > (1u << 31) || (capacity & (capacity - 1)) != 0 ||
        elem_size == 0 || elem_size % 8 != 0)
        return -EINVAL;
    size_t slots = (size_t)capacity * elem_size;
    if (slots / elem_size != capacity || slots > SIZE_MAX - sizeof(tg_ring_t) - 64)
        return -EINVAL;
    size_t total = (sizeof(tg_ring_t) + slots + 63) & ~(size_t)63;
    tg_ring_t *r = aligned_alloc(64, total);
    if (!r)
        return -ENOMEM;
    memset(r, 0, total);
    unsigned char *base = (unsigned char *)r + sizeof(tg_ring_t);
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    r->head_cache = 0;
    r->tail_cache = 0;
    r->p_mask = r->c_mask = capacity - 1;
    r->p_esz = r->c_esz = elem_size;
    r->p_slots = r->c_slots = base;
    r->waiter = NULL;
    r->capacity = capacity;
    r->elem_size = elem_size;
    r->slots = base;
    *out = r;
    return 0;
}

void tg_ring_destroy(tg_ring_t **r)
{
    if (!r || !*r)
        return;
    free(*r);
    *r = NULL;
}

void tg_ring_set_waiter(tg_ring_t *r, tg_waiter_t *w)
{
    if (r)
        r->waiter = w;
}

bool tg_ring_spin(const tg_ring_t *r, int64_t spin_ns)
{
    if (spin_ns <= 0)
        return false;
    int64_t t0 = tg_clock_mono_ns();
    do {
        if (tg_ring_count(r))
            return true;
#if defined(__x86_64__) || defined(__i386__)
        for (int i = 0; i < 16; i++)
            __builtin_ia32_pause();
#endif
    } while (tg_clock_mono_ns() - t0 < spin_ns);
    return false;
}

static long ring_futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

void tg_waiter_init(tg_waiter_t *w)
{
    memset(w, 0, sizeof(*w));
    atomic_init(&w->sleeping, 0);
    atomic_init(&w->seq, 0);
    (void)ring_mb_available(); /* register membarrier once, before the threads run */
}

void tg_waiter_prepare(tg_waiter_t *w)
{
    /* Relaxed: ordered before W1 by W1's release. */
    w->seq_seen = atomic_load_explicit(&w->seq, memory_order_relaxed);
    /* W1: announces the sleep; release orders the seq read above before it. Pairs with the
     * acquire exchange W2 in tg_waiter__wake_slow(). */
    atomic_store_explicit(&w->sleeping, 1, memory_order_release);
    /* F1: store->load barrier for this thread, then the asymmetric barrier for producers
     * (see DESIGN above). */
    atomic_thread_fence(memory_order_seq_cst);
    if (ring_mb_available())
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void tg_waiter_cancel(tg_waiter_t *w)
{
    /* Relaxed: a waker that still sees 1 only pays a spurious futex wake. */
    atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

void tg_waiter_wait(tg_waiter_t *w, int64_t timeout_ns)
{
    if (!ring_mb_available() && (timeout_ns < 0 || timeout_ns > TG_WAITER_BACKSTOP_NS))
        timeout_ns = TG_WAITER_BACKSTOP_NS;
    /* Relaxed: if a waker already cleared the flag, seq has moved and futex_wait would return
     * at once anyway; this only saves the syscall. */
    if (atomic_load_explicit(&w->sleeping, memory_order_relaxed)) {
        struct timespec ts, *tsp = NULL;
        if (timeout_ns >= 0) {
            ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
            ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
            tsp = &ts;
        }
        /* EAGAIN (seq moved: woken before we slept), EINTR, ETIMEDOUT: all mean "go look". */
        ring_futex(&w->seq, FUTEX_WAIT_PRIVATE, w->seq_seen, tsp);
    }
    atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

void tg_waiter__wake_slow(struct tg_waiter *w)
{
    /* W2: acquire pairs with W1: the consumer's read of seq (seq_seen) happened before this,
     * so the increment below is later in seq's modification order. */
    if (atomic_exchange_explicit(&w->sleeping, 0, memory_order_acquire)) {
        /* Relaxed: the futex syscall compares the value in the kernel; no data rides on seq. */
        atomic_fetch_add_explicit(&w->seq, 1, memory_order_relaxed);
        ring_futex(&w->seq, FUTEX_WAKE_PRIVATE, 1, NULL);
    }
}

void tg_waiter_wake(tg_waiter_t *w)
{
    /* Same as the producer's notify: compiler barrier only, see DESIGN. */
    atomic_signal_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->sleeping, memory_order_relaxed))
        tg_waiter__wake_slow(w);
}
