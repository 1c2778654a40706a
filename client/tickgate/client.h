/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client: consistent market data from a tickgate gateway, for strategies.
 *
 * The gateway's Redis publisher (docs/redis.md) keeps top-N books, last trades and forming
 * candles in keys and streams every record on pub/sub channels, each message numbered per
 * channel (`seq`, restarted at 1 in a new publisher `epoch`). This library does for the caller
 * what every consumer otherwise writes again: the join (SUBSCRIBE, then GET the snapshot key,
 * then apply only higher numbers), hole detection by number and epoch, recovery (book and candle
 * messages are full snapshots; a book hole revealed by a gap document re-reads the key at once;
 * a dropped connection reconnects, re-subscribes and re-reads every key) and exact decimals
 * (int64 + scale, never through double). Everything that happened is an event: the data, every
 * hole with its size and whether the state was recovered, publisher restarts, disconnections.
 *
 * ABI: versioned by TG_CLIENT_VERSION (major << 16 | minor << 8 | patch). Within one major
 * version, structs only grow at their end and enums only gain values; a caller built against
 * an older minor works with a newer library. tg_client_create() refuses a configuration whose
 * `version` has another major (-EPROTO). The full field reference is docs/clients.md.
 *
 * Threads: a tg_client_t has no thread of its own. One thread at a time (the owner) calls its
 * functions; pointers in an event are valid until that thread's next call on the same client.
 * tg_client_fd() may be polled (epoll/poll) from any thread; the version and decimal helpers
 * are Thread: any. Separate clients are independent.
 *
 * Sources: the library reads Redis pub/sub and keys, and (1.1) fills a trade hole from the
 * channel's Redis Stream when the gateway writes one ([redis] stream_trades): XRANGE by
 * sequence number, the entries delivered before the document that showed the hole
 * (tg_client_hole_t.filled, source TG_CLIENT_SRC_STREAM). Without a stream the hole is
 * reported unrecovered as before. The recovery step is one internal function per source, so a
 * shared-memory source can be added the same way.
 * Shared memory (1.1): a URL "shm:///name" reads the segment a co-located gateway's [shm] sink
 * writes (docs/shm.md) through this same API: books (with state and generation) and trades,
 * no candles; holes when the reader was lapped (books recover from the slot, source
 * TG_CLIENT_SRC_SHM; trade holes are exact counts); DISCONNECTED when the gateway stops,
 * reconnect (EPOCH) when it starts again. tg_client_next() sleeps on a futex when asked to
 * wait; tg_client_fd() returns -EOPNOTSUPP for it (no descriptor can wait on a futex).
 */
#ifndef TICKGATE_CLIENT_H
#define TICKGATE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_CLIENT_VERSION_MAJOR 1
#define TG_CLIENT_VERSION_MINOR 3
#define TG_CLIENT_VERSION_PATCH 0
#define TG_CLIENT_VERSION                                                                          \
    ((TG_CLIENT_VERSION_MAJOR << 16) | (TG_CLIENT_VERSION_MINOR << 8) | TG_CLIENT_VERSION_PATCH)

/** Version of the library actually linked (TG_CLIENT_VERSION of its build). Thread: any. */
unsigned tg_client_version(void);
/** The same as text, "1.0.0". Thread: any. */
const char *tg_client_version_string(void);

/* ---- exact decimals ---------------------------------------------------------------------- */

/** An exact decimal: value = v / 10^scale (scale 0..18), as written by the gateway. */
typedef struct tg_client_dec {
    int64_t v;
    int32_t scale;
} tg_client_dec_t;

/** Longest text tg_client_dec_text() writes, NUL included. */
#define TG_CLIENT_DEC_TEXT_MAX 32

/** Parse "123.45", "-0.001", "7" exactly. @return 0; -EINVAL (not a decimal, more than 18
 *  fractional digits); -ERANGE (does not fit an int64). Thread: any. */
int tg_client_dec_parse(const char *s, size_t len, tg_client_dec_t *out);
/** Write d as text with exactly d.scale fractional digits into buf (cap bytes, NUL added).
 *  @return the length without the NUL, 0 if cap is too small. Thread: any. */
size_t tg_client_dec_text(tg_client_dec_t d, char *buf, size_t cap);
/** Nearest double (for display or models; never for comparisons of prices). Thread: any. */
double tg_client_dec_to_double(tg_client_dec_t d);
/** Compare exactly across scales: <0, 0, >0. Thread: any. */
int tg_client_dec_cmp(tg_client_dec_t a, tg_client_dec_t b);

