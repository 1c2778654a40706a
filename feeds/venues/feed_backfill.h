/* SPDX-License-Identifier: MIT */
/*
 * Trade backfill over REST after a reconnect (issue 15, docs/feeds.md): the venue-independent
 * part, shared by the venues whose trade history is served by trade id (Binance:
 * feed_binance_backfill.c, Coinbase Exchange: feed_coinbase.c, OKX: feed_okex.c) and, in time
 * mode (feed_bf_ops_t.path_ts), by the venues whose trades carry an opaque unique id but no
 * consecutive ones (BitMEX: feed_bitmex.c). A venue gives a request/parse pair
 * (feed_bf_ops_t); the range rule, pacing, tries, counters, log lines, TG_EV_TRADE_GAP and the
 * generation tag are here.
 *
 * Thread: feed:<venue> (everything here belongs to one handler).
 */
#ifndef FEED_BACKFILL_H
#define FEED_BACKFILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"

/** REST tag of a trade-history answer: (generation << 32) | FEED_BF_TAG | symbol. */
#define FEED_BF_TAG 0x80000000u
/** Trades per page at most (Binance and Coinbase cap `limit` at 1000). */
#define FEED_BF_PAGE 1000u
/** At most one trade-history request per second per connection. */
#define FEED_BF_GAP_NS 1000000000LL
/** Time mode: ranges waiting behind the one being fetched, per symbol. */
#define FEED_BF_QUEUE 4
/** Failed requests in a row before a range is given up. */
#define FEED_BF_TRIES 3

/** The feed_venue_t fields of a venue whose trades are backfilled here (Coinbase Exchange, OKX):
 *  on_rest <p>_on_rest, the REST host, trade_history, trade ids consecutive per instrument (the
 *  ranges asked for are by id: trade_ids_seq) and the REST budget of the pacing here (one request
 *  per second per connection, FEED_BF_GAP_NS: 600 a minute of weight 1, at most 8 in flight). */
#define FEED_BF_VENUE(p, host)                                                                     \
    .on_rest = p##_on_rest, .rest_host = (host), .trade_history = true, .trade_ids_seq = true,     \
    .rest_weight_per_min = 600, .rest_weight = 1, .rest_max_inflight = 8

/** The same for a venue backfilled by time (feed_bf_ops_t.path_ts): trade ids not consecutive
 *  (the builder's trade-gap tracker goes by time and, with TG_EVF_REST on the STALE, leaves the
 *  holes to the handler), the venue's REST budget per_min requests of weight 1, one in flight. */
#define FEED_BF_VENUE_TS(p, host, per_min)                                                         \
    .on_rest = p##_on_rest, .rest_host = (host), .trade_history = true, .trade_ids_seq = false,    \
    .rest_weight_per_min = (per_min), .rest_weight = 1, .rest_max_inflight = 1

/** One trade of a page, decoded at the instrument's scales. */
typedef struct feed_bf_trade {
    uint64_t id;
    uint64_t seq; /* the event's seq (Binance: the id; Coinbase: none, 0) */
    int64_t px, qty, ts_ns;
    uint8_t side; /* aggressor: TG_SIDE_BUY / TG_SIDE_SELL */
} feed_bf_trade_t;

/** Per symbol, kept across reconnects. */
typedef struct feed_bf_sym {
    uint32_t instr;    /* set by the venue */
    const char *name;  /* for log lines, set by the venue */
    uint64_t last_tid; /* last trade id seen, 0 = none */
    uint8_t kind;      /* the kind of id last_tid is (Binance: 1 = aggregate id) */
    bool fresh;        /* no trade yet on this connection */
    bool active;       /* range [from, to) to fetch */
    uint64_t from, to; /* next id to fetch; end of the range (exclusive) */
    uint64_t first;    /* the range's first id (log) */
    uint64_t got;      /* trades emitted for the range */
    uint32_t reqs, tries;
    /* time mode: exchange ns, kept across reconnects / of the range [from_ts, to_ts] */
    int64_t last_ts;        /* newest trade time seen, 0 = none */
    int64_t from_ts, to_ts; /* the range (inclusive both ends): the next page starts there */
    int64_t first_ts;       /* the range's first time (log) */
    uint32_t skip;          /* trades at from_ts already fetched (the venue's offset) */
    /* ranges opened while one is fetched (later reconnects), in order; the trades received
       live between them are no hole (a gap given up names only its own range); past
       FEED_BF_QUEUE the newest widens the last one */
    int64_t q_from[FEED_BF_QUEUE], q_to[FEED_BF_QUEUE];
    uint8_t n_q;
} feed_bf_sym_t;

/** The venue's request/parse pair. v: the venue state given to feed_bf_init. */
typedef struct feed_bf_ops {
    /** Write the path of the request for ids [from, from + n) of symbol s (n <= FEED_BF_PAGE).
     *  @return its length (snprintf). */
    int (*path)(void *v, uint32_t s, uint64_t from, uint64_t n, char *buf, size_t cap);
    /** Decode a page (any order) into out[cap]: every number first, so that TG_ERESCALE comes
     *  before anything changes. @return 0 or a TG_E* code. */
    int (*parse)(void *v, uint32_t s, const char *body, size_t len, feed_bf_trade_t *out,
                 uint32_t cap, uint32_t *n_out);
    /** Time mode (set: ranges are by time, path unused). Write the path of the request for the
     *  trades of symbol s at exchange times [from_ts, to_ts] (ns, inclusive), oldest first,
     *  the first skip of them left out (skip > 0 only where skip_ok), at most n. */
    int (*path_ts)(void *v, uint32_t s, int64_t from_ts, int64_t to_ts, uint32_t skip, uint32_t n,
                   char *buf, size_t cap);
    uint32_t page;  /* time mode: trades per page asked (<= FEED_BF_PAGE) */
    bool skip_ok;   /* time mode: the venue takes an offset (BitMEX `start`); without it a page
                       that does not advance (more than page trades at one time) ends the range
                       with a gap */
    bool last_n;    /* time mode: the venue serves only its newest page trades (Bybit): one
                       request, the part of the range older than its oldest trade is a gap */
    int64_t gap_ns; /* least time between two requests (0: FEED_BF_GAP_NS) */
} feed_bf_ops_t;

