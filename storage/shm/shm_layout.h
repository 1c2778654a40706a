/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory segment of the [shm] sink: its layout (version 1) and the lock-free
 * protocol both sides follow. The gateway's writer (storage/shm/store_shm.c) is the only
 * writer; readers (libtickgate-client's shm:// source, client/tg_client_shm.c, the tests and
 * the benchmark) map it in other processes. Self-contained on purpose (C11 atomics, Linux
 * futex; no other tickgate header): the client library compiles it without the gateway.
 * docs/shm.md draws the layout and states the memory ordering in prose.
 *
 * DESIGN
 * One POSIX shared-memory object (shm_open + mmap), four regions at fixed offsets:
 *   control page (4 KiB): identity (magic, version, sizes, offsets, epoch), the ring head,
 *                         the writer's heartbeat and state, and the wake-up words (futex);
 *   directory:            one entry per instrument (venue, symbol, slot), immutable;
 *   slots:                one per instrument: the top-N book under a seqlock, and the
 *                         instrument's trade count;
 *   ring:                 a power-of-two ring of 128-byte entries (trades, book-changed and
 *                         status notices), overwritten when full: readers detect an overrun.
 * The writer fills everything but `magic` first and publishes `magic` last (SHM_R1/SHM_A1),
 * so a reader that sees the magic sees a complete directory. Readers never write anything
 * but the `sleepers` flag of the control page, so a slow or dead reader costs the writer
 * nothing (at most one futex wake for a flag a dead reader left set).
 *
 * Every word a reader may read while the writer writes it is an _Atomic uint64_t accessed
 * relaxed and ordered by the seqlock's fences (Boehm, "Can seqlocks get along with
 * programming language memory models?", 2012): no data race in the C11 sense, so TSan
 * checks the test runs. Atomics on lock-free 64-bit types are address-free, which is what
 * makes them valid across processes that map the segment at different addresses.
 *
 * Thread: the writer (writer:shm) for every store; any thread of any process for reads.
 */
#ifndef TG_SHM_LAYOUT_H
#define TG_SHM_LAYOUT_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The seqlock fences (SHM_R2, SHM_A3, SHM_R5, SHM_A5) stay real fences in every build. gcc's
 * ThreadSanitizer does not model fences and refuses them under -Werror (-Wtsan); every word they
 * order is an atomic, so TSan sees no race either way, and the TSan stress test (test_shm) still
 * checks every accepted book for tearing. */
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shared memory needs lock-free 64-bit atomics");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "shared memory needs lock-free 32-bit atomics");

#define TG_SHM_MAGIC      0x474553534d484754ull /* "TGHMSSEG" little-endian */
#define TG_SHM_VERSION    1u
#define TG_SHM_CTL_SIZE   4096u /* the control page: readers map it read-write */
#define TG_SHM_DEPTH_MAX  20u
#define TG_SHM_VENUE_MAX  32u
#define TG_SHM_SYMBOL_MAX 64u
#define TG_SHM_SLOT_HDR_W 8u  /* words before the levels in tg_shm_slot_t.w */
#define TG_SHM_ENTRY_W    15u /* words after the lock: 128-byte entries */
#define TG_SHM_RING_MIN   1024u
#define TG_SHM_RING_MAX   (1u << 22)
#define TG_SHM_MAX_INSTR  65536u

/* tg_shm_hdr_t.state */
#define TG_SHM_ST_LIVE   1u
#define TG_SHM_ST_CLOSED 2u /* the writer stopped: readers reopen the name for a new segment */

/* Book state in slots and status entries: the client's tg_client_state_t numbers. */
#define TG_SHM_BOOK_VALID     1u
#define TG_SHM_BOOK_RESYNCING 2u
#define TG_SHM_BOOK_STALE     3u
#define TG_SHM_BOOK_FAULT     4u