/* ---- documents --------------------------------------------------------------------------- */

/** Book integrity state, as the gateway's book builder knows it. Only VALID is trustworthy. */
typedef enum tg_client_state {
    TG_CLIENT_STATE_UNKNOWN = 0,
    TG_CLIENT_STATE_VALID = 1,
    TG_CLIENT_STATE_RESYNCING = 2, /* gap/checksum/crossed fault, waiting for a snapshot */
    TG_CLIENT_STATE_STALE = 3,     /* feed disconnected or silent */
    TG_CLIENT_STATE_FAULT = 4,     /* a value could not be held exactly */
} tg_client_state_t;

/** Name of a state ("VALID", ...). Thread: any. */
const char *tg_client_state_name(tg_client_state_t s);

#define TG_CLIENT_DEPTH_MAX 20

typedef struct tg_client_level {
    tg_client_dec_t px, sz;
} tg_client_level_t;

/** A top-N book as last delivered (held by the client, one per book channel). */
typedef struct tg_client_book {
    uint64_t seq, epoch;             /* channel number of the document this came from */
    tg_client_state_t state;         /* from the newest book or gap document */
    uint64_t generation;             /* increases on every resync */
    uint64_t exch_seq;               /* last exchange sequence applied */
    int64_t ts_exch, ts_recv;        /* ns since the Unix epoch */
    uint32_t depth_bids, depth_asks; /* levels in the gateway's full book */
    uint32_t n_bids, n_asks;         /* levels held here, best first */
    tg_client_level_t bids[TG_CLIENT_DEPTH_MAX];
    tg_client_level_t asks[TG_CLIENT_DEPTH_MAX];
    char reason[16]; /* "change", "interval", "state" */
} tg_client_book_t;

typedef enum tg_client_side {
    TG_CLIENT_SIDE_UNKNOWN = 0,
    TG_CLIENT_SIDE_BUY = 1, /* aggressor */
    TG_CLIENT_SIDE_SELL = 2,
} tg_client_side_t;

typedef struct tg_client_trade {
    tg_client_dec_t price, size;
    tg_client_side_t side;
    uint64_t trade_id, exch_seq;
    int64_t ts_exch, ts_recv;
} tg_client_trade_t;

typedef struct tg_client_candle {
    char interval[16]; /* "1m" */
    int64_t interval_ns, start;
    int closed; /* 0 while forming */
    tg_client_dec_t open, high, low, close, volume, buy_volume, sell_volume, vwap;
    uint64_t trades;
    int64_t first_ts, last_ts, ts_exch, ts_recv;
} tg_client_candle_t;

/** The gateway's own gap/state document on a book channel; or (TG_CLIENT_EV_TRADE_GAP) the
 *  trade ids around trades lost at the venue, reason "trades". */
typedef struct tg_client_status {
    tg_client_state_t state;
    uint64_t generation;
    char reason[16];            /* sequence, checksum, crossed, reconnect, stale, resynced, ... */
    uint64_t seq_last, seq_got; /* exchange numbers around the venue's gap */
    int64_t ts_exch, ts_recv;
} tg_client_status_t;

/* ---- events ------------------------------------------------------------------------------ */

typedef enum tg_client_chan_kind {
    TG_CLIENT_CH_NONE = 0,
    TG_CLIENT_CH_BOOK = 1,
    TG_CLIENT_CH_TRADES = 2,
    TG_CLIENT_CH_CANDLES = 3,
} tg_client_chan_kind_t;

/** Where a hole's state came back from. */
typedef enum tg_client_source {
    TG_CLIENT_SRC_NONE = 0,    /* not recovered (trades are lost; or waiting) */
    TG_CLIENT_SRC_MESSAGE = 1, /* the message that revealed the hole is a full snapshot */
    TG_CLIENT_SRC_KEY = 2,     /* the snapshot key, read again */
    TG_CLIENT_SRC_STREAM = 3,  /* the channel's Redis Stream (XRANGE by number; since 1.1) */
    TG_CLIENT_SRC_SHM = 4,     /* the shared-memory segment's slot (shm:// URLs; since 1.1) */
} tg_client_source_t;

