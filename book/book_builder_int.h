/* SPDX-License-Identifier: MIT */
/*
 * The builder's private state, shared by its two files: book_builder.c (create, event path,
 * output, timers) and book_builder_thread.c (the "book" thread's drain loop). Not a public
 * header: only those two include it.
 * Thread: book (the owner of the builder; see book_builder.c, DESIGN).
 */
#ifndef BOOK_BUILDER_INT_H
#define BOOK_BUILDER_INT_H

#include <stdalign.h>

#include "book_builder.h"
#include "book_tgap.h"
#include "tg_worker.h"

#define BB_OPEN_MAX     256
#define BB_MAX_SLEEP_NS (100 * TG_NS_PER_MS)
#define BB_SPIN_NS      (10 * TG_NS_PER_US) /* busy-poll this long before sleeping */

typedef struct bb_instr {
    book_l2_t *book;
    const tg_instr_t *in;
    book_candle_dedup_t dedup; /* recent trade keys: candles count each trade once */
    uint8_t dedup_warned;      /* a trade too old to check was logged for this instrument */
    book_tgap_t tgap;          /* trades lost while a connection was closed (book_tgap.h) */
    /* current message */
    uint8_t open, touched, snap, ck_pending, bad;
    uint8_t pub_dirty; /* book changed since the last CHANGE/STATE publish */
    uint8_t pub_state; /* state of the last BOOK record */
    uint8_t n_pub_bids, n_pub_asks;
    tg_event_t ck; /* TG_EV_CHECKSUM of the current message */
    uint64_t msg_seq;
    int64_t msg_exch, msg_recv, msg_mono;
    int64_t store_msg_mono; /* msg_mono of the last INTERVAL/STATE book record */
    /* last message with an exchange time, or trade (its candle time): maps the wall clock to
     * the instrument's candle clock; 0 before any */
    int64_t clk_exch, clk_recv;
    int64_t last_pub_mono, last_interval_mono;
    int64_t forming_pub_mono[BOOK_CANDLE_IV_MAX];
    /* deliberate delays: receive time of the first change held back (0: none held) */
    int64_t defer_since, forming_since[BOOK_CANDLE_IV_MAX];
    uint64_t pub_gen;
    tg_level_t pub_bids[BOOK_OUT_DEPTH_MAX], pub_asks[BOOK_OUT_DEPTH_MAX];
    /* Scales of the book, its candles and every record of this instrument: the largest the
     * feed has sent (events carry theirs); never lowered. ck_in is *in with these scales, for
     * the venue checksum functions. */
    int8_t px, sz;
    tg_instr_t ck_in;
    /* last: allocated for the configured intervals only (bb_instr_size()) */
    book_candles_t candles;
} bb_instr_t;

/** Bytes of a bb_instr_t whose candles hold n intervals. */
static inline size_t bb_instr_size(uint32_t n)
{
    return offsetof(bb_instr_t, candles) + book_candles_size(n);
}

typedef struct bb_src {
    uint32_t open[BB_OPEN_MAX];
    uint32_t n_open;
} bb_src_t;

struct book_builder {
    book_builder_cfg_t cfg;
    book_builder_stats_t st;
    bb_instr_t *ins[TG_INSTR_MAX];
    uint32_t active[TG_INSTR_MAX];
    uint32_t n_active;
    bb_src_t src[BOOK_BUILDER_IN_MAX + 1]; /* last one: the synchronous API */
    int64_t now_mono;                      /* timers' clock */
    int64_t next_due;                      /* earliest timer; INT64_MAX if none */
    bb_instr_t *cur;  /* instrument whose candles are being advanced (emit context) */
    bool in_timer;    /* emit context: records made by run_timers() get BOOK_OUT_F_TIMER */
    bool live;        /* the builder thread runs: ts_mono is this process' clock (stage hists) */
    int64_t pop_mono; /* thread mode: when the current batch was taken from its ring */
    int64_t lat_mono[4096];
    uint32_t n_lat;
    tg_worker_t wk; /* the "book" thread; wk.owner: the thread that owns b now */
    alignas(64) tg_waiter_t waiter;
    void *mem; /* what calloc returned (b is that, rounded up to 64 bytes) */
};

/* ---- cross-file functions (book_builder.c) ---- */

/** Apply n events of source si (BOOK_BUILDER_IN_MAX: the synchronous API). */
void book_builder__apply_events(book_builder_t *b, uint32_t si, const tg_event_t *ev, size_t n);

/** Run every timer due at now (force: every pending one); now_real != 0 closes candles by
 *  the wall clock. */
void book_builder__run_timers(book_builder_t *b, int64_t now, int64_t now_real, bool force);

/** At stop: report the trade outages whose trades never all came (book_tgap_finish). */
void book_builder__finish_gaps(book_builder_t *b);

/* ---- book_builder_thread.c ---- */

/** The "book" thread's body (tg_worker main); arg is the builder. */
void book_builder__main(void *arg);

#endif