/* Ring entry kinds (tg_shm_entry_t word 0, bits 0..7). */
#define TG_SHM_E_TRADE  1u /* a trade of `instr` */
#define TG_SHM_E_BOOK   2u /* `instr`'s slot reached version w[4] (levels changed) */
#define TG_SHM_E_STATUS 3u /* `instr`'s book state changed (a builder gap record) */

/** The control page. Identity fields are written once before `magic` (SHM_R1) and never
 *  again; head/heartbeat/state by the writer; wake_seq by the writer, sleepers by anyone.
 *  Thread: writer:shm (owner); readers: any process. */
typedef struct tg_shm_hdr {
    /* line 0: identity, immutable once magic is published */
    _Atomic uint64_t magic;
    uint32_t version;        /* TG_SHM_VERSION */
    uint32_t hdr_size;       /* sizeof(tg_shm_hdr_t) */
    uint32_t dir_entry_size; /* sizeof(tg_shm_dir_t) */
    uint32_t slot_size;      /* bytes per slot (multiple of 64) */
    uint32_t entry_size;     /* sizeof(tg_shm_entry_t) */
    uint32_t depth;          /* levels per side held in each slot, 1..TG_SHM_DEPTH_MAX */
    uint32_t n_instr;        /* directory entries = slots */
    uint32_t ring_cap;       /* ring entries, a power of two */
    uint64_t dir_off, slot_off, ring_off, total_size; /* bytes from the segment's start */
    uint64_t epoch;     /* the writer's start (realtime ns): a new segment has a new epoch */
    int32_t writer_pid; /* the gateway's pid */
    uint32_t reserved0;
    /* line 1: the writer's progress */
    _Alignas(64) _Atomic uint64_t head; /* entries written so far (next position) */
    _Atomic int64_t heartbeat_ns;       /* CLOCK_MONOTONIC of the writer's last pass */
    _Atomic uint32_t state;             /* TG_SHM_ST_* */
    /* line 2: wake-up (futex on wake_seq; never a private futex: other processes wait) */
    _Alignas(64) _Atomic uint32_t wake_seq; /* bumped once per batch the writer published */
    _Atomic uint32_t sleepers;              /* 1: some reader may sleep on wake_seq */
} tg_shm_hdr_t;

_Static_assert(sizeof(tg_shm_hdr_t) <= TG_SHM_CTL_SIZE, "control page");

/** A directory entry: written before the magic, then immutable.  Thread: any (read). */
typedef struct tg_shm_dir {
    char venue[TG_SHM_VENUE_MAX];
    char symbol[TG_SHM_SYMBOL_MAX];
    uint32_t instr; /* the gateway's instrument id (ring entries name it) */
    uint32_t slot;  /* index of its slot; today equal to instr */
    uint64_t reserved[3];
} tg_shm_dir_t;

_Static_assert(sizeof(tg_shm_dir_t) == 128, "directory entry");

/* Slot words (tg_shm_slot_t.w), under the seqlock `lock`: */
#define TG_SHM_W_GEN   0 /* generation */
#define TG_SHM_W_XSEQ  1 /* last exchange sequence applied */
#define TG_SHM_W_TEXCH 2 /* exchange time, ns */
#define TG_SHM_W_TRECV 3 /* receive time, realtime ns */
#define TG_SHM_W_TMONO 4 /* receive time, monotonic ns */
#define TG_SHM_W_TPUB  5 /* writer's monotonic ns when it published this version */
#define TG_SHM_W_META                                                                              \
    6                    /* state | reason << 8 | px_scale << 16 | sz_scale << 24 |                \
                            n_bids << 32 | n_asks << 48 */
#define TG_SHM_W_DEPTH 7 /* depth_bids | depth_asks << 32 (levels of the full book) */
/* then bids[depth] as (price, size) word pairs, then asks[depth] */

