/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay internals shared by its source files: the loaded recording (frame index and
 * REST snapshot bodies), fault specifications, loose JSON comparison, and the subcommand entry
 * points. Not a public API of the project.
 * Thread: main (the tool is single-threaded: one lws service loop).
 */
#ifndef TOOL_REPLAY_H
#define TOOL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/rec/feed_tgrec.h"

/** One websocket frame of a recording: a view into the reader's memory. */
typedef struct tool_replay_frame {
    int64_t ts_ns;    /* recorder receive time */
    const char *data; /* frame bytes (NUL follows) */
    size_t len;
} tool_replay_frame_t;

/** One REST book snapshot from an in-band `{"stream":"<x>@depthSnapshot","generated":true,...}`. */
typedef struct tool_replay_snap {
    char key[128];    /* lower-case <name> of <name>@depthSnapshot: "btcusdt",
                         "diff_order_book_xlmeur" (venue->rest_key maps requests to it) */
    const char *body; /* exact REST body, a view into the reader's memory */
    size_t len;
} tool_replay_snap_t;

/** One trade frame of a recording, indexed for the REST trade history (tool_replay_trades.c). */
typedef struct tool_replay_trade {
    size_t frame; /* index in frames[] */
    uint64_t id;  /* trade id (@trade "t", Coinbase "trade_id") or aggregate id (@aggTrade "a") */
    bool agg;     /* @aggTrade (served by aggTrades) or @trade (historicalTrades) */
    char sym[32]; /* lower-case stream symbol: "btcusdt"; Coinbase: the product_id */
    size_t off, len; /* its REST JSON object in trade_text */
} tool_replay_trade_t;

#define TOOL_REPLAY_TRADES_DEFAULT    500u  /* Binance: limit default */
#define TOOL_REPLAY_TRADES_MAX        1000u /* Binance: limit cap */
#define TOOL_REPLAY_TRADES_BM_DEFAULT 100u
#define TOOL_REPLAY_TRADES_BYBIT_SPOT                                                              \
    60u /* Bybit recent-trade, spot: limit default and cap */ /* BitMEX /api/v1/trade: count       \
                                                                 default */
#define TOOL_REPLAY_TRADES_OKX_MAX 100u /* OKX history-trades: limit default and cap */
#define TOOL_REPLAY_TRADE_SNAP     100u /* Crypto.com: trades of the push on subscribe */

/** A loaded recording. Thread: main; read-only after tool_replay_rec_load(). */
typedef struct tool_replay_rec {
    char name[128]; /* basename without .tgrec[.zst] */
    char path[1024];
    feed_tgrec_t *r;
    tool_replay_frame_t *frames; /* websocket frames only (generated records skipped) */
    size_t n_frames;
    tool_replay_snap_t *snaps;
    size_t n_snaps;
    size_t bad_lines;            /* unparsable data lines (skipped) */
    tool_replay_trade_t *trades; /* trade frames, in frame order */
    size_t n_trades;
    char *trade_text; /* REST JSON objects of the trades */
    size_t trade_text_len;
    /* serve only (mutable, main thread): frames [0, published) have been published, i.e. sent
       on some connection or skipped by --resume; the REST trade history serves those */
    size_t published;
    /* Crypto.com: the trades of the push sent per instrument at a reconnect under --resume
       (TOOL_REPLAY_TRADE_SNAP; serve's --trade-snapshot N, 0: none) */
    unsigned trade_snap;
} tool_replay_rec_t;

/** Load a recording and index it. @return 0, -errno, TG_EPROTO. */
int tool_replay_rec_load(tool_replay_rec_t *rec, const char *path);
void tool_replay_rec_free(tool_replay_rec_t *rec);
/** First snapshot recorded under key (case-insensitive), or NULL. */
const tool_replay_snap_t *tool_replay_rec_snapshot(const tool_replay_rec_t *rec, const char *key);
/** Index the trade frames (tool_replay_trades.c; called by tool_replay_rec_load). @return 0,
 *  -ENOMEM. */
int tool_replay_trades_index(tool_replay_rec_t *rec);
/** REST trade-history body (JSON array, malloc'd, NUL-terminated) for symbol `sym` (any case):
 *  agg: aggTrades (@aggTrade frames), else historicalTrades (@trade frames). Trades of frames
 *  [0, upto) only; has_from: ids >= from in order, else the most recent; at most limit (0:
 *  500; capped at 1000). @return 0, -ENOENT (no such trades recorded for sym), -ENOMEM. */
int tool_replay_trades_body(const tool_replay_rec_t *rec, bool agg, const char *sym, bool has_from,
                            uint64_t from, unsigned limit, size_t upto, char **body, size_t *len);
