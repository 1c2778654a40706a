/* SPDX-License-Identifier: MIT */
/*
 * Binance handlers (feed_venue_binance, feed_venue_binance_futures, feed_venue_binance_delivery,
 * feed_venue_binance_us: one handler, the venue's `variant` picks hosts and sync rules):
 * internals shared by feed_binance.c (state, sync, generic jsmn parser) and
 * feed_binance_scan.c (single-pass fast scanner), exposed for tests and benchmarks.
 *
 * Both parsers only *tokenize*: they fill a bn_fields_t (which keys were present, their raw
 * values, the book levels decoded into the handler's scratch array), and one shared function,
 * feed_binance__finish(), turns fields into a message. So the two paths cannot disagree on
 * semantics; they can only disagree on tokenization, which the tests check frame by frame.
 * The fast scanner gives up (returns 1) on anything it does not fully understand, including
 * every input the generic parser would reject and every number that does not fit the
 * instrument's current scale; the generic parser then decides (and raises the scale through
 * feed_dec, returning TG_ERESCALE: the scanner never changes any state).
 *
 * Thread: feed:<venue> (everything here belongs to one handler).
 */
#ifndef FEED_BINANCE_H
#define FEED_BINANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"
#include "feeds/venues/feed_backfill.h"

enum {
    BN_MSG_NONE = 0,     /* understood, nothing to do (bookTicker, acks, other events) */
    BN_MSG_DEPTH = 1,    /* depthUpdate diff */
    BN_MSG_TRADE = 2,    /* trade or aggTrade */
    BN_MSG_SNAPSHOT = 3, /* REST depth snapshot (in-band @depthSnapshot or on_rest) */
    BN_MSG_VENUE_ERR = 4 /* {"code":..,"msg":..} / {"error":..} */
};

/* bn_fields_t.have bits */
enum {
    BNF_E_TYPE = 1u << 0, /* "e" */
    BNF_E_TIME = 1u << 1, /* "E" */
    BNF_T = 1u << 2,
    BNF_S = 1u << 3,
    BNF_UU = 1u << 4, /* "U" */
    BNF_U = 1u << 5,  /* "u" */
    BNF_PU = 1u << 6,
    BNF_TID = 1u << 7,  /* "t" */
    BNF_AID = 1u << 8,  /* "a" as an integer (aggTrade id) */
    BNF_ALV = 1u << 9,  /* "a" or "asks" as a level array */
    BNF_BLV = 1u << 10, /* "b" or "bids" as a level array */
    BNF_P = 1u << 11,
    BNF_Q = 1u << 12,
    BNF_M = 1u << 13, /* "m" */
    BNF_X = 1u << 14,
    BNF_LUID = 1u << 15, /* "lastUpdateId" */
    BNF_ERR = 1u << 16,  /* "code" or "error" */
    BNF_OTHER = 1u << 17 /* known keys we skip: "M", "B", "A", "f", "l", bookTicker "a"/"b" */
};

typedef struct bn_str {
    const char *p;
    uint32_t n;
} bn_str_t;

/** Raw fields of one data object. Levels are already decoded into the handler's scratch
 *  array (pairs px, sz) at the instrument's scales. */
typedef struct bn_fields {
    uint32_t have;
    bn_str_t e, s, x, p, q;
    uint64_t E, T, U, u, pu, t, a, luid;
    bool m;
    uint32_t b_off, b_n, a_off, a_n; /* level pairs in scratch */
} bn_fields_t;

/** One parsed exchange message. */
typedef struct bn_msg {
    int type; /* BN_MSG_* */
    int sym;  /* index in the handler's symbols, -1 if none */
    uint64_t U, u, pu;
    bool has_pu;
    int64_t ts_ms; /* exchange time (ms): trade T; depth T (futures) or E; 0 if none */
    uint64_t trade_id;
    bool agg;                 /* trade: aggTrade (aggregate id "a"), else trade ("t") */
    int64_t px, qty;          /* trade */
    uint8_t side;             /* trade aggressor */
    bool market;              /* trade: X absent or "MARKET" */
    const int64_t *bid, *ask; /* level pairs (px, sz); point into the handler's scratch */
    uint32_t n_bid, n_ask;
} bn_msg_t;