/** One instrument's slot. `lock` is a seqlock: odd while the writer changes w[], version =
 *  lock / 2 (0: never written). `trades` counts the instrument's trades written to the ring
 *  (stored before the entry's head, SHM_R4); it is outside the seqlock.
 *  Thread: writer:shm (stores); any (loads). */
typedef struct tg_shm_slot {
    _Atomic uint64_t lock;
    _Atomic uint64_t trades;
    _Atomic uint64_t w[]; /* TG_SHM_SLOT_HDR_W + 4 * depth words */
} tg_shm_slot_t;

/* Entry words (tg_shm_entry_t.w), under the entry's lock:
 *   w[0] kind | side << 8 | px_scale << 16 | sz_scale << 24 | instr << 32
 *   trade:  w[1] price, w[2] size, w[3] trade_id, w[4] exch_seq, w[9] n (the instrument's
 *           n-th trade since the segment was created: holes show as jumps)
 *   book:   w[3] generation, w[4] slot version
 *   status: w[1] seq_last, w[2] seq_got, w[3] generation, w[4] slot version,
 *           w[9] state | reason << 8 (book_out.h BOOK_GAP_* reasons)
 *   all:    w[5] ts_exch, w[6] ts_recv, w[7] ts_mono (receive), w[8] ts_pub (writer) */
#define TG_SHM_E_W_N 9

/** A ring entry. lock = 2 * pos + 1 while position pos is being written into it, 2 * pos + 2
 *  once complete: a reader at pos that finds anything else was overrun (lapped).
 *  Thread: writer:shm (stores); any (loads). */
typedef struct tg_shm_entry {
    _Atomic uint64_t lock;
    _Atomic uint64_t w[TG_SHM_ENTRY_W];
} tg_shm_entry_t;

_Static_assert(sizeof(tg_shm_entry_t) == 128, "ring entry");

/** Bytes of one slot for depth levels per side (a multiple of 64). */
static inline uint32_t tg_shm_slot_size(uint32_t depth)
{
    uint32_t b = (uint32_t)sizeof(tg_shm_slot_t) + 8u * (TG_SHM_SLOT_HDR_W + 4u * depth);
    return (b + 63u) & ~63u;
}

static inline tg_shm_dir_t *tg_shm_dir(const tg_shm_hdr_t *h, uint32_t i)
{
    return (tg_shm_dir_t *)((char *)h + h->dir_off + (uint64_t)i * h->dir_entry_size);
}

static inline tg_shm_slot_t *tg_shm_slot(const tg_shm_hdr_t *h, uint32_t i)
{
    return (tg_shm_slot_t *)((char *)h + h->slot_off + (uint64_t)i * h->slot_size);
}

static inline tg_shm_entry_t *tg_shm_entry(const tg_shm_hdr_t *h, uint64_t pos)
{
    return (tg_shm_entry_t *)((char *)h + h->ring_off +
                              (pos & (h->ring_cap - 1)) * (uint64_t)sizeof(tg_shm_entry_t));
}

/**
 * Check a mapped segment of `size` bytes before use: magic (SHM_A1: pairs with SHM_R1 in the
 * writer's create; the identity fields read after it are complete), version, sizes, offsets.
 * @return 0; -EAGAIN (no magic yet: being created); -EPROTO (another layout: refuse it).
 * Thread: any.
 */