typedef struct tg_client_hole {
    uint64_t missing;            /* messages that never reached this client */
    uint64_t seq_after, seq_got; /* last number applied before, the number that showed it */
    int recovered;               /* 1: the channel's state is whole again (book/candle) */
    tg_client_source_t source;
    int disconnected; /* 1: found when re-joining after a lost connection */
    uint64_t filled;  /* (1.1) messages of the hole read from the channel's Redis Stream: they
                         follow this event as documents with from_key = 2, oldest first;
                         recovered = 1 when filled == missing */
} tg_client_hole_t;

typedef enum tg_client_ev_kind {
    TG_CLIENT_EV_BOOK = 1,         /* u.book: the held book after this document */
    TG_CLIENT_EV_TRADE = 2,        /* u.trade */
    TG_CLIENT_EV_CANDLE = 3,       /* u.candle */
    TG_CLIENT_EV_STATUS = 4,       /* u.status: gap/state document on a book channel */
    TG_CLIENT_EV_HOLE = 5,         /* u.hole: messages missing on this channel */
    TG_CLIENT_EV_RECOVERED = 6,    /* a channel left waiting by a hole has its state back */
    TG_CLIENT_EV_EPOCH = 7,        /* publisher restarted: u.epoch_old, numbers restart */
    TG_CLIENT_EV_DISCONNECTED = 8, /* connection lost; `text` says why; reconnecting */
    TG_CLIENT_EV_CONNECTED = 9,    /* (re)connected, subscribed and joined */
    TG_CLIENT_EV_BAD = 10,         /* a document that could not be read (counted, skipped) */
    TG_CLIENT_EV_TRADE_GAP = 11,   /* (1.2) u.status: trades the venue published that nobody can
                                      fetch again (a connection closed, no trade history):
                                      seq_last/seq_got = the trade ids around the hole; a numbered
                                      message of the trades channel (docs/redis.md) */
} tg_client_ev_kind_t;

/** One event. Every pointer in it is valid until the owner's next call on the client. */
typedef struct tg_client_event {
    tg_client_ev_kind_t kind;
    tg_client_chan_kind_t chan_kind;
    const char *channel;        /* "tg.book.binance.BTCUSDT" ("" for connection events) */
    const char *venue, *symbol; /* "" for connection events */
    uint64_t seq, epoch;        /* the document's numbers (0 for connection events) */
    int from_key;    /* 1: read from the snapshot key (join or recovery); 2: from the channel's
                        Redis Stream, filling a hole (since 1.1) */
    const char *doc; /* the JSON document as received (NULL if none) */
    size_t doc_len;
    const char *text; /* DISCONNECTED/BAD: why; otherwise "" */
    union {
        const tg_client_book_t *book;
        tg_client_trade_t trade;
        const tg_client_candle_t *candle;
        tg_client_status_t status;
        tg_client_hole_t hole;
        uint64_t epoch_old;
    } u;
} tg_client_event_t;

/* ---- client ------------------------------------------------------------------------------ */

typedef struct tg_client tg_client_t;

typedef struct tg_client_cfg {
    unsigned version;         /* TG_CLIENT_VERSION the caller was built with (set by defaults) */
    const char *url;          /* redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]
                                 or shm:///name (shared memory, since 1.1) or
                                 redis-cluster://[[user]:password@]host:port[,host:port...]
                                 (a Redis Cluster, since 1.2: docs/clients.md) */
    const char *prefix;       /* key/channel prefix, "tg" */
    const char *password_env; /* used when the URL has no password: "REDISCLI_AUTH" */
    int connect_timeout_ms;   /* 1000 */
    int command_timeout_ms;   /* 2000 (GET/SCAN during joins) */
    int backoff_min_ms, backoff_max_ms; /* reconnect: 50, 800 */
    size_t read_buffer;                 /* bytes; the largest message must fit: 1 MiB */
    unsigned max_channels;              /* channels followed at most: 4096 */
} tg_client_cfg_t;

/** Fill defaults (values above). Thread: any. */
void tg_client_cfg_defaults(tg_client_cfg_t *cfg);

/** Create a client (nothing connects yet). cfg is copied (strings too).
 *  @return 0 and *out; -EINVAL (bad URL or prefix); -EPROTO (cfg->version of another major);
 *  -ENOMEM. Thread: any; the caller becomes the owner. */
int tg_client_create(tg_client_t **out, const tg_client_cfg_t *cfg);
/** Close the connections and free everything; *c becomes NULL; NULL is a no-op. Thread: owner. */
void tg_client_destroy(tg_client_t **c);

