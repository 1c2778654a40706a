/* SPDX-License-Identifier: MIT */
/*
 * Trade gaps of one instrument (book_builder.c): trades lost between two of its trades, for
 * history sinks (PostgreSQL's gaps table, reason BOOK_GAP_TRADES).
 *
 * A connection that closed (STALE with TG_EVF_CLOSED) arms the tracker. What the next trade
 * shows depends on the venue (tg_instr_t.trade_ids_seq, from feed_venue_t.trade_ids_seq):
 *
 *  - trade ids consecutive per instrument (Binance, Coinbase, Huobi spot, OKX: an OKX push
 *    that aggregates `count` trades carries the last id, its handler asks for the first
 *    trade's range itself): the next newer trade shows the
 *    hole exactly, (last id seen, this id), unless the ids are consecutive (nothing lost); no
 *    last trade (the first connection): nothing. Where the handler fetches the outage's trades
 *    itself (TG_EVF_REST on the STALE) the hole is only remembered, narrowed as its trades
 *    arrive in id order and dropped when filled; when the feed gives a range up
 *    (TG_EV_TRADE_GAP) each remembered hole inside it is reported with its exact remaining
 *    bounds (the feed's range may span several reconnects and the trades received live between
 *    them), or the feed's range when none is known (a resume point at start-up). At stop, holes
 *    still open are reported.
 *  - any other venue (global ids shared by all instruments: Bitstamp, Bitfinex, Gemini, Gate.io;
 *    UUIDs or hashed text: Bybit, BitMEX; no id: Kraken): ids
 *    cannot tell a hole, so the first trade newer by time (ts_exch, else ts_recv) than every
 *    trade seen before shows "trades may be missing here": a trade gap with unknown id bounds
 *    (0, 0), at that trade's time; its lower bound is the instrument's previous trade (none:
 *    the start of collection). Always reported after a closed connection, even when nothing
 *    was lost (it cannot be known), never with made-up ids. With TG_EVF_REST the handler
 *    fetches the outage's trades by time and reports what it cannot fetch itself (BitMEX, Bybit:
 *    feed_backfill.c time mode): its TG_EV_TRADE_GAP carries time bounds, seq = first ns,
 *    u.aux = last ns (inclusive), ts_exch = the last; book_tgap_given_up writes them as they
 *    are (no hole is remembered here), so the trade gap row's seq_last/seq_got are those
 *    times and its ts the range's end.
 *
 * Memory: 24 bytes a tracker; the holes array is allocated on the first remembered hole (an
 * outage, never per message) and grows to BOOK_TGAP_MAX, past which the two oldest merge (a
 * wider, still covering bound).
 * Thread: book (the builder's).
 */
#ifndef BOOK_TGAP_H
#define BOOK_TGAP_H

#include <stdbool.h>
#include <stdint.h>

#define BOOK_TGAP_MAX 256

typedef struct book_tgap_hole {
    uint64_t last, got;       /* ids last + 1 .. got - 1 not seen */
    int64_t ts_exch, ts_recv; /* of the trade `got` that showed it: the record's time */
} book_tgap_hole_t;

typedef struct book_tgap {
    union {
        uint64_t last_tid; /* ids: highest trade id seen, 0 = none */
        int64_t last_ts;   /* !ids: latest trade time seen (ns), 0 = none */
    };
    book_tgap_hole_t *holes;
    uint16_t n, cap;
    uint8_t armed, rest;
    uint8_t ids; /* trade ids consecutive per instrument (book_tgap_init) */
} book_tgap_t;

/** A zeroed tracker for an instrument; ids: its venue's trade ids are consecutive per
 *  instrument (tg_instr_t.trade_ids_seq). */
static inline void book_tgap_init(book_tgap_t *g, bool ids)
{
    g->ids = ids;
}

/** A trade gap to report: (last, got) exclusive bounds; its time is that of the trade that
 *  showed it (both 0: the current message's). PostgreSQL keys gap rows by time, so each hole
 *  keeps its own. */
typedef void (*book_tgap_fn)(void *ctx, uint64_t last, uint64_t got, int64_t ts_exch,
                             int64_t ts_recv);

/** The instrument's connection closed; rest: its handler fetches the outage's trades. */
static inline void book_tgap_closed(book_tgap_t *g, bool rest)
{
    g->armed = 1;
    g->rest = rest;
}

/** A trade with id arrived (before the builder applies it). Reports a hole at once when the
 *  handler does not fetch it (!ids: the unknown-bounds gap, (0, 0)). */
void book_tgap_trade(book_tgap_t *g, uint64_t id, int64_t ts_exch, int64_t ts_recv, book_tgap_fn fn,
                     void *ctx);

/** The feed gave the trades (last, got) up: the remembered holes inside, or the range. */
void book_tgap_given_up(book_tgap_t *g, uint64_t last, uint64_t got, book_tgap_fn fn, void *ctx);

/** Report every hole still open (at stop) and free the array. */
void book_tgap_finish(book_tgap_t *g, book_tgap_fn fn, void *ctx);

#endif