static inline int tg_shm_check(const tg_shm_hdr_t *h, uint64_t size)
{
    if (size < TG_SHM_CTL_SIZE)
        return -EAGAIN;
    /* SHM_A1: pairs with SHM_R1 (store_shm.c): the identity below is complete. */
    uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
    if (magic == 0)
        return -EAGAIN;
    if (magic != TG_SHM_MAGIC || h->version != TG_SHM_VERSION ||
        h->hdr_size != sizeof(tg_shm_hdr_t) || h->dir_entry_size != sizeof(tg_shm_dir_t) ||
        h->entry_size != sizeof(tg_shm_entry_t) || h->depth == 0 || h->depth > TG_SHM_DEPTH_MAX ||
        h->slot_size != tg_shm_slot_size(h->depth) || h->ring_cap < 2 ||
        (h->ring_cap & (h->ring_cap - 1)) || h->n_instr > TG_SHM_MAX_INSTR)
        return -EPROTO;
    if (h->dir_off < TG_SHM_CTL_SIZE ||
        h->slot_off < h->dir_off + (uint64_t)h->n_instr * h->dir_entry_size ||
        h->ring_off < h->slot_off + (uint64_t)h->n_instr * h->slot_size ||
        h->total_size < h->ring_off + (uint64_t)h->ring_cap * h->entry_size || h->total_size > size)
        return -EPROTO;
    return 0;
}

/* ---- seqlock reads ---------------------------------------------------------------------- */

/** A slot as copied out by tg_shm_slot_read(): raw words, levels as (price, size) pairs. */
typedef struct tg_shm_book {
    uint64_t version; /* lock / 2 of the copy */
    uint64_t trades;  /* the slot's trade count (read after the copy) */
    uint64_t w[TG_SHM_SLOT_HDR_W];
    uint32_t n_bids, n_asks; /* levels copied (at most `want` and the slot's depth) */
    int64_t bids[TG_SHM_DEPTH_MAX][2], asks[TG_SHM_DEPTH_MAX][2];
} tg_shm_book_t;

/**
 * Copy one consistent version of a slot: the header words and the best `want` levels per
 * side. Retries while the writer is inside (lock odd) or moved on during the copy.
 * @return 1 (copied), 0 (never written: version 0), -EAGAIN (still changing after `tries`
 *         attempts: a writer that died inside, or a reader starved by a very busy slot).
 * Wait-free for the writer; lock-free for the reader (it retries only when the writer made
 * progress). Thread: any.
 */
static inline int tg_shm_slot_read(const tg_shm_hdr_t *h, const tg_shm_slot_t *s, unsigned want,
                                   tg_shm_book_t *out, int tries)
{
    uint32_t depth = h->depth;
    if (want > depth)
        want = depth;
    for (int t = 0; t < tries; t++) {
        /* SHM_A2: pairs with SHM_R3 (the end of a slot write): the words below are at least
         * that version's. */
        uint64_t l1 = atomic_load_explicit(&s->lock, memory_order_acquire);
        if (l1 == 0)
            return 0;
        if (l1 & 1u)
            continue;
        for (unsigned k = 0; k < TG_SHM_SLOT_HDR_W; k++)
            out->w[k] = atomic_load_explicit(&s->w[k], memory_order_relaxed);
        uint64_t meta = out->w[TG_SHM_W_META];
        uint32_t nb = (uint32_t)(meta >> 32) & 0xffffu, na = (uint32_t)(meta >> 48);
        nb = nb < want ? nb : want;
        na = na < want ? na : want;
        const _Atomic uint64_t *b = &s->w[TG_SHM_SLOT_HDR_W], *a = b + 2u * depth;
        for (uint32_t k = 0; k < nb; k++) {
            out->bids[k][0] = (int64_t)atomic_load_explicit(&b[2 * k], memory_order_relaxed);
            out->bids[k][1] = (int64_t)atomic_load_explicit(&b[2 * k + 1], memory_order_relaxed);
        }
        for (uint32_t k = 0; k < na; k++) {
            out->asks[k][0] = (int64_t)atomic_load_explicit(&a[2 * k], memory_order_relaxed);
            out->asks[k][1] = (int64_t)atomic_load_explicit(&a[2 * k + 1], memory_order_relaxed);
        }
        /* SHM_A3: the copy above is ordered before the re-check of the lock; pairs with
         * SHM_R2 (the writer's fence after it made the lock odd). */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->lock, memory_order_relaxed) != l1)
            continue;
        out->version = l1 / 2;
        out->n_bids = nb;
        out->n_asks = na;
        out->trades = atomic_load_explicit(&s->trades, memory_order_relaxed);
        return 1;
    }
    return -EAGAIN;
}