/** Per connection: one request in flight, paced. */
typedef struct feed_bf {
    feed_handler_t *h;
    void *v;
    const feed_bf_ops_t *ops;
    char *sym; /* feed_bf_sym_t of symbol s at sym + s * stride */
    size_t stride;
    uint32_t n_sym;
    feed_ratelim_t *log_rl;
    uint32_t gen; /* connection generation, in the tags */
    bool inflight;
    int64_t last_req; /* mono ns of the last request, 0 = none */
    uint32_t next;    /* symbol to look at first (round robin) */
    int64_t t0_ts;    /* time mode: the first trade time seen, any symbol (the collection's
                         start on the venue's clock) */
} feed_bf_t;

/** Set up f for n_sym symbols whose feed_bf_sym_t is at sym0, stride bytes apart. */
void feed_bf_init(feed_bf_t *f, feed_handler_t *h, void *v, const feed_bf_ops_t *ops,
                  feed_bf_sym_t *sym0, size_t stride, uint32_t n_sym, feed_ratelim_t *log_rl);
/** Symbol s's state. */
feed_bf_sym_t *feed_bf_sym(const feed_bf_t *f, uint32_t s);
/** A connection of generation gen opened: every symbol waits for its first trade; a symbol
 *  that has seen none takes the instrument's resume point (tg_instr_t.resume_trade_id) as its
 *  last id, of kind resume_kind; in time mode, a symbol without a last time takes the
 *  instrument's resume time (tg_instr_t.resume_ts: its first live trade at T opens
 *  [resume_ts, T]). */
void feed_bf_open(feed_bf_t *f, uint32_t gen, uint8_t resume_kind);
/** A trade id received live for symbol s (kind: its id kind). The first of a connection opens
 *  the range [last + 1, id) or, inclusive, [last + 1, id] (Coinbase's last_match: the newest
 *  trade before the subscription, never emitted); a range still being fetched is merged. */
void feed_bf_trade(feed_bf_t *f, uint32_t s, uint64_t id, uint8_t kind, bool inclusive,
                   int64_t now);
/** Time mode: a trade at exchange time ts (ns) received live for symbol s. The first of a
 *  connection opens the range [last_ts, ts] (inclusive both ends: trades at a boundary time
 *  come again and are dropped by their unique id, PostgreSQL's key and the builder's trade
 *  dedup); while a range is being fetched the new one waits behind it (q_from). A symbol without a
 * trade yet whose first comes on a later connection: [t0_ts, ts] (what it traded while no
 *  connection was open since the collection started). */
void feed_bf_trade_ts(feed_bf_t *f, uint32_t s, int64_t ts, int64_t now);
/** Send a due request (the loop tick). */
void feed_bf_tick(feed_bf_t *f, int64_t now);
/** The answer to the request tagged for symbol s (the caller checked the generation):
 *  emits the range's trades in ascending id (time mode: ascending time, then id) as
 *  TG_EV_TRADE | TG_EVF_REST. @return 0,
 *  TG_ERESCALE (nothing changed: call again) or the error counted. */
int feed_bf_rest(feed_bf_t *f, uint32_t s, int status, const char *body, size_t len,
                 int64_t ts_recv, int64_t ts_mono);

/** ns since the epoch as ISO 8601 with 9 decimals in buf (log lines). @return buf */
const char *feed_bf_iso(int64_t ns, char *buf, size_t cap);

/** Trades of instr at exchange times [from_ts, to_ts] (ns, inclusive) are out of reach: the
 *  TG_EV_TRADE_GAP layout the builder reads as time bounds (book_tgap.h, BOOK_GAP_TRADES_TIME):
 *  seq = from_ts, u.aux = to_ts, ts_exch = to_ts. One place for the REST time mode, the
 *  subscribe-snapshot backfill (feed_bf_snap.c) and Kraken Futures. */
static inline void feed_bf_time_gap(feed_handler_t *h, uint32_t instr, int64_t from_ts,
                                    int64_t to_ts, int64_t ts_recv, int64_t ts_mono, uint8_t flags)
{
    feed_emit_make(h, TG_EV_TRADE_GAP, instr, 0, 0, 0, (uint64_t)from_ts, (uint64_t)to_ts, to_ts,
                   ts_recv, ts_mono, flags);
}

/** A venue's on_rest for trade-history answers alone: an answer tagged for symbol s of this
 *  connection goes to feed_bf_rest, anything else (another generation, another tag) is
 *  dropped (0). */
int feed_bf_on_rest(feed_bf_t *f, uint64_t tag, int status, const char *body, size_t len,
                    int64_t ts_recv, int64_t ts_mono);

#endif
