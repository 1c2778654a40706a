/* SPDX-License-Identifier: MIT */
/*
 * The normalized event: one 64-byte, cache-line aligned record. Feeds produce them, one or
 * more per exchange message; the builder consumes them. Events cross threads by value through
 * tg_ring (see tg_ring.h).
 *
 * One exchange message becomes a run of events; the last one carries TG_EVF_LAST so the builder
 * publishes once per message, not once per level. A book snapshot is a TG_EV_BOOK_CLEAR event
 * followed by TG_EV_LEVEL events of the same message (all flagged TG_EVF_SNAPSHOT). A level
 * with size 0 deletes the level. A message whose venue carries a checksum ends with a
 * TG_EV_CHECKSUM event (value in .u.checksum) that the builder verifies after applying the
 * whole message, through the instrument's checksum function (tg_instr.h).
 *
 * Prices and sizes are int64 fixed-point; every event carries its own scales (px_scale,
 * sz_scale: fractional digits). A feed raises an instrument's scale when a value needs more
 * places (never lowers it); the builder keeps each book at the largest scale seen and rescales
 * exactly (docs/design.md, "Exact prices at every scale").
 */
#ifndef TG_EVENT_H
#define TG_EVENT_H

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>

typedef enum tg_ev_kind {
    TG_EV_NONE = 0,
    TG_EV_TRADE = 1,      /* price, size, side = aggressor, u.trade_id, seq */
    TG_EV_LEVEL = 2,      /* book level set: side, price, size (0 deletes), seq */
    TG_EV_BOOK_CLEAR = 3, /* snapshot begins: clear both sides; seq = snapshot's id */
    TG_EV_CHECKSUM = 4,   /* verify book after this message against u.checksum */
    TG_EV_GAP = 5,        /* feed saw a sequence gap / lost sync: book -> RESYNCING.
                             seq = last good id, u.aux = id received (0 if unknown) */
    TG_EV_STALE = 6,      /* feed disconnected or silent: book -> STALE until a snapshot */
    TG_EV_END = 7,        /* empty end-of-message marker (when nothing else carries LAST) */
    TG_EV_TRADE_GAP = 8,  /* trades the feed knows it lost (a trade-history range given up):
                             seq = last trade id before, u.aux = first id after (exclusive);
                             no effect on the book */
} tg_ev_kind_t;

typedef enum tg_side {
    TG_SIDE_NONE = 0,
    TG_SIDE_BID = 1, /* book: bid; trade: aggressor bought */
    TG_SIDE_ASK = 2, /* book: ask; trade: aggressor sold */
} tg_side_t;
#define TG_SIDE_BUY  TG_SIDE_BID
#define TG_SIDE_SELL TG_SIDE_ASK

/* flags */
#define TG_EVF_LAST     0x0001u /* last event of one exchange message */
#define TG_EVF_SNAPSHOT 0x0002u /* level belongs to a snapshot (after BOOK_CLEAR) */
#define TG_EVF_REST                                                                                \
    0x0004u                   /* snapshot came from a REST request; on a STALE with CLOSED:        \
                                 the handler fetches the outage's trades over REST */
#define TG_EVF_RESYNC 0x0008u /* GAP caused by reconnect (not by a sequence jump) */
#define TG_EVF_CKFAIL 0x0010u /* GAP caused by a checksum mismatch the feed detected */
#define TG_EVF_FAULT  0x0020u /* GAP: a value cannot be represented exactly: book -> FAULT */
#define TG_EVF_SCALED                                                                              \
    0x0040u /* px_scale/sz_scale are set (feeds stamp every event they emit);                      \
               without it the instrument's registry scales apply */
#define TG_EVF_CLOSED                                                                              \
    0x0080u /* STALE: the connection closed (trades published until the next                       \
               one are lost unless the venue's handler fetches them: a                             \
               trade gap, book_builder.c "Trade gaps") */

/** Normalized market event. Copied by value between threads; no pointers inside.
 *  Thread: written by feed:<venue>, read by book (after the ring hands it over). */
typedef struct tg_event {
    int64_t ts_exch; /* exchange event time, ns since epoch (0 if the venue gives none) */
    int64_t ts_recv; /* local receive time, ns since epoch (CLOCK_REALTIME) */
    int64_t ts_mono; /* local receive time, CLOCK_MONOTONIC ns, for latency histograms */
    int64_t price;   /* fixed-point at instrument px_scale */
    int64_t size;    /* fixed-point at instrument sz_scale */
    uint64_t seq;    /* exchange sequence / update id (venue meaning; 0 if none) */
    union {
        uint64_t trade_id; /* TG_EV_TRADE (numeric ids; hashed when the venue uses text) */
        uint64_t checksum; /* TG_EV_CHECKSUM: expected venue checksum (low 32 bits) */
        uint64_t aux;
    } u;
    uint32_t instr;        /* instrument id (tg_instr.h) */
    unsigned kind : 4;     /* tg_ev_kind_t */
    unsigned side : 4;     /* tg_side_t */
    unsigned flags : 8;    /* TG_EVF_* */
    unsigned px_scale : 8; /* fractional digits of price (0..18), with TG_EVF_SCALED */
    unsigned sz_scale : 8; /* fractional digits of size, with TG_EVF_SCALED */
} tg_event_t;

static_assert(sizeof(tg_event_t) == 64, "tg_event_t must be one cache line");
static_assert(alignof(tg_event_t) <= 64, "tg_event_t alignment");

#endif
