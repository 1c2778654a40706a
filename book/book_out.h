/* SPDX-License-Identifier: MIT */
/*
 * Output records of the builder: what the builder thread hands to each sink (PostgreSQL
 * writer, Redis publisher) through one SPSC ring per sink (tg_ring of book_out_t). Fixed size,
 * no pointers: they cross threads by value.
 *
 * Thread: written by book, read by writer:pg / writer:redis.
 */
#ifndef BOOK_OUT_H
#define BOOK_OUT_H

#include <assert.h>
#include <stdint.h>

#include "book_l2.h"
#include "tg_event.h"

#define BOOK_OUT_DEPTH_MAX 20

typedef enum book_out_kind {
    BOOK_OUT_TRADE = 1,
    BOOK_OUT_BOOK = 2,   /* top-N snapshot of one book */
    BOOK_OUT_CANDLE = 3, /* closed (final) or forming candle */
    BOOK_OUT_GAP = 4,    /* sequence gap / resync / state change of a book */
} book_out_kind_t;

/* BOOK_OUT_BOOK reasons */
#define BOOK_OUT_R_CHANGE   1 /* top-N changed (rate-limited per instrument) */
#define BOOK_OUT_R_INTERVAL 2 /* periodic snapshot */
#define BOOK_OUT_R_STATE    3 /* state changed (valid/resyncing/stale) */

typedef struct book_out_trade {
    int64_t price;
    int64_t size;
    uint64_t trade_id;
    uint64_t seq;
    uint8_t side; /* tg_side_t: aggressor */
} book_out_trade_t;

typedef struct book_out_book {
    uint64_t seq;        /* last exchange sequence applied */
    uint64_t generation; /* increases on every resync */
    uint8_t state;       /* book_state_t */
    uint8_t reason;      /* BOOK_OUT_R_* */
    uint8_t n_bids, n_asks;
    uint32_t depth_bids, depth_asks; /* total levels per side */
    tg_level_t bids[BOOK_OUT_DEPTH_MAX];
    tg_level_t asks[BOOK_OUT_DEPTH_MAX];
    uint8_t repeat; /* 1: an interval snapshot identical to the last record published for this
                       book (same message, state, generation, top-N): Redis refreshes its key
                       with it, PostgreSQL already has the row and skips it */
} book_out_book_t;

typedef struct book_out_candle {
    int64_t start_ns; /* bucket start, exchange time */
    int64_t interval_ns;
    int64_t open, high, low, close;          /* px_scale */
    int64_t volume, buy_volume, sell_volume; /* sz_scale */
    __int128 notional;         /* sum price*size at px_scale+sz_scale; vwap = notional / volume */
    int64_t vwap;              /* px_scale, rounded half away from zero; 0 if no trades */
    int64_t first_ts, last_ts; /* exchange times of the first and last trade */
    uint32_t trades;
    uint8_t closed;    /* 1: final (PostgreSQL); 0: forming (Redis) */
    uint16_t revision; /* closed only: 0 first close; n > 0: the n-th revision of a bar closed
                          early by a clock, with its late trades added (docs/book.md) */
} book_out_candle_t;

typedef struct book_out_gap {
    uint64_t seq_last; /* last good sequence */
    uint64_t seq_got;  /* sequence received (0 if unknown) */
    uint64_t generation;
    uint8_t state;  /* new book_state_t */
    uint8_t reason; /* tg_ev_kind_t of the cause or BOOK_GAP_* */
} book_out_gap_t;

#define BOOK_GAP_SEQUENCE  1
#define BOOK_GAP_CHECKSUM  2
#define BOOK_GAP_CROSSED   3
#define BOOK_GAP_RECONNECT 4
#define BOOK_GAP_STALE     5
#define BOOK_GAP_RESYNCED  6 /* book became valid again */
#define BOOK_GAP_BADEVENT  7 /* an event the book could not apply (bad side/size/price) */
#define BOOK_GAP_FAULT     8 /* a value could not be held exactly: book FAULT */
#define BOOK_GAP_TRADES                                                                            \
    9 /* trades lost (a connection closed, no trade history): seq_last =                           \
         last trade id before, seq_got = first id after; the book's                                \
         state is unchanged. Sink class BOOK_SINK_TRADE_GAP */
#define BOOK_GAP_TRADES_TIME                                                                       \
    10 /* trades lost, bounded by time, at a venue whose trade ids are not                         \
          consecutive (a backfill by time given up or out of the venue's reach:                    \
          BitMEX, Bybit): seq_last = the first exchange time (ns) of the hole,                     \
          seq_got = its last, both inclusive; ts_exch = the time of the record.                    \
          Otherwise as BOOK_GAP_TRADES (sink class BOOK_SINK_TRADE_GAP) */

/* book_out_t.flags */
#define BOOK_OUT_F_SCALED                                                                          \
    0x01u /* px_scale/sz_scale are set (the builder always sets them);                             \
             without it a sink uses the instrument's registry scales */

#define BOOK_OUT_F_TIMER                                                                           \
    0x02u /* made by a timer or after a deliberate delay (interval                                 \
             snapshot, rate-limited change or forming candle published                             \
             late, candle closed by the wall clock): ts_mono is the last                           \
             message's receive time, not this record's cause, so latency                           \
             histograms count it apart (BOOK_LAT_TIMER) */

/* Latency classes of records (per-kind stage histograms, docs/latency.md) */
enum {
    BOOK_LAT_TRADE = 0,
    BOOK_LAT_BOOK = 1,
    BOOK_LAT_CANDLE = 2,
    BOOK_LAT_TIMER = 3,
    BOOK_LAT_KINDS = 4
};

/** The scales of rec: its own, or (records made by hand) the instrument's. */
#define BOOK_OUT_PX_SCALE(rec, in)                                                                 \
    ((rec)->flags & BOOK_OUT_F_SCALED ? (rec)->px_scale : (in)->px_scale)
#define BOOK_OUT_SZ_SCALE(rec, in)                                                                 \
    ((rec)->flags & BOOK_OUT_F_SCALED ? (rec)->sz_scale : (in)->sz_scale)

/** One output record.  Thread: written by book; read by one writer thread per ring. */
typedef struct book_out {
    uint8_t kind;    /* book_out_kind_t */
    int8_t px_scale; /* fractional digits of every price in this record */
    int8_t sz_scale; /* fractional digits of every size (candle notional: px + sz) */
    uint8_t flags;   /* BOOK_OUT_F_* */
    uint32_t instr;
    int64_t ts_exch; /* exchange time of the message that produced it */
    int64_t ts_recv; /* receive time (realtime ns) of that message */
    int64_t ts_mono; /* receive time (monotonic ns): sinks compute stage latency from it */
    int64_t ts_out;  /* monotonic ns when the builder pushed it to the sinks (0: by hand) */
    union {
        book_out_trade_t trade;
        book_out_book_t book;
        book_out_candle_t candle;
        book_out_gap_t gap;
    } u;
} book_out_t;

/** Latency class of rec (BOOK_LAT_*): trades; books and gaps; candles; timer-made records.
 *  Thread: any. */
static inline int book_out_lat_kind(const book_out_t *rec)
{
    if (rec->flags & BOOK_OUT_F_TIMER)
        return BOOK_LAT_TIMER;
    return rec->kind == BOOK_OUT_TRADE    ? BOOK_LAT_TRADE
           : rec->kind == BOOK_OUT_CANDLE ? BOOK_LAT_CANDLE
                                          : BOOK_LAT_BOOK;
}

static_assert(sizeof(book_out_t) <= 768, "book_out_t fits 12 cache lines");

#endif