typedef struct bn_sym {
    uint32_t instr;
    int state;       /* BN_ST_* (feed_binance.c) */
    uint64_t last_u; /* snapshot lastUpdateId, then the last applied u */
    bool want_snap;  /* a snapshot request is due (live) */
    int64_t snap_req_mono;
    uint32_t snap_refused;     /* snapshots refused in a row as too old: the retries back off */
    char upper[TG_SYMBOL_MAX]; /* "BTCUSDT" */
    char lower[TG_SYMBOL_MAX]; /* "btcusdt" (stream names) */
    uint32_t len;
    /* pre-snapshot diff buffer (feed_binance_buf.c): this symbol's share, and the largest u
     * evicted from it since its last snapshot or reconnect (0 = none) */
    uint32_t buf_diffs, buf_levels;
    uint64_t evicted_u;
    uint64_t buf_last_u; /* u of the last diff buffered (0 = none): a restart is seen */
    /* trade backfill (feed_binance_backfill.c): kept across reconnects; kind 1: last_tid is
     * an aggregate id */
    feed_bf_sym_t bf;
} bn_sym_t;

/** One diff buffered while its symbol waits for a snapshot (feed_binance_buf.c). */
typedef struct bn_bufdiff {
    int32_t sym; /* -1: consumed or evicted (removed by the next compaction) */
    uint32_t off, n_bid, n_ask;
    int8_t px_scale, sz_scale; /* the scales its levels were decoded at (kept when they grow) */
    uint64_t U, u, pu;
    int64_t ts_ms, ts_recv, ts_mono;
} bn_bufdiff_t;

/** feed_venue_t.variant of the Binance ids: REST route, sync rules, trade stream. */
enum {
    FEED_BN_SPOT = 0,  /* binance: api.binance.com /api/v3/depth, spot rules, @trade */
    FEED_BN_USDM = 1,  /* binance-futures: fapi /fapi/v1/depth, futures rules (pu), @aggTrade */
    FEED_BN_COINM = 2, /* binance-delivery: dapi /dapi/v1/depth, futures rules, @aggTrade */
    FEED_BN_US = 3     /* binance-us: api.binance.us /api/v3/depth, spot rules, @trade */
};

/** Handler state (h->vstate).  Thread: feed:<venue>. */
typedef struct feed_bn {
    feed_handler_t *h;
    int variant;       /* FEED_BN_* */
    bool futures;      /* futures sync rules (USD-M, COIN-M) */
    const char *route; /* REST depth route ("/api/v3/depth") */
    int path;          /* FEED_BN_PATH_* */
    bn_sym_t *sym;
    uint32_t n_sym;
    uint16_t *sym_of_instr; /* TG_INSTR_MAX entries: symbol index + 1, 0 = not ours */
    int last_sym;           /* one-entry symbol cache */
    int64_t *lv;            /* scratch level pairs */
    uint32_t lv_cap, lv_n;
    void *tok; /* jsmntok_t[tok_cap] */
    uint32_t tok_cap;
    /* diffs buffered while waiting for a snapshot, in arrival order; bounded per connection,
     * shared fairly by its symbols (feed_binance_buf.c) */
    bn_bufdiff_t *bd;
    uint32_t bd_n, bd_cap;
    int64_t *bl;
    uint32_t bl_n, bl_cap;
    uint32_t bd_hw, bl_hw; /* most used since the pages were last given back */
    uint32_t gen;          /* connection generation, in REST tags */
    /* subscribe messages not sent yet ('\n'-separated), paced to the venue's message limit */
    char *sub;
    size_t sub_len, sub_off, sub_cap;
    feed_ratelim_t log_rl; /* log rate limit */
    /* trade backfill: one request in flight, paced (feed_binance_backfill.c) */
    feed_bf_t bf;
} feed_bn_t;

/** REST tag bit of a trade-history answer (low 32 bits: BN_BF_TAG | symbol). */
#define BN_BF_TAG FEED_BF_TAG