/**
 * Copy ring position pos (pos < head). @return 1 (copied into w), -ESTALE (overrun: the
 * writer has reused or is reusing that entry; the reader lost it). Wait-free. Thread: any.
 */
static inline int tg_shm_entry_read(const tg_shm_hdr_t *h, uint64_t pos, uint64_t w[TG_SHM_ENTRY_W])
{
    const tg_shm_entry_t *e = tg_shm_entry(h, pos);
    /* SHM_A4: pairs with SHM_R6 (the end of an entry write). */
    uint64_t l1 = atomic_load_explicit(&e->lock, memory_order_acquire);
    if (l1 != 2 * pos + 2)
        return -ESTALE;
    for (unsigned k = 0; k < TG_SHM_ENTRY_W; k++)
        w[k] = atomic_load_explicit(&e->w[k], memory_order_relaxed);
    /* SHM_A5: copy before re-check; pairs with SHM_R5 (the fence after the odd lock). */
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&e->lock, memory_order_relaxed) == l1 ? 1 : -ESTALE;
}

/* ---- wake-up ---------------------------------------------------------------------------- */

/**
 * Reader: sleep until the writer publishes a batch after `seen` (a wake_seq value loaded
 * before the reader found nothing to read), or timeout_ns passes (< 0: no timeout).
 * Protocol (docs/shm.md): set `sleepers`, re-check wake_seq, FUTEX_WAIT on it. Both the flag
 * store and the re-check are seq_cst (SHM_S1), against the writer's seq_cst bump and
 * exchange (SHM_S2, tg_shm_wake): either the reader sees the bump and does not sleep, or the
 * writer sees the flag and wakes it; the kernel's own compare closes the last window.
 * @return 0 (woken or changed), -ETIMEDOUT, -EINTR.  Thread: any (reader).
 */
static inline int tg_shm_wait(tg_shm_hdr_t *h, uint32_t seen, int64_t timeout_ns)
{
    /* SHM_S1: pairs with SHM_S2 in tg_shm_wake() (seq_cst on both sides). */
    atomic_store_explicit(&h->sleepers, 1u, memory_order_seq_cst);
    if (atomic_load_explicit(&h->wake_seq, memory_order_seq_cst) != seen)
        return 0;
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    /* shared futex (no FUTEX_PRIVATE_FLAG): the writer is another process */
    long r = syscall(SYS_futex, &h->wake_seq, FUTEX_WAIT, seen, tp, NULL, 0);
    if (r == 0 || errno == EAGAIN)
        return 0;
    return errno == ETIMEDOUT ? -ETIMEDOUT : -EINTR;
}

/**
 * Writer: announce a published batch; wake sleeping readers when the flag says some may
 * sleep. No system call unless a reader sleeps (then one per batch, whatever the number of
 * readers). @return 1 if it called FUTEX_WAKE.  Thread: writer:shm.
 */
static inline int tg_shm_wake(tg_shm_hdr_t *h)
{
    /* SHM_S2: pairs with SHM_S1 in tg_shm_wait(); also a release of everything published
     * before it (readers that load wake_seq with acquire see those entries). */
    atomic_fetch_add_explicit(&h->wake_seq, 1u, memory_order_seq_cst);
    /* seq_cst load (a plain load on x86): part of SHM_S2's total order, so a flag stored
     * by a reader whose re-check missed the bump is seen here */
    if (atomic_load_explicit(&h->sleepers, memory_order_seq_cst) == 0)
        return 0; /* the common case: one load, no write to a line readers share */
    if (atomic_exchange_explicit(&h->sleepers, 0u, memory_order_seq_cst) == 0)
        return 0;
    syscall(SYS_futex, &h->wake_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    return 1;
}

#endif