/** Coinbase REST trades body (JSON array, malloc'd, NUL-terminated) for `product` (any case),
 *  newest first: has_after: ids < after; has_before: ids > before (alone: the page just above
 *  it); trades of frames [0, upto) only; at most limit (0: 1000; capped at 1000). @return 0,
 *  -ENOENT (no match of product recorded), -ENOMEM. */
int tool_replay_trades_cb_body(const tool_replay_rec_t *rec, const char *product, bool has_after,
                               uint64_t after, bool has_before, uint64_t before, unsigned limit,
                               size_t upto, char **body, size_t *len);
/** OKX history-trades body ({"code":"0","msg":"","data":[..]}) for instId `inst`, as
 *  tool_replay_trades_cb_body but `before` alone the newest; limit 0: 100, capped at 100. */
int tool_replay_trades_okx_body(const tool_replay_rec_t *rec, const char *inst, bool has_after,
                                uint64_t after, bool has_before, uint64_t before, unsigned limit,
                                size_t upto, char **body, size_t *len);
/** BitMEX GET /api/v1/trade body (JSON array, malloc'd, NUL-terminated) for `symbol` (exact
 *  case): its trades of frames [0, upto) at times [from_ns, to_ns], oldest first (reverse:
 *  newest first), the first start left out, at most count (0: 100; capped at 1000); an unknown
 *  symbol answers [] as BitMEX does. @return 0 or -ENOMEM. */
int tool_replay_trades_bm_body(const tool_replay_rec_t *rec, const char *sym, int64_t from_ns,
                               int64_t to_ns, unsigned start, unsigned count, bool reverse,
                               size_t upto, char **body, size_t *len);
/** Bybit GET /v5/market/recent-trade body ({"retCode":0,..,"result":{"category":..,"list":[..]}})
 *  for `symbol` (any case): its newest `limit` trades of frames [0, upto), newest first (limit
 *  0: spot 60, linear 500; capped at 60 / 1000). @return 0, -ENOENT (no trade of sym
 *  recorded), -ENOMEM. */
int tool_replay_trades_bybit_body(const tool_replay_rec_t *rec, const char *sym, bool spot,
                                  unsigned limit, size_t upto, char **body, size_t *len);
/** Coinbase: one `last_match` frame per product that has a match in frames [0, upto), its
 *  newest there (OKX: the push of each instrument's newest trade there; Crypto.com: per
 *  instrument the subscribe push of its rec->trade_snap newest trades there, newest first),
 *  each ended by '\n', in *out (malloc'd, NULL when none). @return 0, -ENOMEM. */
int tool_replay_trades_cb_last(const tool_replay_rec_t *rec, size_t upto, char **out, size_t *len);
/** Kraken Futures trades in a trade_snapshot (the venue's own: 100). */
#define TOOL_REPLAY_TRADES_CF_SNAP 100u
/** Recording name from a path: basename without ".tgrec", ".tgrec.zst", ".zst". */
void tool_replay_rec_name(char *dst, size_t cap, const char *path);

/** JSON texts equal after removing all blanks (space, tab, CR, LF)? */
bool tool_replay_json_loose_eq(const char *a, size_t alen, const char *b, size_t blen);

typedef enum tool_replay_fault_kind {
    TOOL_REPLAY_FAULT_DROP,     /* drop-after=N: close TCP abruptly after N frames */
    TOOL_REPLAY_FAULT_STALL,    /* stall=T@N: pause T ms after frame N */
    TOOL_REPLAY_FAULT_CORRUPT,  /* corrupt@N: flip bits in frame N */
    TOOL_REPLAY_FAULT_TRUNCATE, /* truncate@N: send the first half of frame N */
    TOOL_REPLAY_FAULT_OVERSIZE, /* oversize@N: a > 1 MiB junk frame before frame N */
} tool_replay_fault_kind_t;

#define TOOL_REPLAY_FAULT_MAX     16
#define TOOL_REPLAY_OVERSIZE_LEN  ((size_t)(1u << 20) + 4096u)
#define TOOL_REPLAY_CORRUPT_BYTES 8

typedef struct tool_replay_fault {
    tool_replay_fault_kind_t kind;
    uint64_t at;    /* frame number, 1-based, counted per connection */
    uint32_t ms;    /* stall duration */
    uint32_t times; /* apply to the first `times` connections; 0 = all */
    char spec[64];  /* as given, for logs */
} tool_replay_fault_t;

/** Parse one --fault SPEC. @return 0 or -EINVAL. */
int tool_replay_fault_parse(tool_replay_fault_t *f, const char *spec);
/** Flip the low bit of up to TOOL_REPLAY_CORRUPT_BYTES evenly spaced bytes (first included). */
void tool_replay_corrupt(char *buf, size_t len);

/* Subcommands: tool_replay_serve.c, tool_replay_books.c. */
int tool_replay_serve_main(int argc, char **argv);
int tool_replay_books_main(int argc, char **argv);

#endif