enum { FEED_BN_PATH_AUTO = 0, FEED_BN_PATH_SLOW = 1 };

/** Choose the parser: AUTO (fast scanner, generic fallback) or SLOW (generic only). For
 *  tests and benchmarks.  Thread: feed:<venue>. */
void feed_binance_set_path(feed_handler_t *h, int path);

/** Fast scanner. @return 0 (m filled; identical to what the generic parser gives) or 1
 *  (not understood: use the generic parser). */
int feed_binance__scan(feed_bn_t *b, const char *buf, size_t len, bn_msg_t *m);

/** Generic jsmn parser. rest_sym >= 0: buf is a bare REST depth body for that symbol.
 *  Prices and sizes go through feed_dec_px/feed_dec_sz: TG_ERESCALE means a scale was raised
 *  and the message must be parsed again (nothing else was changed).
 *  @return 0 or TG_ERESCALE, TG_EJSON, TG_EFIELD, TG_ESYMBOL, TG_EDEC_* (m->type/m->sym say
 *  what the message was when known, so a broken depth diff can invalidate its book). */
int feed_binance__parse(feed_bn_t *b, const char *buf, size_t len, int rest_sym, bn_msg_t *m);

/* The scanner's decimal (feed_binance_scan.c): the string p[0..n) whose closing quote is p[n],
 * at scale, exactly as tg_dec_parse_unsigned() (which it calls for any form but the plain
 * digits[.digits]). @return 0, or -1 where tg_dec_parse_unsigned fails. */
int feed_binance__dec_fast(const char *p, uint32_t n, int scale, int64_t *out);

/** Shared semantics: fields -> message. snap_sym: symbol of a snapshot context (stream name
 *  or REST tag), -1 if none; snap_ctx: the object may be a snapshot. fast: called by the
 *  scanner (trade numbers are decoded at the current scales and never raise them; any
 *  failure is returned for the generic parser to decide); otherwise through feed_dec (may
 *  return TG_ERESCALE). */
int feed_binance__finish(feed_bn_t *b, const bn_fields_t *f, int sym, int snap_ctx, bool fast,
                         bn_msg_t *m);

/** Symbol text -> handler symbol index, or -1. nocase for stream names. */
int feed_binance__sym(feed_bn_t *b, const char *s, size_t n, bool nocase);

/** Trade backfill (feed_binance_backfill.c). bf_open: a connection opened (every symbol waits
 *  for its first trade); bf_trade: a live trade (opens a range after a reconnect, sends a
 *  paced request); bf_tick: sends a due request; bf_rest: a trade-history answer for symbol
 *  s (TG_ERESCALE: nothing changed, call again). Thread: feed:<venue>. */
void feed_binance__bf_open(feed_bn_t *b);
void feed_binance__bf_trade(feed_bn_t *b, int s, uint64_t id, bool agg, int64_t now);
void feed_binance__bf_tick(feed_bn_t *b, int64_t now);
int feed_binance__bf_rest(feed_bn_t *b, uint32_t s, int status, const char *body, size_t len,
                          int64_t ts_recv, int64_t ts_mono);

/** Pre-snapshot diff buffer (feed_binance_buf.c). buf_push: keep diff m of symbol s (in WAIT);
 *  when the connection's pool is full, the oldest diffs of the symbol holding the most levels
 *  are evicted first (counted in stale_dropped, remembered in evicted_u). buf_take: entry i
 *  was consumed (applied or stale). buf_compact: remove consumed entries. buf_clear: empty
 *  (reconnect). Thread: feed:<venue>. */
void feed_binance__buf_push(feed_bn_t *b, int s, const bn_msg_t *m, int64_t ts_recv,
                            int64_t ts_mono);
void feed_binance__buf_take(feed_bn_t *b, uint32_t i);
void feed_binance__buf_compact(feed_bn_t *b);
void feed_binance__buf_clear(feed_bn_t *b);

/** Unsigned decimal integer of 1..19 digits. @return 0 or -1. */
static inline int feed_bn__u64(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

#endif