#define TG_CLIENT_SUB_BOOK    0x1u
#define TG_CLIENT_SUB_TRADES  0x2u
#define TG_CLIENT_SUB_CANDLES 0x4u
#define TG_CLIENT_SUB_ALL     0x7u

/** The Redis channel (key 0) or key (key 1) name this client uses for one kind (a single
 *  TG_CLIENT_SUB_* bit) of venue/symbol, and interval for candles: "tg.book.binance.BTCUSDT",
 *  "tg:candle:1m:binance:BTCUSDT", with the instrument as the hash tag "{binance:BTCUSDT}" on a
 *  Redis Cluster (docs/redis.md). tg_client_event_t.channel is such a channel name, so a caller
 *  can match events to what it subscribed without knowing the naming rules.
 *  @return 0; -EINVAL (not one kind, candles without interval, empty names); -ENOSPC (cap too
 *  small: buf holds a truncated name). Thread: any. Since 1.3. */
int tg_client_name(const tg_client_t *c, unsigned kind, const char *interval, const char *venue,
                   const char *symbol, int key, char *buf, size_t cap);

/** Follow venue/symbol (each may be a Redis glob pattern: "*", "BTC*", "[ab]*"). kinds is a
 *  TG_CLIENT_SUB_* mask; interval is the candle interval ("1m", or "*") when CANDLES is in it.
 *  Call before tg_client_connect().
 *  @return 0; -EINVAL (empty names, characters Redis names cannot hold); -EBUSY (connected);
 *  -ENOSPC (more than 64 subscriptions). Thread: owner. */
int tg_client_subscribe(tg_client_t *c, const char *venue, const char *symbol, unsigned kinds,
                        const char *interval);

/** Connect, subscribe and join (blocking, bounded by the timeouts). The join's events (one
 *  per snapshot key found, then CONNECTED) come from tg_client_next().
 *  @return 0; -ECONNREFUSED, -ETIMEDOUT, -EACCES (authentication), -EIO (other; see
 *  tg_client_errstr()); -EINVAL (no subscription). Thread: owner. */
int tg_client_connect(tg_client_t *c);

/** A file descriptor that becomes readable when tg_client_next() may have an event (or a
 *  reconnect is due). Stable for the client's life (an internal epoll set); register it with
 *  EPOLLIN in your own loop. Thread: any. */
int tg_client_fd(const tg_client_t *c);

/** Next event. timeout_ms: 0 = do not wait, -1 = wait forever, else at most that long.
 *  @return 1 and *ev; 0 if none came in time; -EINVAL; -ENOTCONN (never connected).
 *  Connection loss is an event (DISCONNECTED), not an error: the client reconnects with
 *  backoff inside later calls (each attempt blocks up to connect_timeout_ms).
 *  Steady state (connected, known channels) allocates nothing. Thread: owner. */
int tg_client_next(tg_client_t *c, tg_client_event_t *ev, int timeout_ms);

typedef void (*tg_client_cb_t)(void *ud, const tg_client_event_t *ev);

/** Callback style: deliver every event available within timeout_ms (as tg_client_next) to
 *  cb, which runs on the caller's thread and must not call the client's other functions
 *  except the counters. @return the number of events delivered, or a negative error as
 *  tg_client_next(). Thread: owner. */
int tg_client_dispatch(tg_client_t *c, int timeout_ms, tg_client_cb_t cb, void *ud);

/** The held book of a book channel matching venue and symbol exactly, NULL if none yet.
 *  Valid until the next call. Thread: owner. */
const tg_client_book_t *tg_client_book(tg_client_t *c, const char *venue, const char *symbol);

typedef struct tg_client_counters {
    uint64_t messages;                    /* documents applied from messages */
    uint64_t keys;                        /* documents applied from keys */
    uint64_t skipped;                     /* messages at or below what a key already covered */
    uint64_t holes, missing, unrecovered; /* holes seen, messages in them, holes not recovered */
    uint64_t epochs, disconnects, reconnects, bad;
    uint64_t bytes;    /* bytes read from the subscriber connection */
    uint32_t channels; /* channels known */
} tg_client_counters_t;

/** Copy of the counters. Thread: owner. */
void tg_client_counters(const tg_client_t *c, tg_client_counters_t *out);
/** Last error text ("" if none). Thread: owner. */
const char *tg_client_errstr(const tg_client_t *c);

#ifdef __cplusplus
}
#endif
#endif
